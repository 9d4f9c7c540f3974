"""Run the command line with `python -m mspec`."""

from .cli.app import run

run()
