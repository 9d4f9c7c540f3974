"""What fit and explain check of the training settings, which validation data wins, and what they print.

Class weights on an output whose labels are not classes are refused before
any framework starts; explain does not apply fit's
own checks of [train]; a validation file takes the place of the spec's
validation_split; the run record names the bytes that were trained; a run's
output holds mspec's lines and Keras' epoch lines only.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import mspec  # noqa: E402
from mspec.training import FitError, check_before_fit  # noqa: E402
from mspec.training.runner import check_before_explain  # noqa: E402

from make_data import concat_independent, write_npz  # noqa: E402
from support.commands import NO_FRAMEWORK, run_mspec  # noqa: E402
from support.paths import ROOT  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

EXAMPLE_1 = ROOT / "specs" / "seed" / "concat_independent.toml"

REGRESSION_WITH_CLASS_WEIGHTS = """
    [model]
    name = "weighted_regression"

    [inputs.x]
    shape = [3]

    [outputs.y]
    from = "x"
    layers = [{ type = "Dense", units = 1 }]
    loss = "mean_squared_error"

    [train]
    class_weight = { y = { "0" = 1.0, "1" = 2.0 } }
    """

# Lines a successful `mspec fit` may print: Keras' epoch lines (stdout, no progress bar off a terminal),
# mspec's own (stderr) and located findings.
FIT_LINE = re.compile(
    r"Epoch \d+/\d+|\d+/\d+ - .*step.*|adapted layer .*|wrote .*|trained .*|validating on .*"
    r"|balance of the input branches not judged: .*"
    r"|\S+:\d+:\d+: MS\d{3} (warning|error): .*"
)


def write_spec(folder: Path, text: str, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def regression_data(path: Path, rows: int = 64) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3)).astype("float32")
    write_npz(path, {"x": x, "y": (x.sum(axis=1) * 3 - 5).astype("float32")})
    return path


def test_class_weights_on_a_regression_output_stop_before_any_framework(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, REGRESSION_WITH_CLASS_WEIGHTS)
    data = regression_data(tmp_path / "data.npz")
    done = run_mspec("fit", str(spec), "--data", str(data), "-o", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    assert f"{spec}:14:18: MS605 error: [train] class_weight for output 'y', whose loss" in done.stdout
    assert done.stdout.endswith(NO_FRAMEWORK)
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_explain_does_not_apply_the_checks_that_only_fit_needs(tmp_path: Path) -> None:
    text = EXAMPLE_1.read_text() + '\n[train]\nearly_stopping = { monitor = "val_loss" }\n'
    spec = write_spec(tmp_path, text)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(50))
    with pytest.raises(FitError, match="MS602"):
        check_before_fit(spec, data)
    result, findings = check_before_explain(spec, data)
    assert result.ok and not [d for d in findings if d.is_error]


def test_a_validation_file_takes_the_place_of_the_validation_split(tmp_path: Path) -> None:
    text = EXAMPLE_1.read_text() + '\n[train]\nvalidation_split = 0.25\ndistribute = "multi_worker"\n'
    spec = write_spec(tmp_path, text)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(40))
    with pytest.raises(FitError, match="MS602 error: validation_split cannot be used"):
        check_before_fit(spec, data)
    _, settings, _ = check_before_fit(spec, data, validation=data)
    assert settings.validation_split == 0.0
    # --validation-split 0 turns the spec's split off as well; both at once is a contradiction.
    _, settings, _ = check_before_fit(spec, data, settings_overrides={"validation_split": 0.0})
    assert settings.validation_split == 0.0
    with pytest.raises(ValueError, match="not both"):
        check_before_fit(spec, data, validation=data, settings_overrides={"validation_split": 0.5})
    both = run_mspec(
        "fit", str(spec), "--data", str(data), "--validation", str(data), "--validation-split", "0.1"
    )
    assert both.returncode == 2 and "give --validation or --validation-split, not both" in both.stderr


def test_fit_says_which_validation_data_it_uses(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, EXAMPLE_1.read_text() + "\n[train]\nvalidation_split = 0.5\n")
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(64))
    lines: list[str] = []
    result = mspec.fit(spec, data, validation=data, epochs=1, verbose=0, log=lines.append)
    assert f"validating on {data}, in place of [train] validation_split = 0.5" in lines
    assert (
        "balance of the input branches not judged: 1 epoch trained, and MS603 and MS604 need 3" in (lines[-1])
    )
    # All 64 rows trained (2 batches of 32), none held out.
    assert result.run["settings"]["validation_split"] == 0.0
    split = mspec.fit(spec, data, validation_split=0.25, epochs=1, verbose=0, log=lines.append)
    assert split.run["settings"]["validation_split"] == 0.25 and "val_loss" in split.history


def test_the_run_record_names_the_spec_bytes_that_were_trained(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, EXAMPLE_1.read_text())
    trained = spec.read_bytes()
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(64))

    class EditTheSpecWhileTraining(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            spec.write_text(spec.read_text().replace("units = 64", "units = 65"))

    mspec.fit(
        spec,
        data,
        output_dir=tmp_path / "out",
        epochs=1,
        verbose=0,
        callbacks=[EditTheSpecWhileTraining()],
        log=lambda _: None,
    )
    assert spec.read_bytes() != trained
    run = json.loads((tmp_path / "out" / "concat_independent.run.json").read_text())
    assert run["spec"]["sha256"] == hashlib.sha256(trained).hexdigest()


def test_a_fit_with_normalization_prints_only_its_own_lines(tmp_path: Path) -> None:
    # Adapting Normalization builds a tf.data pipeline, whose native code logs an E0000 line on stderr.
    text = EXAMPLE_1.read_text().replace(
        'layers = [{ type = "Dense", units = 64',
        'layers = [{ type = "Normalization" }, { type = "Dense", units = 64',
        1,
    )
    assert "Normalization" in text
    spec = write_spec(tmp_path, text)
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(64))
    done = run_mspec("fit", str(spec), "--data", str(data), "-o", str(tmp_path / "out"), "--epochs", "2")
    assert done.returncode == 0, done.stderr
    assert "adapted layer" in done.stderr
    output = re.sub(r"FRAMEWORKS:.*\n$", "", done.stdout) + done.stderr
    strays = [line for line in output.splitlines() if not FIT_LINE.fullmatch(line)]
    assert not strays, strays
    # Standard output is a pipe here: one line per epoch, no progress bar redrawn with \r or ANSI codes.
    assert done.stdout.count("Epoch ") == 2
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout


def test_each_process_of_a_multi_worker_run_checks_only_its_own_rows(tmp_path: Path) -> None:
    from mspec.training import Cluster

    spec = write_spec(tmp_path, EXAMPLE_1.read_text() + '\n[train]\ndistribute = "multi_worker"\n')
    arrays = concat_independent(40)
    arrays["input_1"][3, 0] = np.nan  # in process 0's block only (rows 0-19 of 40)
    data = tmp_path / "data.npz"
    write_npz(data, arrays)
    with pytest.raises(FitError, match="MS507"):
        check_before_fit(spec, data, cluster=Cluster(process_id=0, num_processes=2))
    _, _, findings = check_before_fit(spec, data, cluster=Cluster(process_id=1, num_processes=2))
    assert not [d for d in findings if d.is_error]
    # Without a place in a cluster, every row is checked.
    with pytest.raises(FitError, match="MS507"):
        check_before_fit(spec, data)
    # More processes than rows: every block would be empty.
    small = tmp_path / "small.npz"
    write_npz(small, concat_independent(3))
    with pytest.raises(FitError, match="MS602 error: 4 processes share the 3 rows of"):
        check_before_fit(spec, small, cluster=Cluster(process_id=0, num_processes=4))
