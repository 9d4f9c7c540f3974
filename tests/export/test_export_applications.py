"""`mspec export --verify` on keras.applications architectures, imported with `mspec import`.

MobileNetV3Small holds most of what image models use (depthwise and
pointwise convolutions, batch normalization, hard-swish, squeeze-and-excite
multiplications, a Rescaling first): every format must hold it and give the
Keras model's logits within its tolerance, run in its own runtime. ConvNeXt's
grouped convolutions are run by Keras' TensorFlow backend as functions
compiled with XLA, which tf2onnx does not convert: the ONNX export is refused
with that reason, before anything is written. `benchmarks/export_applications.py`
runs every architecture through every format.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("keras")

from support.keras_applications import exportable

pytestmark = [pytest.mark.keras, pytest.mark.slow]

ROWS = 4
SUFFIX = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite"}


@pytest.fixture(scope="module")
def mobilenet():
    return exportable("MobileNetV3Small", ROWS)


@pytest.mark.parametrize("fmt", ["saved_model", "onnx", "litert"])
def test_mobilenet_v3_small_exports_and_verifies(mobilenet, fmt: str, tmp_path: Path) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    if fmt == "litert":
        pytest.importorskip("ai_edge_litert")
    import mspec

    result, model = mobilenet
    target = tmp_path / f"MobileNetV3Small{SUFFIX[fmt]}"
    outcome = mspec.export(result, model, fmt, target, verify=True, rows=ROWS)
    assert outcome.written and outcome.verified, outcome.problems
    # The logits reach about 1 (see `exportable`), so the tolerance is a real bound, not a pass by size.
    assert [check.name for check in outcome.checks] == list(result.spec.outputs)
    assert all(check.ok for check in outcome.checks)
    assert target.exists()


def test_convnext_grouped_convolutions_are_refused_for_onnx_with_the_reason(tmp_path: Path) -> None:
    pytest.importorskip("tf2onnx")
    import mspec

    result, model = exportable("ConvNeXtTiny", ROWS)
    target = tmp_path / "ConvNeXtTiny.onnx"
    with pytest.raises(mspec.ExportRefused) as refused:
        mspec.export(result, model, "onnx", target, verify=True, rows=ROWS)
    message = str(refused.value)
    assert "groups=" in message and "XLA" in message and "tf2onnx" in message, message
    assert not target.exists() and not Path(f"{target}.manifest.json").exists()
