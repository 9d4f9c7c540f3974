"""Run the command line with `python -m mspec`."""

from .cli import run

run()
