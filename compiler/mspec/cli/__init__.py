"""The `mspec` command line: a thin layer over the library that formats and exits.

One module per command group, each imported only when one of its commands runs
(or `mspec --help` lists them), so that `mspec lint` loads nothing of fit,
explain or export:

    app.py        the `mspec` group: every command's name and the module holding it
    guard.py      how a command that runs a framework ends: one line and an exit status
    options.py    options fit, compare and tune declare alike
    check.py      lint, summary, build, draw, schema, rules, rule
    importing.py  import
    training.py   fit
    explain.py    explain
    scoring.py    predict, evaluate
    export.py     export
    search.py     compare, tune
    init.py       init
    review.py     diff
    lsp.py        lsp
"""

from .app import main, run

__all__ = ["main", "run"]
