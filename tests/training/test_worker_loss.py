"""A multi_worker run that loses a process: the survivor stops in bounded time, and --resume continues.

Two processes on 127.0.0.1 train one model (Keras' JAX backend, gloo);
process 1 is killed (SIGKILL) once it has backed up its second epoch.
Process 0 must then end with one message naming the lost process and saying
how to go on, exit status 75, no traceback and no native stack trace, having
written nothing but its backup; both processes restarted with --resume
continue from the last epoch both backed up, and end as a run never stopped.
A short --worker-timeout keeps the test's wait short.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("jax")
pytest.importorskip("keras")

from make_data import concat_independent, write_npz
from support.paths import ROOT

pytestmark = [pytest.mark.keras, pytest.mark.slow]

EXAMPLE_1 = ROOT / "specs" / "seed" / "concat_independent.toml"
EPOCHS = 5
WORKER_TIMEOUT = 5
# Generous bounds for a loaded machine; a survivor that waits for JAX's own abort (about 100 s) fails.
START_TIMEOUT = 240
STOP_TIMEOUT = 60
# A native log line (absl/glog) or a native stack trace, which must not reach the user.
NATIVE = re.compile(r"^[IWEF]\d{4} |Check failure stack trace|^\s+@\s+0x", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(data: Path, out: Path, port: int, process_id: int, *extra: str) -> subprocess.Popen:
    command = [
        *(sys.executable, "-m", "mspec", "fit", str(EXAMPLE_1), "--data", str(data), "-o", str(out)),
        *("--epochs", str(EPOCHS), "--batch-size", "32", "--seed", "3", "-q"),
        *("--distribute", "multi_worker", "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"),
        *("--process-id", str(process_id), "--worker-timeout", str(WORKER_TIMEOUT), *extra),
    ]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_both(data: Path, out: Path, *extra: str) -> list[tuple[int, str, str]]:
    """Both processes to their end: (exit status, stdout, stderr) of each."""
    port = free_port()
    processes = [start(data, out, port, index, *extra) for index in range(2)]
    try:
        outputs = [p.communicate(timeout=START_TIMEOUT) for p in processes]
        return [(p.returncode, *output) for p, output in zip(processes, outputs, strict=True)]
    finally:
        for process in processes:
            process.kill()


def saved_epochs(folder: Path) -> list[int]:
    return sorted(int(p.name[6:10]) for p in folder.glob("epoch-*.json")) if folder.is_dir() else []


def test_a_lost_process_stops_the_other_and_resume_continues(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(2048, seed=9))
    whole = run_both(data, tmp_path / "whole")
    assert [status for status, _, _ in whole] == [0, 0], whole[0][2][-3000:]

    out = tmp_path / "out"
    port = free_port()
    survivor, victim = start(data, out, port, 0), start(data, out, port, 1)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while 2 not in saved_epochs(out / ".concat_independent.backup-1") and time.monotonic() < deadline:
            assert victim.poll() is None and survivor.poll() is None, "a process ended before the kill"
            time.sleep(0.01)
        victim.kill()
        killed = time.monotonic()
        victim.wait(timeout=STOP_TIMEOUT)
        stdout, stderr = survivor.communicate(timeout=STOP_TIMEOUT)
        print(f"process 0 stopped {time.monotonic() - killed:.1f} s after process 1 was killed")
    finally:
        survivor.kill()
        victim.kill()
    assert survivor.returncode == 75, stderr[-3000:]
    assert "mspec: not trained: lost process 1 of 2 (it stopped answering); process 0 stopped" in stderr
    assert "restart every process with --resume to continue from there" in stderr
    assert "Traceback" not in stderr and not NATIVE.search(stderr + stdout), stderr[-3000:]
    # Nothing written but the backups (process 1's was its own, beside process 0's).
    assert sorted(p.name for p in out.iterdir()) == [
        ".concat_independent.backup",
        ".concat_independent.backup-1",
    ]
    last = min(
        saved_epochs(out / ".concat_independent.backup")[-1],
        saved_epochs(out / ".concat_independent.backup-1")[-1],
    )
    assert 2 <= last < EPOCHS

    resumed = run_both(data, out, "--resume")
    assert [status for status, _, _ in resumed] == [0, 0], resumed[0][2][-3000:]
    for index, (_, stdout, stderr) in enumerate(resumed):
        suffix = "" if index == 0 else f"-{index}"
        assert (
            f"resuming from the backup of epoch {last} in {out / ('.concat_independent.backup' + suffix)}"
            in stderr
        )
        assert f"Epoch {last}/" not in stdout and f"Epoch {last + 1}/{EPOCHS}" in stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "whole").iterdir())
    history = json.loads((out / "concat_independent.history.json").read_text())
    reference = json.loads((tmp_path / "whole" / "concat_independent.history.json").read_text())
    # One model stepped by both processes, resumed where both had saved: the run never stopped.
    assert history == reference
    run = json.loads((out / "concat_independent.run.json").read_text())
    assert run["epochs_run"] == EPOCHS and run["resumed_from_epoch"] == last
