"""Ask Keras what one layer does with inputs of given dtypes: builds, runs (inference, training), gives what.

The element-type counterpart of `support.keras_oracle`. A call is a one-layer
Keras model on `keras.Input`s of the given shapes and dtypes, called on arrays
of those dtypes with `training=False` and with `training=True` (a layer may
compute otherwise when training, and `mspec fit` trains). What it reports:
whether the model builds, whether each run succeeds, the dtype Keras declares
for the output (the symbolic tensor's) and the dtype the run returns.

A run that fails here may run elsewhere: `DtypeEvidence` keeps one worker
process per other setting (TensorFlow with oneDNN flipped, Keras on JAX, as
`keras_oracle.other_settings` names them) and asks them in batches, so that a
survey of thousands of calls costs one TensorFlow import per setting.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass

from support.keras_oracle import Verdict, make_layer, other_settings
from support.paths import ROOT, TESTS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

MODES = ("inference", "training")
RUN_BATCH = 2


@dataclass(frozen=True)
class Call:
    """One layer kind's step on inputs of given shapes (batch first, known sizes) and dtypes."""

    step: dict
    shapes: tuple[tuple, ...]
    dtypes: tuple[str, ...]

    def request(self) -> dict:
        return {"step": self.step, "shapes": [list(s) for s in self.shapes], "dtypes": list(self.dtypes)}

    @classmethod
    def from_request(cls, request: dict) -> Call:
        return cls(request["step"], tuple(tuple(s) for s in request["shapes"]), tuple(request["dtypes"]))


@dataclass(frozen=True)
class ModelCall:
    """A whole generated model (its Python source) on inputs of given shapes (batch excluded) and dtypes."""

    source: str
    name: str
    inputs: tuple[tuple[tuple, str], ...]

    def request(self) -> dict:
        return {"source": self.source, "name": self.name, "inputs": [[list(s), d] for s, d in self.inputs]}

    @classmethod
    def from_request(cls, request: dict) -> ModelCall:
        inputs = tuple((tuple(shape), dtype) for shape, dtype in request["inputs"])
        return cls(request["source"], request["name"], inputs)


@dataclass(frozen=True)
class Observed:
    """What one setting did with a call."""

    built: bool
    declared: str | None = None  # the dtype of Keras' symbolic output
    runs: tuple[bool, ...] = ()  # per mode (MODES)
    returned: tuple[str | None, ...] = ()  # the dtype each successful run returned
    error: str | None = None  # the first failure's

    @property
    def ran(self) -> bool:
        return self.built and all(self.runs)


def _array(shape: tuple, dtype: str):
    import numpy as np

    concrete = (RUN_BATCH, *shape[1:])
    if dtype == "string":
        return np.full(concrete, "a", dtype=object)
    # Ones: a valid id for every lookup and embedding the cases use, True for booleans.
    return np.ones(concrete, dtype=dtype)


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"


def _call_layer(layer, step: dict, tensors: list, **arguments):
    from mspec.layers import REGISTRY

    kind = REGISTRY[step["type"]]
    if kind.call_style == "separate":
        return layer(*tensors, **arguments)
    if kind.is_merge:
        return layer(tensors, **arguments)
    return layer(tensors[0], **arguments)


def observe(call: Call) -> Observed:
    """Call the layer on symbolic inputs, then on arrays in each mode, here."""
    import keras

    # The layer is called directly rather than wrapped in a one-layer keras.Model: the same calls, but a
    # layer that returns its input unchanged (Equalization at inference) would make that model a cycle.
    try:
        layer = make_layer(call.step)
        inputs = [
            keras.Input(shape=tuple(shape[1:]), dtype=dtype)
            for shape, dtype in zip(call.shapes, call.dtypes, strict=True)
        ]
        output = _call_layer(layer, call.step, inputs)
    except Exception as error:  # Keras raises ValueError, TypeError, NotImplementedError...
        return Observed(False, error=_error_text(error))
    declared = keras.backend.standardize_dtype(output.dtype)
    arrays = [_array(shape, dtype) for shape, dtype in zip(call.shapes, call.dtypes, strict=True)]
    runs, returned, first_error = [], [], None
    for mode in MODES:
        try:
            tensors = [
                keras.ops.convert_to_tensor(a, dtype=d) for a, d in zip(arrays, call.dtypes, strict=True)
            ]
            result = _call_layer(layer, call.step, tensors, training=mode == "training")
            runs.append(True)
            returned.append(keras.backend.standardize_dtype(result.dtype))
        except Exception as error:  # TensorFlow raises NotFoundError, InvalidArgumentError; JAX TypeError
            runs.append(False)
            returned.append(None)
            first_error = first_error or _error_text(error)
    return Observed(True, declared, tuple(runs), tuple(returned), first_error)


def observe_model(call: ModelCall) -> Observed:
    """Build the generated model here and run it in each mode."""
    import keras

    from mspec.backends.keras_model.build import build_from_source

    try:
        model = build_from_source(call.source, call.name)
    except Exception as error:  # Keras raises ValueError, TypeError...
        return Observed(False, error=_error_text(error))
    arrays = [_array((None, *shape), dtype) for shape, dtype in call.inputs]
    runs, returned, first_error = [], [], None
    for mode in MODES:
        try:
            result = model(arrays if len(arrays) > 1 else arrays[0], training=mode == "training")
            runs.append(True)
            returned.append(keras.backend.standardize_dtype(keras.tree.flatten(result)[0].dtype))
        except Exception as error:  # TensorFlow raises NotFoundError, InvalidArgumentError; JAX TypeError
            runs.append(False)
            returned.append(None)
            first_error = first_error or _error_text(error)
    return Observed(True, None, tuple(runs), tuple(returned), first_error)


