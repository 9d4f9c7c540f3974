"""Writing output files atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def readable_mode() -> int:
    """The mode a newly created file gets normally (mkstemp would make it private)."""
    return 0o666 & ~_umask()


def temporary_beside(path: Path, suffix: str = ".tmp") -> Path:
    """Create an empty, private file in `path`'s folder, to be written and then renamed onto `path`.

    Beside the target, so that the rename stays on one file system and is atomic.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    return Path(temporary)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    temporary = temporary_beside(path)
    try:
        os.chmod(temporary, readable_mode())
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
