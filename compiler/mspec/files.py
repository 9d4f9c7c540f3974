"""Writing output files atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def readable_mode() -> int:
    """The mode a newly created file gets normally (mkstemp would make it private)."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def temporary_beside(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Make an empty, private file beside `path`, to be written and renamed onto it; remove it at the end.

    Beside the target, so that the rename stays on one file system and is
    atomic. Whatever ends the block (an error, Ctrl-C, SIGTERM turned into
    SystemExit), a file still there afterwards is removed: its name is
    chosen before the file exists, so no interruption can leave it behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}{suffix}")
    ours = True
    try:
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            ours = False  # another writer's file, however unlikely: leave it alone
            raise
        yield temporary
    finally:
        if ours:
            temporary.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    with temporary_beside(path) as temporary:
        os.chmod(temporary, readable_mode())
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
