"""Ask Keras itself what a layer or a model does, and tell Keras' rules from one machine's kernels.

The reference for every differential test. Imports Keras lazily so that
collecting tests does not pay for TensorFlow.

Every Keras outcome falls in one of three classes (`Verdict`):

* refused while building (`BUILD`): the constructor or the symbolic call
  raises. These are Keras' own shape and argument checks, written in Python
  once for every backend: portable. Keras refuses.
* refused while running on every backend (`RUN`): the model builds, but
  running it on arrays fails (or gives a shape that contradicts the declared
  one) here, and also with oneDNN switched the other way, and on JAX when JAX
  is installed. A real mistake that only surfaces at call time. Keras refuses.
* a kernel limitation (`KERNEL`): the run fails here but succeeds, with the
  declared shape, somewhere else: TensorFlow with the other oneDNN setting, or
  JAX. TensorFlow's CPU kernels without oneDNN refuse channels_first
  convolutions, dilated or channels_first transposed convolutions and unequal
  depthwise strides (InvalidArgumentError, UnimplementedError); such a model
  is not wrong, it is not portable. Keras accepts.

The last two need evidence beyond this process: `Evidence` keeps one worker
process per other setting (TensorFlow with TF_ENABLE_ONEDNN_OPTS flipped, and
Keras on JAX), started on first need and asked over a pipe, so that a failed
run costs one round trip rather than one TensorFlow import. A run that
succeeds here needs no evidence: it is `ACCEPTED`.
"""

from __future__ import annotations

import atexit
import enum
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass

from support.paths import ROOT, TESTS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    BUILD = "refused while building"
    RUN = "refused while running on every backend"
    KERNEL = "kernel limitation"

    @property
    def refused(self) -> bool:
        """Whether Keras refuses: only its own checks and failures on every backend count."""
        return self in (Verdict.BUILD, Verdict.RUN)


