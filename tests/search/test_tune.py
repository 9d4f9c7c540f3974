"""`mspec tune`: an Optuna study over [search] whose invalid points never reach Keras.

Planted data where one learning rate learns and the other does not; a merge
type that is invalid with the branch widths written. The best spec must
re-fit to the score the tune recorded, and two processes on one SQLite study
must train the number of trials asked for, together.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("optuna")
keras = pytest.importorskip("keras")

import optuna  # noqa: E402

import mspec  # noqa: E402
from mspec.search.tune import CHECKED, SURPLUS, WORKER  # noqa: E402
from mspec.search_space.space import read_space  # noqa: E402
from mspec.search_space.static_check import point_errors  # noqa: E402

from make_data import concat_independent, write_npz  # noqa: E402
from support.paths import ROOT  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

LEARNS, STALLS = 0.05, 1e-6
SPEC = f"""\
[model]
name = "planted"

[inputs.input_1]
shape = [10]

[inputs.input_2]
shape = [5]

[branches.x1]
from = "input_1"
layers = [{{ type = "Dense", units = 16, activation = "relu" }}]

[branches.x2]
from = "input_2"
layers = [{{ type = "Dense", units = 8, activation = "relu" }}]

[merges.merged]
type = "Concatenate"
from = ["x1", "x2"]

[outputs.output]
from = "merged"
layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
loss = "binary_crossentropy"
metrics = ["accuracy"]

[compile]
optimizer = {{ type = "Adam", learning_rate = {STALLS} }}

[train]
epochs = 3
batch_size = 32

[search]
"compile.optimizer.learning_rate" = [{STALLS}, {LEARNS}]
# x1 is 16 wide, x2 8: only Concatenate is valid, so most points sampled are invalid.
"merges.merged.type" = ["Concatenate", "Multiply", "Add", "Subtract", "Average", "Maximum", "Minimum"]

[tune]
metric = "val_loss"
"""


RANGED_SEARCH = """\
[search]
"compile.optimizer.learning_rate" = { low = 1e-4, high = 0.1, log = true }
"merges.merged.type" = ["Concatenate", "Multiply"]
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tune")
    write_npz(folder / "train.npz", concat_independent(400, seed=0))
    write_npz(folder / "val.npz", concat_independent(200, seed=1))
    (folder / "planted.toml").write_text(SPEC)
    # For the shared study: a range of learning rates, so that there are always new valid points.
    ranged = SPEC.split("[search]")[0] + RANGED_SEARCH
    (folder / "ranged.toml").write_text(ranged)
    return {
        "spec": folder / "planted.toml",
        "ranged": folder / "ranged.toml",
        "train": folder / "train.npz",
        "val": folder / "val.npz",
    }


def test_finds_the_learning_rate_that_learns_and_never_trains_an_invalid_point(
    files: dict[str, Path], tmp_path: Path
) -> None:
    outcome = mspec.tune(
        files["spec"],
        files["train"],
        validation=files["val"],
        trials=4,
        seed=0,
        output_dir=tmp_path,
        log=lambda _: None,
    )
    assert outcome.best.values["compile.optimizer.learning_rate"] == LEARNS
    assert outcome.trained == 2
    # The baseline (the values the spec writes) is the first trial.
    assert outcome.trials[0].values["compile.optimizer.learning_rate"] == STALLS
    result = mspec.check(files["spec"])
    space, _ = read_space(result.document)
    assert not any(trial.state == "failed" for trial in outcome.trials)
    for trial in outcome.trials:
        invalid = bool(point_errors(result, space, trial.values))
        assert trial.reason.startswith("rejected by the static check: MS301 ") == invalid
        if invalid:
            assert trial.state == "pruned" and trial.epochs is None  # never trained
        elif not trial.reason.startswith("the same point as trial"):
            assert trial.epochs == 3
    assert outcome.rejected == sum(t.reason.startswith("rejected") for t in outcome.trials) >= 1

    rows = list(csv.DictReader((tmp_path / "planted.trials.csv").open()))
    assert [int(row["number"]) for row in rows] == [t.number for t in outcome.trials]
    assert {"state", "val_loss", "compile.optimizer.learning_rate", "merges.merged.type", "reason"} <= set(
        rows[0]
    )
    assert (tmp_path / "planted.tune.png").read_bytes()[:4] == b"\x89PNG"

    # The best spec is a plain spec: it lints clean, and fits to the recorded score with its seed.
    best = tmp_path / "planted.best.toml"
    text = best.read_text()
    assert "\n[search]\n" not in text and "\n[tune]\n" not in text and f"learning_rate = {LEARNS}" in text
    checked = mspec.check(best)
    assert checked.ok and not checked.diagnostics
    refit = mspec.fit(best, files["train"], validation=files["val"], verbose=0, log=lambda _: None)
    assert min(refit.history["val_loss"]) == pytest.approx(outcome.best.score, rel=1e-6)


def tune_process(files: dict[str, Path], storage: str, out: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "mspec", "tune", str(files["ranged"]), "--data", str(files["train"]),
        "--validation", str(files["val"]), "--trials", "4", "--epochs", "1", "--storage", storage,
        "--study", "shared", "-o", str(out),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def counted(storage: str) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="shared", storage=storage)
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return [
        t
        for t in study.get_trials()
        if t.user_attrs.get(CHECKED) and not t.user_attrs.get(SURPLUS) and t.state in states
    ]


def test_two_processes_share_one_sqlite_study_and_it_resumes(files: dict[str, Path], tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    processes = [tune_process(files, storage, tmp_path / f"out{i}") for i in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
        assert "best of " in stderr  # of the trials finished when this process stopped
        # mspec's own lines only: no TensorFlow, Optuna or SQLAlchemy log lines.
        own = ("trial ", "wrote ", "best of ", f"{files['ranged']}:", "balance of the input branches")
        assert all(line.startswith(own) for line in stderr.splitlines()), stderr
    trained = counted(storage)
    assert len(trained) == 4
    assert len({t.number for t in trained}) == 4
    assert {t.user_attrs[WORKER] for t in trained} <= {
        f"{p}" for p in {t.user_attrs[WORKER] for t in trained}
    }

    # Resumed with one more trial: only that one trains.
    outcome = mspec.tune(
        files["ranged"],
        files["train"],
        validation=files["val"],
        trials=5,
        epochs=1,
        storage=storage,
        study_name="shared",
        log=lambda _: None,
    )
    assert outcome.trained == 5
    assert len(counted(storage)) == 5


def test_a_storage_of_another_space_is_refused(files: dict[str, Path], tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="planted", storage=storage)
    study.set_user_attr("mspec_space", "another space")
    with pytest.raises(mspec.search.tune.TuneError, match="started with another search space"):
        mspec.tune(files["spec"], files["train"], validation=files["val"], trials=1, storage=storage)


def test_a_spec_without_search_or_with_errors_stops_before_any_framework(tmp_path: Path) -> None:
    from support.commands import NO_FRAMEWORK, run_mspec

    plain = tmp_path / "plain.toml"
    plain.write_text(SPEC.split("[search]")[0])
    data = tmp_path / "d.npz"
    write_npz(data, concat_independent(50, seed=0))
    run = run_mspec("tune", str(plain), "--data", str(data), "--trials", "2")
    assert run.returncode == 1 and "has no [search] section: nothing to tune" in run.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text(SPEC.replace('"Concatenate", "Multiply"', '"Concatenate", "Multiplx"'))
    run = run_mspec("tune", str(broken), "--data", str(data), "--trials", "2")
    assert run.returncode == 1 and " MS803 error: " in run.stdout and run.stdout.endswith(NO_FRAMEWORK)
