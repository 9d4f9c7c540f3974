"""Build and save Keras models, in a worker process started before the specs are checked.

Importing TensorFlow takes seconds and checking a spec a fraction of one, so
`mspec build` starts this worker first: it imports Keras on one core while
the command checks the specs and generates their source on another. The
worker then runs each generated source and saves the model it builds.

The protocol is one JSON object per line. The command sends
`{"name", "source", "target", "temporary"}` on the worker's stdin; the
worker answers `{"param_count": N}` once the model is saved, or `{"error":
message}`, on a pipe of its own. Its stdout and stderr (TensorFlow's start-up
logs, warnings, anything a site hook prints) go to a log file that the
command shows only when the worker dies, so a successful build prints
mspec's own lines only. The command makes each temporary file itself, so
that it can remove it if the worker dies while saving.

Where a worker cannot start (no POSIX pipes to pass, no process to spare),
`InProcessBuilder` does the same work in the command's own process.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Both are light (neither imports Keras nor mspec's front end), as the worker must be.
from ...files import temporary_beside
from .build import KERAS_SUFFIX, KerasRecursionLimit, build_from_source, save_model

# What is shown of the worker's log when it dies: enough for a Python traceback.
LOG_TAIL_LINES = 25
# How long a worker whose input has ended may take to exit before it is killed.
EXIT_TIMEOUT_SECONDS = 30

# The worker's command line. `-P` keeps the current folder off sys.path, so
# that a keras.py or json.py there (a generated file, say) is never imported;
# mspec's own folder is added only if the interpreter would not find it.
LAUNCH = (
    "import sys\n"
    "root = sys.argv[2]\n"
    "if root not in sys.path:\n"
    "    sys.path.insert(0, root)\n"
    "from mspec.backends.keras_model.worker import serve\n"
    "serve(int(sys.argv[1]))\n"
)


class WorkerFailed(RuntimeError):
    """The worker process ended, or answered something unreadable."""


@dataclass(frozen=True)
class Built:
    """The answer for one model: its parameter count, or why it was not built."""

    param_count: int | None = None
    error: str | None = None


def start_builder() -> KerasWorker | InProcessBuilder:
    """Start a worker process; build in this process where one cannot start."""
    if os.name != "posix":
        return InProcessBuilder()
    try:
        return KerasWorker()
    except OSError:
        return InProcessBuilder()


class KerasWorker:
    """The command's end of the worker: start it, send it models, then close or abort it."""

    def __init__(self) -> None:
        # Open for as long as the worker runs; close() and abort() close it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._jobs = 0
        self._broken: str | None = None  # why the worker can take no more jobs
        package_root = str(Path(__file__).resolve().parents[3])  # the folder holding mspec/
        replies, worker_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-c", LAUNCH, str(worker_end), package_root],
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=self._log,
                pass_fds=(worker_end,),
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")},
                text=True,
                encoding="utf-8",
            )
        except BaseException:
            os.close(replies)
            self._log.close()
            raise
        finally:
            os.close(worker_end)
        self._replies = os.fdopen(replies, encoding="utf-8")

    def build(self, source: str, name: str, target: Path) -> Built:
        """Have the worker build `source` and save the model at `target`; wait for its answer."""
        if self._broken is not None:
            raise WorkerFailed(self._broken)
        self._jobs += 1
        # The temporary file outlives the worker's part: removed here once answered, or once the
        # worker is stopped (never before, or a worker still saving could create it anew).
        with temporary_beside(target, KERAS_SUFFIX) as temporary:
            job = {"name": name, "source": source, "target": str(target), "temporary": str(temporary)}
            try:
                return self._answer_to(self._exchange(json.dumps(job) + "\n"))
            except BaseException:
                self.abort()
                raise

    def _answer_to(self, line: str) -> Built:
        """Read the worker's answer line; a missing or unreadable one means it can take no more jobs."""
        if not line:
            self._broken = self._failure("ended unexpectedly")
            raise WorkerFailed(self._broken)
        try:
            return Built(**json.loads(line))
        except (ValueError, TypeError):
            self._broken = f"the Keras process gave an unreadable answer: {line[:200]!r}"
            raise WorkerFailed(self._broken) from None

    def _exchange(self, job: str) -> str:
        """Send one job and return the answer line ("" if the worker has ended)."""
        try:
            self._process.stdin.write(job)
            self._process.stdin.flush()
            return self._replies.readline()
        except BrokenPipeError:
            return ""

    def _failure(self, what: str) -> str:
        status = self._process.wait()
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").splitlines()
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        message = f"the Keras process {what} (exit status {status})"
        return f"{message}; its last output:\n{tail}" if tail else message

    def close(self) -> None:
        """End the worker after the last answer: it exits when its input ends (stopped if never used)."""
        if not self._jobs:
            self.abort()  # no spec was built (errors, or none given): do not wait for the import
            return
        if self._process.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
            try:
                self._process.wait(timeout=EXIT_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._close_streams()

    def abort(self) -> None:
        """Stop the worker now (the command was interrupted, or the worker misbehaved)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._close_streams()

    def _close_streams(self) -> None:
        for stream in (self._process.stdin, self._replies, self._log):
            with contextlib.suppress(BrokenPipeError):
                stream.close()


class InProcessBuilder:
    """The same work as the worker, in the command's own process (Keras' messages are not hidden)."""

    def build(self, source: str, name: str, target: Path) -> Built:
        return build_and_save(source, name, target)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def build_and_save(source: str, name: str, target: Path, temporary: Path | None = None) -> Built:
    """Build the model `source` defines and save it at `target`; what goes wrong becomes the error."""
    try:
        model = build_from_source(source, name)
        save_model(model, target, temporary)
        return Built(param_count=model.count_params())
    except KerasRecursionLimit as error:
        return Built(error=str(error))
    except OSError as error:
        return Built(error=f"could not save the model: {error}")
    except Exception as error:  # any refusal by Keras is reported, not raised
        return Built(
            error=f"Keras refused the generated model ({type(error).__name__}: {error}); "
            "mspec's checks should have caught this: please report it with the spec"
        )


def _answer(replies: IO[str], built: Built) -> None:
    fields = {"param_count": built.param_count} if built.error is None else {"error": built.error}
    replies.write(json.dumps(fields) + "\n")
    replies.flush()


def serve(reply_fd: int) -> None:
    """The worker's side: import Keras, then build and save each model sent until input ends."""
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")
    import keras  # noqa: F401  (the slow import this process exists for)

    for line in sys.stdin:
        job = json.loads(line)
        built = build_and_save(job["source"], job["name"], Path(job["target"]), Path(job["temporary"]))
        _answer(replies, built)
    # Every model is saved and answered: skip the interpreter's (and TensorFlow's) slow shutdown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
