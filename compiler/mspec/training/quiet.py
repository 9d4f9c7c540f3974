"""Keep native libraries' log lines away from the user: while Keras imports, and while a command runs.

TensorFlow's native code writes notes straight to file descriptor 2 while it
loads (oneDNN, CPU features, absl's "log messages before InitializeLog"),
past TF_CPP_MIN_LOG_LEVEL. They say nothing about the run, so the import
runs with descriptor 2 pointed at a temporary file, shown only if the import
fails (`stderr_held_back`, which the exporters use too: the TFLite converter
and the LiteRT runtime write there). While a command runs, its output flows
through a filter that holds back native log lines only (`native_lines_held_back`).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any


def import_keras() -> Any:
    """Import and return keras (and its backend), keeping the native start-up notes out of sight."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with stderr_held_back(all_on_failure=True):
        import importlib.util

        import keras

        # Keras' data pipelines use TensorFlow whatever the backend: load it now, quietly.
        if importlib.util.find_spec("tensorflow") is not None:
            import tensorflow  # noqa: F401
    return keras


@contextlib.contextmanager
def stderr_held_back(
    keep: Callable[[bytes], bool] = lambda line: False, *, all_on_failure: bool = False
) -> Iterator[None]:
    """Point descriptor 2 at a temporary file for the block, then pass on the lines `keep` accepts.

    With `all_on_failure`, a block that raises passes on everything it wrote: the
    notes of a failed import are the telling ones. For a command's whole run,
    where output must flow as it comes, see `native_lines_held_back`.
    """
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().splitlines(keepends=True)
            shown = lines if failed and all_on_failure else [line for line in lines if keep(line)]
            if shown:
                with contextlib.suppress(OSError):
                    os.write(2, b"".join(shown))


# Lines that native libraries write past Python: absl/glog ("E0000 00:00:1796456324.821061 7126
# node_def_util.cc:682] ..."), TensorFlow's older format ("2026-01-01 12:00:00.000000: I tensorflow/..."),
# absl's note before its initialization, and Gloo's connection notes in multi-process runs.
NATIVE_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|\[Gloo\] )"
)
# Where an unended piece of output could still grow into a native line: it is held back until it
# ends, or until it can no longer be one (a native line's start is held until its end). Any other
# piece is forwarded at once: a progress bar redraws a line without ending it.
MAY_BECOME_NATIVE = re.compile(
    rb"(?:[IWEF]\d{0,4}(?: [\d:.]*(?:\s+\d*(?: \S*)?)?)?"
    rb"|\d{1,4}(?:-[\d :.-]*(?:: ?[IWEF]? ?\S*)?)?"
    rb"|\[(?:G(?:l(?:o(?:o(?:\] ?)?)?)?)?)?"
    rb"|W(?:A(?:R(?:N(?:I(?:N(?:G(?::.*)?)?)?)?)?)?)?)"
)
# Native lines kept to show when the run fails (the last ones are the telling ones).
HELD_LINES = 200


class NativeLines:
    """Native log lines held back from the user while a command runs (see `native_lines_held_back`)."""

    def __init__(self) -> None:
        self.held: collections.deque[bytes] = collections.deque(maxlen=HELD_LINES)

    def text(self) -> str:
        return b"".join(self.held).decode("utf-8", "replace")


class _Terminal:
    """sys.stdout as it was, but for isatty(): still a terminal while its descriptor is a pipe.

    Keras draws its progress bar only on a terminal, asking sys.stdout.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def native_lines_held_back(fds: tuple[int, ...] = (1, 2)) -> Iterator[NativeLines]:
    """Pass what is written to `fds` through, except native libraries' log lines, which are held back.

    TensorFlow, XLA and Gloo write notes straight to the file descriptors, past
    Python and past TF_CPP_MIN_LOG_LEVEL for some of them (an E0000 line while
    tf.data builds a pipeline, "[Gloo] Rank 0 is connected" on stdout). They say
    nothing about the run. Each descriptor is pointed at a pipe; a thread copies
    what arrives to the real descriptor, but lines that match NATIVE_LINE, which
    are kept (the last HELD_LINES) for the caller to show if the run fails.
    Output is forwarded as soon as it cannot be the start of a native line, so
    a progress bar redrawing one line on a terminal is seen as it is drawn.
    """
    lines = NativeLines()
    sys.stdout.flush()
    sys.stderr.flush()
    copies = []
    stdout = sys.stdout
    try:
        for fd in fds:
            terminal = os.isatty(fd)
            saved = os.dup(fd)
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
            if fd == 1 and terminal:
                sys.stdout = _Terminal(stdout)
            thread = threading.Thread(
                target=_forward, args=(read_end, saved, lines), name=f"mspec-fd{fd}", daemon=True
            )
            thread.start()
            copies.append((fd, saved, read_end, thread))
        yield lines
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout = stdout
        for fd, saved, read_end, thread in copies:
            os.dup2(saved, fd)  # the pipe's last writer goes: the thread reads to its end
            thread.join(timeout=5)
            os.close(read_end)
            os.close(saved)


def _forward(read_end: int, target: int, lines: NativeLines) -> None:
    pending = b""
    while True:
        try:
            chunk = os.read(read_end, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        # Pieces end at a newline or a carriage return (a progress bar's redraw).
        *complete, pending = re.split(rb"(?<=[\r\n])", pending)
        for piece in complete:
            _route(piece, target, lines)
        if pending and not (MAY_BECOME_NATIVE.fullmatch(pending) or NATIVE_LINE.match(pending)):
            _route(pending, target, lines)
            pending = b""
    if pending:
        _route(pending, target, lines)


def _route(piece: bytes, target: int, lines: NativeLines) -> None:
    if NATIVE_LINE.match(piece):
        lines.held.append(piece)
        return
    with contextlib.suppress(OSError):
        while piece:  # a pipe may take part of a long piece at a time
            piece = piece[os.write(target, piece) :]
