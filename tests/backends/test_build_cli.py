"""`mspec build` as a user runs it: what it writes, what it refuses, and what it prints."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mspec.backends.keras_model import build as keras_build
from mspec.backends.keras_model import worker as keras_worker
from mspec.backends.keras_model.worker import KerasWorker, WorkerFailed
from mspec.cli import main

from support.paths import CASES, ROOT

SEED = ROOT / "specs" / "seed" / "concat_independent.toml"
BROKEN = CASES / "seed_interaction.toml"


def build(*args: str):
    return CliRunner().invoke(main, ["build", *args])


def test_source_only_writes_source_and_nothing_else(tmp_path: Path) -> None:
    result = build(str(SEED), "-o", str(tmp_path), "--source-only")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["concat_independent.py"]


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    build(str(SEED), "-o", str(tmp_path / "a"), "--source-only")
    build(str(SEED), "-o", str(tmp_path / "b"), "--source-only")
    first = (tmp_path / "a" / "concat_independent.py").read_bytes()
    assert first == (tmp_path / "b" / "concat_independent.py").read_bytes()


def test_spec_with_errors_builds_nothing(tmp_path: Path) -> None:
    result = build(str(BROKEN), "-o", str(tmp_path))
    assert result.exit_code == 1
    assert "MS301 error" in result.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_without_keras_source_is_written_and_exit_is_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keras_build, "keras_available", lambda: False)
    result = build(str(SEED), "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "Keras is not installed" in result.output and "--source-only" in result.output
    assert (tmp_path / "concat_independent.py").exists()
    assert not (tmp_path / "concat_independent.keras").exists()


@pytest.mark.keras
def test_build_saves_a_loadable_model(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    result = build(str(SEED), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["concat_independent.keras", "concat_independent.py"]
    model = keras.saving.load_model(tmp_path / "concat_independent.keras")
    assert model.count_params() == 993
    assert "993 parameters" in result.output


def test_build_check_finds_stale_and_missing_sources(tmp_path: Path) -> None:
    assert build(str(SEED), "-o", str(tmp_path), "--check").exit_code == 1  # missing
    assert build(str(SEED), "-o", str(tmp_path), "--source-only").exit_code == 0
    before = sorted(tmp_path.iterdir())
    assert build(str(SEED), "-o", str(tmp_path), "--check").exit_code == 0
    source = tmp_path / "concat_independent.py"
    source.write_text(source.read_text().replace("64", "65"))
    result = build(str(SEED), "-o", str(tmp_path), "--check")
    assert result.exit_code == 1 and "out of date" in result.output
    assert sorted(tmp_path.iterdir()) == before  # --check writes nothing


@pytest.mark.keras
def test_build_prints_only_its_own_lines(tmp_path: Path) -> None:
    """TensorFlow's start-up logs stay in the Keras process's log; the user sees what was written."""
    pytest.importorskip("keras")
    result = subprocess.run(
        [sys.executable, "-m", "mspec", "build", str(SEED), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"wrote {tmp_path / 'concat_independent.py'}",
        f"wrote {tmp_path / 'concat_independent.keras'} (993 parameters)",
    ]


@pytest.mark.keras
def test_a_model_that_cannot_be_saved_is_reported(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    (tmp_path / "concat_independent.keras").mkdir()  # the target name is taken by a folder
    result = build(str(SEED), "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "concat_independent.keras: not built: could not save the model" in result.output
    assert "Traceback" not in result.output
    assert (tmp_path / "concat_independent.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["concat_independent.keras", "concat_independent.py"]


def test_a_keras_process_that_dies_is_reported_and_leaves_no_file(tmp_path: Path) -> None:
    worker = KerasWorker()
    try:
        worker._process.kill()
        with pytest.raises(WorkerFailed, match="ended unexpectedly"):
            worker.build("raise SystemExit", "m", tmp_path / "m.keras")
    finally:
        worker.close()
    assert list(tmp_path.iterdir()) == []  # not even the temporary file it was to write


def test_an_interrupted_build_stops_the_keras_process_and_leaves_no_file(tmp_path: Path) -> None:
    worker = KerasWorker()

    def interrupted(job: str) -> str:
        assert list(tmp_path.iterdir()), "the temporary file exists while the worker saves"
        raise KeyboardInterrupt

    worker._exchange = interrupted
    with pytest.raises(KeyboardInterrupt):
        worker.build("raise SystemExit", "m", tmp_path / "m.keras")
    assert worker._process.poll() is not None
    assert list(tmp_path.iterdir()) == []


def test_keras_process_is_stopped_when_no_spec_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[KerasWorker] = []
    monkeypatch.setattr(keras_build, "keras_available", lambda: True)
    monkeypatch.setattr(keras_worker, "KerasWorker", lambda: started.append(KerasWorker()) or started[-1])
    result = build(str(BROKEN), "-o", str(tmp_path))
    assert result.exit_code == 1
    assert len(started) == 1 and started[0]._process.poll() is not None


@pytest.mark.keras
def test_build_without_a_worker_process_builds_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("keras")

    def no_process(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(keras_worker.subprocess, "Popen", no_process)
    result = build(str(SEED), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "993 parameters" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["concat_independent.keras", "concat_independent.py"]


@pytest.mark.keras
def test_the_keras_process_ignores_python_files_in_the_current_folder(tmp_path: Path) -> None:
    """A keras.py or json.py beside the specs (a generated file, say) is not what the worker imports."""
    pytest.importorskip("keras")
    for module in ("keras", "json", "mspec"):
        (tmp_path / f"{module}.py").write_text(f"raise SystemExit('imported the local {module}.py')\n")
    # -P: as the `mspec` script runs, without the current folder on the command's own path.
    result = subprocess.run(
        [sys.executable, "-P", "-m", "mspec", "build", str(SEED), "-o", "out"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "compiler")},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "concat_independent.keras").exists()


@pytest.mark.keras
def test_what_a_site_hook_prints_does_not_reach_the_answers(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text("print('hello from a site hook')\n")
    result = subprocess.run(
        [sys.executable, "-m", "mspec", "build", str(SEED), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), str(ROOT / "compiler")])},
    )
    assert result.returncode == 0, result.stderr
    assert "(993 parameters)" in result.stderr


@pytest.mark.keras
def test_a_terminated_build_stops_its_keras_process_and_writes_no_model(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    command = subprocess.Popen(
        [sys.executable, "-m", "mspec", "build", str(SEED), "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The source is written within a second; the model needs the seconds of importing TensorFlow.
    # The wait ends as soon as the source exists: the bound only stops a hung command, however busy
    # the machine.
    deadline = time.monotonic() + 180
    while not (tmp_path / "concat_independent.py").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    command.send_signal(signal.SIGTERM)
    _, stderr = command.communicate(timeout=30)
    assert command.returncode == 128 + signal.SIGTERM, stderr
    time.sleep(5)  # time enough for an orphaned worker to finish the model
    assert [p.name for p in tmp_path.iterdir()] == ["concat_independent.py"]


def test_a_dead_keras_process_fails_every_later_build_the_same_way(tmp_path: Path) -> None:
    worker = KerasWorker()
    try:
        worker._process.kill()
        for name in ("first", "second"):
            with pytest.raises(WorkerFailed, match="ended unexpectedly"):
                worker.build("raise SystemExit", name, tmp_path / f"{name}.keras")
    finally:
        worker.close()
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_answer_stops_the_keras_process(tmp_path: Path) -> None:
    worker = KerasWorker()
    worker._replies.close()
    worker._replies = io.StringIO("Loaded 3 plugins\n")  # what a stray print on the answer channel looks like
    try:
        for name in ("first", "second"):
            with pytest.raises(WorkerFailed, match="unreadable answer: 'Loaded 3 plugins"):
                worker.build("raise SystemExit", name, tmp_path / f"{name}.keras")
        assert worker._process.poll() is not None
    finally:
        worker.close()
    assert list(tmp_path.iterdir()) == []
