"""Build and save Keras models in a second process, started before the specs are checked.

Importing TensorFlow takes seconds and checking a spec a fraction of one, so
`mspec build` starts this worker first: it imports Keras on one core while
the command checks the specs and generates their source on another. The
worker then runs each generated source and saves the model it builds.

The protocol is one JSON object per line. The command sends
`{"name", "source", "target"}`; the worker answers `{"params": N}` once the
model is saved, or `{"error": message}`. Whatever Keras and TensorFlow print
(start-up logs, warnings) goes to a log file that the command shows only when
the worker fails, so a successful build prints mspec's own lines only.

This module stays light on purpose: the worker must not pay for mspec's
front end, which the command has already run.
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

# What is shown of the worker's log when it dies: enough for a Python traceback.
LOG_TAIL_LINES = 25


class WorkerFailed(RuntimeError):
    """The worker process ended without answering."""


@dataclass(frozen=True)
class Built:
    """The worker's answer for one model: its parameter count, or why it was not built."""

    params: int | None = None
    error: str | None = None


class KerasWorker:
    """The command's end of the worker: start it, send it models, close it."""

    def __init__(self) -> None:
        # Open for as long as the worker runs; close() closes it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._jobs = 0
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mspec.keras_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
            encoding="utf-8",
        )

    def build(self, source: str, name: str, target: Path) -> Built:
        """Have the worker build `source` and save the model at `target`; wait for its answer."""
        job = {"name": name, "source": source, "target": str(target)}
        self._jobs += 1
        try:
            self._process.stdin.write(json.dumps(job) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise WorkerFailed(self._failure())
        return Built(**json.loads(line))

    def _failure(self) -> str:
        status = self._process.wait()
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").splitlines()
        tail = "\n".join(lines[-LOG_TAIL_LINES:])
        message = f"the Keras process ended unexpectedly (exit status {status})"
        return f"{message}; its last output:\n{tail}" if tail else message

    def close(self) -> None:
        """End the worker: let it exit once its input ends, or stop it if it was never needed."""
        if self._process.poll() is None:
            if self._jobs:
                # Every model sent has been answered (saved and renamed into place).
                self._process.stdin.close()
                try:
                    self._process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._process.kill()
            else:
                # No spec was built (errors, or none given): do not wait for the import.
                self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._log):
            with contextlib.suppress(BrokenPipeError):
                stream.close()


def _answer(replies: IO[str], **fields: object) -> None:
    replies.write(json.dumps(fields) + "\n")
    replies.flush()


def _serve() -> None:
    """The worker's side: import Keras, then build and save each model sent until input ends."""
    # Answers go through a private copy of stdout; fd 1 then points at the log
    # like stderr, so nothing Keras prints can be mistaken for an answer.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    import keras  # noqa: F401  (the slow import this process exists for)

    from .keras_build import KerasRecursionLimit, build_from_source, save_model

    for line in sys.stdin:
        job = json.loads(line)
        try:
            model = build_from_source(job["source"], job["name"])
            save_model(model, Path(job["target"]))
        except KerasRecursionLimit as error:
            _answer(replies, error=str(error))
        except OSError as error:
            _answer(replies, error=f"could not save the model: {error}")
        except Exception as error:  # any refusal by Keras is reported, not raised
            _answer(
                replies,
                error=f"Keras refused the generated model ({type(error).__name__}: {error}); "
                "mspec's checks should have caught this: please report it with the spec",
            )
        else:
            _answer(replies, params=model.count_params())
    # Every model is saved and answered: skip the interpreter's (and TensorFlow's) slow shutdown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    _serve()
