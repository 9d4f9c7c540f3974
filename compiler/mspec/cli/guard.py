"""How a command that runs a framework (fit, explain, ...) ends: one line saying why, never a traceback.

Every way such a run can stop is mapped to a message and an exit status, the
same in every command:

    1    the spec, its settings or the data have errors (located findings on stdout)
    2    could not run: a data file that cannot be read, a missing extra, a
         cluster that cannot form, or an unexpected failure inside the framework
    75   fit only: a process of a multi_worker run was lost (distribute.EXIT_WORKER_LOST);
         the backup is kept for --resume
    130  interrupted (Ctrl-C or SIGTERM); nothing written

While the body runs, native libraries' log lines are held back
(quiet.native_lines_held_back). An unexpected exception is shown as one line;
MSPEC_DEBUG=1 shows its traceback and the native lines held back as well.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import click

from ..diagnostics.report import EXIT_CANNOT_RUN, EXIT_ERRORS

EXIT_INTERRUPTED = 130
DEBUG_VARIABLE = "MSPEC_DEBUG"
T = TypeVar("T")


def install_hint(extra: str) -> str:
    """How to install an extra, as the end of a `... is not installed; ...` line."""
    return f"install the extra with: pip install 'mspec[{extra}]'"


def require_files(*paths: str) -> None:
    """Stop (exit 2) at the first of these files that does not exist."""
    for path in paths:
        if not Path(path).is_file():
            stop(f"{path}: no such file", EXIT_CANNOT_RUN)


def require_paths(*paths: str | None) -> None:
    """Stop (exit 2) at the first path given that does not exist.

    A directory or a glob pattern is a data set of many Parquet files
    (mspec.data.dataset): the pattern is left for the data reader to expand.
    """
    for path in paths:
        if path is not None and not (Path(path).exists() or any(c in path for c in "*?[")):
            stop(f"{path}: no such file", EXIT_CANNOT_RUN)


def run_guarded(
    body: Callable[[], T],
    *,
    outcome: str,
    where: str,
    extra_hint: str,
    interrupted: str = "nothing written",
    usage_errors: tuple[type[Exception], ...] = (),
) -> T:
    """Run `body`; on any failure, say why in one line (`mspec: OUTCOME: ...`) and exit with its status.

    `where` names what findings are about ("the spec or data"), `extra_hint` how
    to install what is missing; `usage_errors` are exceptions whose message is a
    mistake in the command's arguments (exit 1).
    """
    from ..interruption import interruptions_delivered
    from ..training.distribute import DistributeError
    from ..training.quiet import native_lines_held_back

    with extra_needed(outcome, extra_hint):
        from ..training.runner import FitError

    data_error = data_error_class()
    native = None
    try:
        with interruptions_delivered(), native_lines_held_back((1, 2)) as native:
            return body()
    except FitError as error:
        stop_with_findings(error.diagnostics, outcome, where)
    except data_error as error:
        stop(f"{outcome}: {error.message}", EXIT_CANNOT_RUN)
    except DistributeError as error:
        stop(f"{outcome}: {error}", EXIT_CANNOT_RUN)
    except ModuleNotFoundError as error:
        stop(f"{outcome}: {error.name} is not installed; {extra_hint}", EXIT_CANNOT_RUN)
    except (KeyboardInterrupt, SystemExit) as ending:
        if isinstance(ending, SystemExit) and ending.code in (None, 0):
            raise
        click.echo(f"mspec: interrupted: {interrupted}", err=True)
        # TensorFlow's interpreter shutdown can wait on its data-pipeline threads for long after an
        # interruption; nothing is left to clean up (temporary files went on the way out), so end now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    except usage_errors as error:
        stop(f"{outcome}: {error}", EXIT_ERRORS)
    except OSError as error:
        stop(f"{outcome}: {error}", EXIT_CANNOT_RUN)
    except Exception as error:  # whatever the framework raises ends as one line
        if os.environ.get(DEBUG_VARIABLE):
            traceback.print_exc()
            if native is not None and native.held:
                click.echo("native log lines held back during the run:\n" + native.text(), err=True)
        stop(
            f"{outcome}: unexpected failure after the checks passed: {type(error).__name__}: {error}\n"
            f"mspec: run again with {DEBUG_VARIABLE}=1 to see where it happened",
            EXIT_CANNOT_RUN,
        )
    raise AssertionError("unreachable: every handler above exits")


@contextlib.contextmanager
def extra_needed(outcome: str, extra_hint: str) -> Iterator[None]:
    """Turn a missing optional dependency, met while importing what a command runs, into one line (exit 2).

    The commands that train or score import numpy, pyarrow and the framework
    only when they run: on a core install (the pre-commit hook's) that import
    is where they end, and it must say which extra to install, not show a traceback.
    """
    try:
        yield
    except ModuleNotFoundError as error:
        stop(f"{outcome}: {error.name} is not installed; {extra_hint}", EXIT_CANNOT_RUN)


def progress_verbosity(quiet: bool) -> int:
    """Keras' verbose: the progress bar (1) only on a terminal; one line per epoch (2) in logs and pipes.

    A progress bar redraws itself with carriage returns and ANSI codes, which a
    log file keeps as noise.
    """
    return 2 if quiet or not sys.stdout.isatty() else 1


def data_error_class() -> type[Exception]:
    """mspec.data's DataError, or an exception never raised when the data extra (numpy) is missing."""
    try:
        from ..data.source import DataError
    except ImportError:
        return _NeverRaised
    return DataError


class _NeverRaised(Exception):
    pass


def stop_with_findings(diagnostics: list, outcome: str, where: str) -> None:
    """Print the findings that stopped a run (stdout), then `mspec: OUTCOME: N errors in WHERE`; exit 1."""
    for diagnostic in diagnostics:
        click.echo(diagnostic.format())
    errors = sum(d.is_error for d in diagnostics)
    stop(f"{outcome}: {errors} error{'s' if errors != 1 else ''} in {where}", EXIT_ERRORS)


def stop(message: str, code: int) -> None:
    """Say why the command ends (`mspec: ...` on stderr) and exit with `code`."""
    click.echo(f"mspec: {message}", err=True)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    sys.exit(code)