@dataclass(frozen=True)
class KerasResult:
    """What Keras did with one layer call: a shape and a count, or an error, and its class."""

    output_shape: tuple | None
    param_count: int | None
    error: str | None = None
    verdict: Verdict = Verdict.ACCEPTED
    # For a kernel limitation: where the run succeeded instead.
    runs_on: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Keras accepts: the layer builds, and runs here or on another backend."""
        return not self.verdict.refused


def make_layer(step: dict):
    """Instantiate a Keras layer from a spec step table ({type=..., params...})."""
    import keras

    params = dict(step)
    class_name = params.pop("type")
    if "layer" in params:
        params["layer"] = make_layer(params["layer"])
    for key in ("cell", "cells"):  # RNN's cell (a table, or a list of them), StackedRNNCells' cells
        value = params.get(key)
        if isinstance(value, dict):
            params[key] = make_layer(value)
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            params[key] = [make_layer(item) for item in value]
    for key, value in params.items():
        # Keras wants tuples where specs write lists (kernel_size, target_shape...).
        if isinstance(value, list):
            params[key] = tuple(value)
    return getattr(keras.layers, class_name)(**params)


class _RunFailure(Exception):
    """The layer built but running it failed: the caller decides with evidence."""


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _apply_here(step: dict, input_shapes: list[tuple], run: bool) -> KerasResult:
    import keras

    try:
        layer = make_layer(step)
        inputs = [
            keras.Input(shape=tuple(shape[1:]), batch_size=shape[0], dtype=dtype_for(step))
            for shape in input_shapes
        ]
        output = _call(layer, step, inputs)
        if isinstance(output, (list, tuple)):
            # Several outputs (return_state, merge_mode=None): one shape each, nothing to run.
            return KerasResult(tuple(tuple(o.shape) for o in output), layer.count_params())
        result = KerasResult(tuple(output.shape), layer.count_params())
    except Exception as error:  # Keras raises ValueError, TypeError, IndexError...
        return KerasResult(None, None, _error_text(error), Verdict.BUILD)
    if run:
        try:
            arrays = [ones(shape, step) for shape in input_shapes]
            _check_run(_call(layer, step, arrays), result.output_shape)
        except Exception as error:  # TensorFlow's kernels raise InvalidArgumentError, UnimplementedError...
            return KerasResult(None, None, _error_text(error), Verdict.RUN)
    return result


def _shared_here(step: dict, input_shapes: list[tuple], run: bool) -> KerasResult:
    import keras

    layer = None
    output = None
    for shape in input_shapes:
        try:
            if layer is None:
                layer = make_layer(step)
            output = layer(keras.Input(shape=tuple(shape[1:]), batch_size=shape[0], dtype=dtype_for(step)))
        except Exception as error:
            return KerasResult(None, None, _error_text(error), Verdict.BUILD)
        if run:
            try:
                _check_run(layer(ones(shape, step)), tuple(output.shape))
            except Exception as error:
                return KerasResult(None, None, _error_text(error), Verdict.RUN)
    return KerasResult(tuple(output.shape), layer.count_params())


def _decide(here: KerasResult, request: dict) -> KerasResult:
    """A run that failed here: a kernel limitation if it succeeds anywhere else, else a refusal."""
    if here.verdict is not Verdict.RUN:
        return here
    runs_on = EVIDENCE.runs_elsewhere(request)
    if not runs_on:
        return here
    return KerasResult(None, None, here.error, Verdict.KERNEL, runs_on)


def keras_apply(step: dict, input_shapes: list[tuple], *, run: bool = False) -> KerasResult:
    """Call a fresh layer on symbolic inputs of the given shapes (batch first).

    With `run`, also call the built layer on arrays of ones (unknown sizes made
    concrete by `concrete_shape`): some mistakes only fail then, and a run whose
    output shape contradicts the symbolic one counts as a failure too. A failed
    run is classified with evidence from the other backends (see the module doc).
    """
    here = _apply_here(step, input_shapes, run)
    if here.verdict is not Verdict.RUN:
        return here
    # The symbolic shape and count are Keras' own, whatever the kernels do.
    decided = _decide(here, {"kind": "apply", "step": step, "shapes": input_shapes})
    if decided.verdict is Verdict.KERNEL:
        built = _apply_here(step, input_shapes, run=False)
        return KerasResult(
            built.output_shape, built.param_count, decided.error, Verdict.KERNEL, decided.runs_on
        )
    return decided


def keras_shared(step: dict, input_shapes: list[tuple], *, run: bool = False) -> KerasResult:
    """Call ONE layer on each single-input shape in turn, as a shared layer is (`run`: see keras_apply)."""
    here = _shared_here(step, input_shapes, run)
    decided = _decide(here, {"kind": "shared", "step": step, "shapes": input_shapes})
    if decided.verdict is Verdict.KERNEL:
        built = _shared_here(step, input_shapes, run=False)
        return KerasResult(
            built.output_shape, built.param_count, decided.error, Verdict.KERNEL, decided.runs_on
        )
    return decided


# Sizes given to unknown dimensions when a layer is run on real arrays.
RUN_BATCH = 2
RUN_SIZE = 3


def concrete_shape(shape: tuple) -> tuple:
    """Replace unknown sizes: the batch by RUN_BATCH, any other by RUN_SIZE."""
    return tuple((RUN_BATCH if axis == 0 else RUN_SIZE) if d is None else d for axis, d in enumerate(shape))


def ones(shape: tuple, step: dict):
    """Return an input array: ones, or zeros for integer inputs (index 0 is valid for any vocabulary)."""
    import numpy as np

    dtype = dtype_for(step)
    if dtype == "string":
        return np.full(concrete_shape(shape), "a b", dtype=object)
    fill = np.zeros if dtype.startswith("int") else np.ones
    return fill(concrete_shape(shape), dtype=dtype)


def _call(layer, step: dict, inputs: list):
    from mspec.layers import REGISTRY

    if step["type"] in REGISTRY and REGISTRY[step["type"]].call_style == "separate":
        return layer(*inputs)  # layer(query, value, key)
    if len(inputs) == 1 and step["type"] not in MULTI_INPUT:
        return layer(inputs[0])
    return layer(inputs)


def _check_run(output, symbolic: tuple) -> None:
    actual = tuple(output.shape)
    if len(actual) != len(symbolic) or any(
        d is not None and d != a for d, a in zip(symbolic, actual, strict=True)
    ):
        raise ValueError(f"running the layer gave shape {actual}, not the declared {symbolic}")


# Kinds called on a list of tensors, even a list of one.
MULTI_INPUT = {
    "Concatenate",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Dot",
    "Attention",
    "AdditiveAttention",
    "HashedCrossing",
}


# Layers that read strings, and layers that read integer values (not ids in a range): the dtype the
# oracle feeds them. HashedCrossing (TAKES_STRINGS) crosses strings and integers alike, as Hashing
# hashes both; one dtype is enough to check its shapes, so it gets integers like IntegerLookup.
STRING_LAYERS = {"StringLookup", "TextVectorization", "Hashing"}
INT64_LAYERS = {"IntegerLookup", "HashedCrossing"}


def dtype_for(step: dict) -> str:
    if step["type"] in STRING_LAYERS:
        return "string"
    if step["type"] in INT64_LAYERS:
        return "int64"
    if step["type"] == "SpectralNormalization" and step.get("layer", {}).get("type") == "Embedding":
        return "int32"
    return "int32" if step["type"] in {"Embedding", "ReversibleEmbedding", "CategoryEncoding"} else "float32"


# --- Whole models -------------------------------------------------------------


def model_arrays(inputs: list[tuple[tuple, str]]):
    """Forward-pass inputs for (shape without batch, dtype) pairs: ones, or zeros for integers."""
    import numpy as np

    out = []
    for shape, dtype in inputs:
        concrete = (RUN_BATCH, *(d if isinstance(d, int) else RUN_SIZE for d in shape))
        out.append((np.zeros if dtype.startswith("int") else np.ones)(concrete, dtype=dtype))
    return out[0] if len(out) == 1 else out


def run_model(model, inputs: list[tuple[tuple, str]]) -> list[tuple]:
    """Run a built model once and return the shape of each output."""
    # An eager call rather than model.predict: in graph mode, TensorFlow 2.21's oneDNN kernels abort
    # some runs of one-channel depthwise and separable convolutions ("could not create a primitive
    # descriptor for the reorder primitive"), depending on what ran before in the process, and every
    # convolution after that. The eager call runs the same layers on the same arrays without it.
    result = model(model_arrays(inputs), training=False)
    if not isinstance(result, (list, tuple)):
        result = [result]
    return [tuple(r.shape) for r in result]


def shapes_match(actual: list[tuple], expected: list[tuple]) -> bool:
    """Whether a run's output shapes are the expected ones; None in an expected shape is any size."""
    return len(actual) == len(expected) and all(
        len(a) == len(e) and all(d is None or d == x for d, x in zip(e, a, strict=True))
        for a, e in zip(actual, expected, strict=True)
    )


