"""Configurations Keras builds that TensorFlow cannot run at all, and JAX can: MS305, checked by running.

The per-layer differential tests run layers eagerly on arrays, which does
not show these: TensorFlow's eager kernels either run them (adaptive pooling
without oneDNN) or kill the process (adaptive max pooling with oneDNN),
while a compiled model (`fit`, `predict`) raises. So each model here is
built from its spec and run with `model.predict` in a child process of its
own, on TensorFlow and on JAX: mspec warns (MS305) exactly when TensorFlow
fails, and JAX gives the shape mspec declares.

- Adaptive pooling pools each axis with windows ceil(n / out) and one more,
  unpadded: the longer one exceeds the axis when n or out is 1.
- MelSpectrogram pads the waveform with fft_length // 2 reflected samples at
  each end; TensorFlow reflects at most n - 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mspec.api import check_text, generate_source

from support.keras_oracle import jax_installed
from support.paths import ROOT

pytestmark = [pytest.mark.keras, pytest.mark.slow]


def L(kind: str, **params) -> dict:
    return {"type": kind, **params}


CASES = [
    # (step, input shape without the batch, whether TensorFlow fails)
    (L("AdaptiveMaxPooling1D", output_size=1), [5, 3], True),
    (L("AdaptiveAveragePooling1D", output_size=2), [1, 3], True),
    (L("AdaptiveMaxPooling2D", output_size=[1, 2]), [4, 4, 2], True),
    (L("AdaptiveAveragePooling3D", output_size=2, data_format="channels_first"), [2, 1, 3, 3], True),
    (L("AdaptiveMaxPooling3D", output_size=1), [3, 3, 3, 1], True),
    (L("AdaptiveMaxPooling2D", output_size=[2, 3]), [4, 3, 2], False),
    (L("AdaptiveAveragePooling1D", output_size=5), [2, 3], False),
    (L("MelSpectrogram", fft_length=128, sequence_stride=8), [64], True),
    (L("MelSpectrogram", fft_length=128, sequence_stride=8), [65], False),
    (L("MelSpectrogram", num_mel_bins=8), [1000], True),
]

PREDICT = """
import sys, numpy as np, keras
from mspec.backends.keras_model.build import build_from_source
model = build_from_source(sys.stdin.read(), "portability")
shape = model.inputs[0].shape
print(tuple(model.predict(np.ones((2, *shape[1:]), "float32"), verbose=0).shape))
"""


def predicts(source: str, backend: str) -> str | None:
    """The output shape `model.predict` gives in a child process on `backend`, or None if it fails."""
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(ROOT / "compiler")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", PREDICT], input=source, capture_output=True, text=True, env=env, timeout=300
    )
    return done.stdout.strip() if done.returncode == 0 else None


def spec_text(step: dict, shape: list) -> str:
    table = ", ".join(f"{key} = {json.dumps(value)}" for key, value in step.items())
    return (
        f'[model]\nname = "portability"\n[inputs.x]\nshape = {json.dumps(shape)}\n'
        f'[outputs.y]\nfrom = "x"\nlayers = [{{ {table} }}]\n'
    )


@pytest.mark.parametrize(("step", "shape", "fails_on_tensorflow"), CASES, ids=str)
def test_warned_exactly_when_tensorflow_cannot_run_it(step, shape, fails_on_tensorflow) -> None:
    pytest.importorskip("keras")
    result = check_text(spec_text(step, shape))
    assert result.ok, [d.format() for d in result.diagnostics]
    warned = [d.message for d in result.diagnostics if d.code == "MS305"]
    assert bool(warned) == fails_on_tensorflow, warned
    source = generate_source(result)
    on_tensorflow = predicts(source, "tensorflow")
    assert (on_tensorflow is None) == fails_on_tensorflow, on_tensorflow
    if jax_installed():
        declared = result.graph.nodes[result.graph.outputs["y"]].shape
        assert predicts(source, "jax") == str((2, *declared[1:]))
