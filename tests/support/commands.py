"""Running `mspec` in a process of its own, and telling which frameworks that process imported.

A command that must stop before any framework starts (a finding in the spec,
the settings or the data; an unreadable file) is run through PROBE: it ends
its standard output with `FRAMEWORKS:` and the names of TensorFlow, Keras and
JAX modules the process had imported, so `"FRAMEWORKS:\\n" in stdout` says
none was.
"""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import sys
from mspec.cli import main
try:
    main(sys.argv[1:], prog_name="mspec")
except SystemExit as stop:
    code = stop.code
heavy = sorted(m for m in ("tensorflow", "keras", "jax") if m in sys.modules)
print("FRAMEWORKS:" + ",".join(heavy))
sys.exit(code)
"""

NO_FRAMEWORK = "FRAMEWORKS:\n"


def run_mspec(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """`mspec ARGS...` through PROBE; text output captured."""
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
