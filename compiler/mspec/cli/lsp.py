"""`mspec lsp`: the language server on stdin and stdout (the lsp extra: pygls and lsprotocol).

`mspec --help` imports this module in environments that have only the core
dependencies: it imports nothing of the server until the command runs.
"""

from __future__ import annotations

import sys

import click

from ..diagnostics.report import EXIT_CANNOT_RUN

# What the lsp extra installs (with their own dependencies).
EXTRA_MODULES = ("pygls", "lsprotocol", "cattrs", "attrs")


@click.command()
def lsp() -> None:
    """Run the language server on stdin/stdout: the checks of `mspec lint` in your editor as you type.

    Diagnostics, hover (shapes, weights, layer documentation), completion, go to definition,
    references, rename, the outline and quick fixes, for TOML and JSON specs. Needs the lsp
    extra: pip install 'mspec[lsp]'.
    """
    try:
        from ..lsp.server import create_server
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in EXTRA_MODULES:
            raise
        click.echo(
            f"mspec: `mspec lsp` needs the lsp extra ({error.name} is missing): pip install 'mspec[lsp]'",
            err=True,
        )
        sys.exit(EXIT_CANNOT_RUN)
    create_server().start_io()
