"""`mspec fit --resume`: a run stopped at any moment continues from its last completed epoch.

The backup (mspec.training.checkpoint) must give, with a seed, the weights and
the whole history of a run never stopped: a process killed with SIGKILL (the
command, in processes of their own), and interruptions in this process (the
Python API, TensorFlow loaded once) before and after early stopping ends a
run. A run without --resume starts over; a backup of another run is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import mspec  # noqa: E402
from mspec.training.checkpoint import ResumeError  # noqa: E402

from make_data import concat_independent, write_npz, write_parquet  # noqa: E402
from support.commands import NO_FRAMEWORK, run_mspec  # noqa: E402
from support.paths import ROOT  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

EXAMPLE_1 = ROOT / "specs" / "seed" / "concat_independent.toml"
OUTPUTS = ["dropped.history.json", "dropped.history.png", "dropped.keras", "dropped.run.json"]

# Dropout draws from a seed generator whose state is not among the weights: a resumed run must restore
# it too. Six epochs, so that a kill after the second leaves the run half done.
DROPOUT = """
    [model]
    name = "dropped"

    [inputs.input_1]
    shape = [10]

    [inputs.input_2]
    shape = [5]

    [branches.x1]
    from = "input_1"
    layers = [{ type = "Dense", units = 16, activation = "relu" }, { type = "Dropout", rate = 0.3 }]

    [branches.x2]
    from = "input_2"
    layers = [{ type = "Dense", units = 8, activation = "relu" }]

    [merges.merged]
    type = "Concatenate"
    from = ["x1", "x2"]

    [outputs.output]
    from = "merged"
    layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
    loss = "binary_crossentropy"
    metrics = ["accuracy"]

    [compile]
    optimizer = "adam"

    [train]
    epochs = 6
    batch_size = 32
    validation_split = 0.2
    seed = 3
    """

# A learning rate high enough for the validation loss to stall: early stopping ends the run at epoch 8
# (best epoch 5) and ReduceLROnPlateau halves the rate on the way, both by counters a resume must keep.
STALLING = """
    [train]
    epochs = 20
    batch_size = 32
    validation_split = 0.25
    seed = 1
    early_stopping = { monitor = "val_loss", patience = 3 }
    reduce_lr_on_plateau = { monitor = "val_loss", patience = 1, factor = 0.5 }
    """


def write_spec(folder: Path, text: str, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def stalling_spec(folder: Path) -> Path:
    text = EXAMPLE_1.read_text().replace(
        'optimizer = "adam"', 'optimizer = { type = "Adam", learning_rate = 0.05 }'
    )
    return write_spec(folder, text + textwrap.dedent(STALLING), "stalling.toml")


def quiet_fit(spec: Path, data: Path, **options):
    lines: list[str] = []
    result = mspec.fit(spec, data, verbose=0, log=lines.append, **options)
    result.lines = lines
    return result


class Interrupt(keras.callbacks.Callback):
    """Ctrl-C at the end of epoch `epoch` (1-based), after the backup of the epoch before it."""

    def __init__(self, epoch: int | None = None, at_train_end: bool = False):
        super().__init__()
        self.epoch, self.at_train_end = epoch, at_train_end

    def on_epoch_end(self, epoch, logs=None):
        if self.epoch is not None and epoch + 1 == self.epoch:
            raise KeyboardInterrupt

    def on_train_end(self, logs=None):
        if self.at_train_end:
            raise KeyboardInterrupt


def interrupted_fit(spec: Path, data: Path, out: Path, epoch=None, at_train_end=False, **options) -> None:
    with pytest.raises(KeyboardInterrupt):
        quiet_fit(spec, data, output_dir=out, callbacks=[Interrupt(epoch, at_train_end)], **options)


def assert_same_weights(first, second) -> None:
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def saved_epochs(folder: Path) -> list[int]:
    return sorted(int(p.name[6:10]) for p in folder.glob("epoch-*.json")) if folder.is_dir() else []


def fit_command(spec: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mspec",
        "fit",
        str(spec),
        "--data",
        str(data),
        "-o",
        str(out),
        "-q",
        *extra,
    ]


def test_a_killed_run_resumed_ends_with_the_weights_of_a_run_never_stopped(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, DROPOUT)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(1500, seed=11))
    whole = subprocess.run(
        fit_command(spec, data, tmp_path / "whole"), capture_output=True, text=True, timeout=300
    )
    assert whole.returncode == 0, whole.stderr[-3000:]

    out = tmp_path / "killed"
    backup = out / ".dropped.backup"
    process = subprocess.Popen(
        fit_command(spec, data, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 240
        # Killed as soon as the second epoch is backed up: in the third epoch, or saving it.
        while 2 not in saved_epochs(backup) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        process.kill()
        process.wait(timeout=60)
    finally:
        process.kill()
    kept = saved_epochs(backup)
    assert kept and kept[-1] < 6, kept
    assert [p.name for p in out.iterdir()] == [".dropped.backup"]  # killed before any output

    resumed = subprocess.run(
        fit_command(spec, data, out, "--resume"), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from the backup of epoch {kept[-1]} in {backup}" in resumed.stderr
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS  # the backup is gone
    assert_same_weights(
        keras.saving.load_model(out / "dropped.keras"),
        keras.saving.load_model(tmp_path / "whole" / "dropped.keras"),
    )
    history = json.loads((out / "dropped.history.json").read_text())
    # The whole run's history, the epochs before the kill and the branches' balance included.
    assert history == json.loads((tmp_path / "whole" / "dropped.history.json").read_text())
    assert len(history["loss"]) == 6 and len(history["balance/merged/x1"]) == 6
    run = json.loads((out / "dropped.run.json").read_text())
    assert run["epochs_run"] == 6 and run["resumed_from_epoch"] == kept[-1]


def test_a_run_without_resume_starts_over(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, DROPOUT)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(600, seed=12))
    whole = quiet_fit(spec, data)
    out = tmp_path / "out"
    interrupted_fit(spec, data, out, epoch=3)
    assert saved_epochs(out / ".dropped.backup") == [1, 2]
    again = quiet_fit(spec, data, output_dir=out)
    assert any(line.startswith("starting over: the backup of epoch 2") for line in again.lines), again.lines
    assert again.run["resumed_from_epoch"] == 0 and len(again.history["loss"]) == 6
    assert_same_weights(again.model, whole.model)
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS


def test_resume_without_a_backup_trains_from_the_first_epoch(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, DROPOUT)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(300, seed=13))
    result = quiet_fit(spec, data, output_dir=tmp_path / "out", resume=True, epochs=2)
    assert f"nothing to resume: no backup in {tmp_path / 'out' / '.dropped.backup'}" in result.lines[0]
    assert result.run["resumed_from_epoch"] == 0 and len(result.history["loss"]) == 2


def test_a_backup_of_other_data_or_settings_is_refused(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, DROPOUT)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(300, seed=14))
    out = tmp_path / "out"
    interrupted_fit(spec, data, out, epoch=2)
    backup = out / ".dropped.backup"
    before = {p.name: p.read_bytes() for p in backup.iterdir()}
    with pytest.raises(
        ResumeError, match=r"\(batch_size was 32, now 16\); run without --resume to start over"
    ):
        quiet_fit(spec, data, output_dir=out, resume=True, batch_size=16)
    other = tmp_path / "other.npz"
    write_npz(other, concat_independent(300, seed=15))
    # From the command: one line, exit 1, before any framework starts.
    done = run_mspec("fit", str(spec), "--data", str(other), "-o", str(out), "--resume")
    assert done.returncode == 1, done.stderr
    assert (
        f"mspec: not trained: the backup in {backup} is of another run (the training data changed)"
        in done.stderr
    )
    assert done.stdout.endswith(NO_FRAMEWORK) and "Traceback" not in done.stderr
    assert {p.name: p.read_bytes() for p in backup.iterdir()} == before  # refused, left as it was


def test_early_stopping_and_the_learning_rate_schedule_resume_where_they_were(tmp_path: Path) -> None:
    spec = stalling_spec(tmp_path)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(600, seed=4))
    whole = quiet_fit(spec, data)
    assert (whole.run["epochs_run"], whole.run["best_epoch"]) == (8, 5)  # the run this test is about
    out = tmp_path / "out"
    # After epoch 7 (backup of 6): early stopping has waited one epoch, the rate was halved twice.
    interrupted_fit(spec, data, out, epoch=7)
    resumed = quiet_fit(spec, data, output_dir=out, resume=True)
    assert resumed.run["resumed_from_epoch"] == 6
    assert (resumed.run["epochs_run"], resumed.run["best_epoch"]) == (8, 5)
    assert resumed.history == whole.history  # learning_rate included
    assert_same_weights(resumed.model, whole.model)  # the best epoch's, restored by early stopping


def test_a_run_stopped_after_early_stopping_ended_it_trains_no_more(tmp_path: Path) -> None:
    spec = stalling_spec(tmp_path)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(600, seed=4))
    whole = quiet_fit(spec, data)
    out = tmp_path / "out"
    interrupted_fit(spec, data, out, at_train_end=True)  # the last epoch is backed up, nothing written
    assert saved_epochs(out / ".concat_independent.backup") == [7, 8]
    resumed = quiet_fit(spec, data, output_dir=out, resume=True)
    assert resumed.run["resumed_from_epoch"] == 8
    assert (resumed.run["epochs_run"], resumed.run["best_epoch"]) == (8, 5)
    assert resumed.history == whole.history
    assert_same_weights(resumed.model, whole.model)


def test_streamed_data_resumes_in_the_order_of_a_run_never_stopped(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, DROPOUT)
    data = tmp_path / "data.parquet"
    write_parquet(data, concat_independent(900, seed=16))
    whole = quiet_fit(spec, data, stream=True)
    out = tmp_path / "out"
    # The pipeline shuffles each epoch from the seed's next child: the resumed one must not start again.
    interrupted_fit(spec, data, out, epoch=4, stream=True)
    resumed = quiet_fit(spec, data, output_dir=out, resume=True, stream=True)
    assert resumed.run["resumed_from_epoch"] == 3
    assert resumed.history == whole.history
    assert_same_weights(resumed.model, whole.model)
