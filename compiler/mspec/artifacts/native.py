"""Native libraries' notes on file descriptor 2 while a converter or a runtime runs, kept out of sight.

The TFLite converter prints its MLIR diagnostics there (the exception it
raises holds them too), and the LiteRT runtime announces its XNNPACK
delegate. Lines that `keep` accepts are passed on when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def stderr_held_back(keep: Callable[[bytes], bool] = lambda line: False) -> Iterator[None]:
    """Point descriptor 2 at a temporary file for the block; pass on the lines `keep` accepts."""
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if keep(line)]
            if kept:
                os.write(2, b"".join(kept))