def observe_any(call: Call | ModelCall) -> Observed:
    return observe_model(call) if isinstance(call, ModelCall) else observe(call)


def _from_request(request: dict) -> Call | ModelCall:
    return ModelCall.from_request(request) if "source" in request else Call.from_request(request)


# --- Evidence from the other settings ------------------------------------------


class _Worker:
    """One Python process with Keras on one setting, answering batches of calls line by line."""

    def __init__(self, name: str, overrides: dict[str, str]) -> None:
        self.name = name
        env = {**os.environ, **overrides, "TF_CPP_MIN_LOG_LEVEL": "3"}
        env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT / "compiler"), env.get("PYTHONPATH", "")])
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from support.dtype_oracle import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=TESTS,
            text=True,
        )

    def ask(self, calls: list) -> list[Observed] | None:
        """Send one batch and wait for its answers (None if the worker died)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps([c.request() for c in calls]) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except OSError:
            return None
        if not line:
            return None
        return [_observed(answer) for answer in json.loads(line)]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _observed(answer: dict) -> Observed:
    return Observed(
        answer["built"], answer["declared"], tuple(answer["runs"]), tuple(answer["returned"]), answer["error"]
    )


class DtypeEvidence:
    """Observes calls on every other setting, with a cache and one worker per setting."""

    def __init__(self) -> None:
        self.workers: dict[str, _Worker] = {}
        self.cache: dict[tuple[str, str], Observed] = {}
        atexit.register(self.close)

    def elsewhere(self, calls: list) -> dict[str, list[Observed]]:
        """Return, for each other setting, its observation of each call (asked in parallel)."""
        settings = other_settings()
        found: dict[str, list[Observed]] = {}

        def ask(name: str, overrides: dict[str, str]) -> None:
            keys = [(name, json.dumps(c.request(), sort_keys=True)) for c in calls]
            missing = [c for c, key in zip(calls, keys, strict=True) if key not in self.cache]
            if missing:
                worker = self.workers.get(name)
                if worker is None or worker.process.poll() is not None:
                    worker = self.workers[name] = _Worker(name, overrides)
                observed = worker.ask(missing)
                if observed is None:
                    worker.close()
                    observed = [Observed(False, error=f"the {name} worker stopped")] * len(missing)
                for call, seen in zip(missing, observed, strict=True):
                    self.cache[(name, json.dumps(call.request(), sort_keys=True))] = seen
            found[name] = [self.cache[key] for key in keys]

        threads = [threading.Thread(target=ask, args=item) for item in settings.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {name: found[name] for name in settings}  # in the settings' order, whichever answered first

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        self.workers.clear()


EVIDENCE = DtypeEvidence()


@dataclass(frozen=True)
class Truth:
    """Keras' verdict on a call, in the oracle's classes, with the dtype it declares for the output."""

    verdict: Verdict
    declared: str | None
    returned: str | None = None  # the dtype the run here returned at inference
    error: str | None = None
    runs_on: tuple[str, ...] = ()  # for a kernel limitation: the settings on which it runs
    fails_on: tuple[str, ...] = ()  # for a kernel limitation: the settings on which it fails


HERE = "TensorFlow CPU (this process)"


def settle(calls: list) -> list[Truth]:
    """Keras' verdict on each call (a layer's or a whole model's): runs here; else asks the other settings.

    The other settings are asked once, in one batch for all the calls that failed here.
    """
    import keras

    here = []
    for count, call in enumerate(calls):
        if count % 50 == 0:  # many small models: keep the session from growing
            keras.backend.clear_session()
        here.append(observe_any(call))
    failed = [call for call, seen in zip(calls, here, strict=True) if seen.built and not seen.ran]
    others = EVIDENCE.elsewhere(failed) if failed else {}
    elsewhere = {
        json.dumps(call.request(), sort_keys=True): {name: seen[i] for name, seen in others.items()}
        for i, call in enumerate(failed)
    }
    truths = []
    for call, seen in zip(calls, here, strict=True):
        if not seen.built:
            truths.append(Truth(Verdict.BUILD, None, error=seen.error))
        elif seen.ran:
            truths.append(Truth(Verdict.ACCEPTED, seen.declared, seen.returned[0]))
        else:
            observed = elsewhere[json.dumps(call.request(), sort_keys=True)]
            runs_on = tuple(name for name, other in observed.items() if other.ran)
            fails_on = (HERE, *(name for name, other in observed.items() if not other.ran))
            verdict = Verdict.KERNEL if runs_on else Verdict.RUN
            truths.append(Truth(verdict, seen.declared, None, seen.error, runs_on, fails_on))
    return truths


def serve() -> None:
    """A worker's loop: one JSON list of calls per line in, one JSON list of observations per line out."""
    # Answers go to the real standard output; anything else printed there goes to standard error.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    import warnings

    warnings.simplefilter("ignore")
    import keras

    count = 0
    for line in sys.stdin:
        observed = []
        for request in json.loads(line):
            count += 1
            if count % 50 == 0:  # many small models: keep the session from growing
                keras.backend.clear_session()
            try:
                observed.append(asdict(observe_any(_from_request(request))))
            except Exception as error:  # an observation never stops the worker
                observed.append(asdict(Observed(False, error=_error_text(error))))
        answers.write(json.dumps(observed) + "\n")
        answers.flush()
