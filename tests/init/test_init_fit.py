"""mspec init: the spec written trains with `mspec fit` as written, and `mspec explain` reads its model.

One epoch on 160 rows: what is tested is that every layer init writes
(lookups adapted by fit, Embeddings sized from the data, masked sequences,
several outputs) runs in Keras on the file it was written for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import mspec  # noqa: E402
from mspec.explain import explain  # noqa: E402

from support.init_data import TARGETS, churn_columns, write_parquet  # noqa: E402

pytestmark = pytest.mark.keras


def quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parquet(tmp_path_factory.mktemp("init") / "churn.parquet", churn_columns())


def fitted(data: Path, folder: Path, **options) -> tuple[Path, mspec.api.InitResult, object]:
    spec = folder / "churn.toml"
    written = mspec.init(data, TARGETS, output=spec, **options)
    trained = mspec.fit(spec, data, epochs=1, output_dir=folder, log=quiet, verbose=0)
    return spec, written, trained


@pytest.fixture(scope="module")
def full(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, mspec.api.InitResult, object]:
    """The spec of every kind of column, trained for one epoch (once for the module)."""
    return fitted(data, tmp_path_factory.mktemp("full"))


def test_every_kind_of_column_trains_as_written(full) -> None:
    spec, written, trained = full
    assert set(written.inputs) >= {"usage", "numeric", "region_id", "store_code", "plan", "categories"}
    assert [name for name in trained.model.output_names] == list(written.outputs)
    for output in written.outputs:
        assert len(trained.history[f"val_{output}_loss"]) == 1
    assert (spec.parent / "churn.keras").is_file()


def test_explain_reads_the_trained_model(data: Path, tmp_path: Path) -> None:
    # Without the text column: explain cannot feed text to the model yet (see the test below).
    spec, written, _ = fitted(data, tmp_path, exclude=["plan"])
    explanation = explain(spec, tmp_path / "churn.keras", data, repeats=1)
    assert set(explanation.outputs) == set(written.outputs)
    for report in explanation.outputs.values():
        assert set(report.inputs) == set(written.inputs)


def test_explain_reads_a_model_with_a_text_input(data: Path, full) -> None:
    spec, written, _ = full
    explanation = explain(spec, spec.parent / "churn.keras", data, repeats=1)
    assert "plan" in explanation.outputs[written.outputs[0]].inputs