def model_runs_elsewhere(
    source: str, name: str, inputs: list[tuple[tuple, str]], expected: list[tuple] | None
) -> tuple[str, ...]:
    """Where else than here the generated model runs (with the expected output shapes, if given)."""
    request = {"kind": "model", "source": source, "name": name, "inputs": inputs, "expected": expected}
    return EVIDENCE.runs_elsewhere(request)


# --- Evidence from the other backends ----------------------------------------


def onednn_enabled() -> bool:
    """Whether this process' TensorFlow runs oneDNN kernels (its default depends on the CPU)."""
    try:
        from tensorflow.python.util import _pywrap_util_port  # no public API says it

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "") not in ("", "0")


def jax_installed() -> bool:
    return importlib.util.find_spec("jax") is not None


def other_settings() -> dict[str, dict[str, str]]:
    """The settings asked for evidence: name -> environment overrides."""
    flipped = "0" if onednn_enabled() else "1"
    settings = {
        f"TensorFlow CPU with oneDNN {'off' if flipped == '0' else 'on'}": {
            "KERAS_BACKEND": "tensorflow",
            "TF_ENABLE_ONEDNN_OPTS": flipped,
        }
    }
    if jax_installed():
        settings["JAX"] = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    return settings


class _Worker:
    """One Python process with Keras on one setting, answering requests line by line."""

    def __init__(self, name: str, overrides: dict[str, str]) -> None:
        self.name = name
        env = {**os.environ, **overrides, "TF_CPP_MIN_LOG_LEVEL": "3"}
        env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT / "compiler"), env.get("PYTHONPATH", "")])
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from support.keras_oracle import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=TESTS,
            text=True,
        )

    def send(self, request: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker stopped (exit status {self.process.poll()})")
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Evidence:
    """Runs what failed here on every other setting, with a cache and one worker per setting."""

    def __init__(self) -> None:
        self.workers: dict[str, _Worker] = {}
        self.cache: dict[str, tuple[str, ...]] = {}
        atexit.register(self.close)

    def _worker(self, name: str, overrides: dict[str, str]) -> _Worker:
        worker = self.workers.get(name)
        if worker is None or worker.process.poll() is not None:
            worker = self.workers[name] = _Worker(name, overrides)
        return worker

    def runs_elsewhere(self, request: dict) -> tuple[str, ...]:
        """Return the names of the settings on which the request runs as declared."""
        key = json.dumps(request, sort_keys=True)
        if key in self.cache:
            return self.cache[key]
        asked = []
        for name, overrides in other_settings().items():
            worker = self._worker(name, overrides)
            try:
                worker.send(request)
                asked.append(worker)
            except OSError:
                worker.close()
        runs = []
        for worker in asked:
            try:
                answer = worker.receive()
            except (RuntimeError, ValueError):
                worker.close()
                continue
            if answer["ok"]:
                runs.append(worker.name)
        self.cache[key] = tuple(runs)
        return self.cache[key]

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        self.workers.clear()


EVIDENCE = Evidence()


def _answer(request: dict) -> dict:
    kind = request["kind"]
    if kind == "model":
        import keras

        from mspec.backends.keras_model.build import build_from_source

        keras.backend.clear_session()
        inputs = [(tuple(shape), dtype) for shape, dtype in request["inputs"]]
        model = build_from_source(request["source"], request["name"])
        shapes = run_model(model, inputs)
        expected = request["expected"]
        ok = expected is None or shapes_match(shapes, [tuple(s) for s in expected])
        return {"ok": ok, "error": None if ok else f"shapes {shapes}"}
    shapes = [tuple(s) for s in request["shapes"]]
    here = (_apply_here if kind == "apply" else _shared_here)(request["step"], shapes, True)
    return {"ok": here.verdict is Verdict.ACCEPTED, "error": here.error}


def serve() -> None:
    """A worker's loop: one JSON request per line in, one JSON answer per line out."""
    # Answers go to the real standard output; anything else printed there (by TensorFlow's C++ code
    # or Python warnings) goes to standard error instead.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    import warnings

    warnings.simplefilter("ignore")
    for line in sys.stdin:
        try:
            answer = _answer(json.loads(line))
        except Exception as error:  # a failure to build or run is an answer, not a crash
            answer = {"ok": False, "error": _error_text(error)[:500]}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
