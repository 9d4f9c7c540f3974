"""The `mspec` group: names every command, and imports a command's module only when that command runs."""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys

import click

from .. import __version__

# Allocations between young-generation collections (Python's default: 700).
GC_THRESHOLD = 50_000

# Command name -> (module of this package, attribute): `mspec lint` must not pay for
# importing what fit, explain or export need, even the parts free of frameworks.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("check", "build"),
    "compare": ("search", "compare"),
    "diff": ("review", "diff"),
    "draw": ("check", "draw"),
    "evaluate": ("scoring", "evaluate"),
    "explain": ("explain", "explain"),
    "export": ("export", "export"),
    "fit": ("training", "fit"),
    "import": ("importing", "import_"),
    "init": ("init", "init"),
    "lint": ("check", "lint"),
    "lsp": ("lsp", "lsp"),
    "predict": ("scoring", "predict"),
    "rule": ("check", "rule"),
    "rules": ("check", "rules"),
    "schema": ("check", "schema"),
    "summary": ("check", "summary"),
    "tune": ("search", "tune"),
}


class Finished(SystemExit):
    """The exit of a command that has written and closed all it writes: its process may end at once.

    In-process callers (tests, a script calling `main`) see a SystemExit like
    any other; `run`, the program's entry point, ends the process without the
    interpreter's teardown, which walks every object of every imported module
    (about a fifth of what `mspec lint` takes on a small spec).
    """


class LazyGroup(click.Group):
    """A group whose commands are named in COMMANDS and imported on first use.

    `mspec --help` lists every command with its one-line help, so it imports
    them all; running one command imports its own module only.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute = entry
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="mspec")
def main() -> None:
    """Check, summarize, draw and build multi-input Keras models from spec files.

    A spec is a TOML or JSON file describing inputs, branches, shared layers,
    merges and outputs. lint, summary, draw, schema and import never import
    TensorFlow; build needs the tensorflow extra to save models. See
    docs/spec-language.md for the language.
    """
    # A command builds many small objects (source maps, nodes, diagnostics)
    # and frees almost none before it exits; with the default threshold the
    # cyclic collector re-scans them all thousands of times on a big spec.
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def run() -> None:
    """Entry point of the `mspec` program and of `python -m mspec`."""
    try:
        main(prog_name=os.environ.get("MSPEC_PROG", "mspec"))
    except Finished as finished:
        with contextlib.suppress(OSError):  # a reader that has gone (`mspec lint ... | head`)
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(finished.code if isinstance(finished.code, int) else 1)
