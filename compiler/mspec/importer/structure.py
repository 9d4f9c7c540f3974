"""Lay the model's calls out as a spec: inputs, shared layers, branches, merges and outputs.

Each InputLayer becomes an input; each call of a layer that takes several
tensors a merge; maximal runs of one-input calls become branches, or the head
of an output when they end at one; a layer called more than once becomes a
shared layer, used by `{ shared = NAME }` steps. Every entry gets a spec name
made from the Keras name of its layer.
"""

from __future__ import annotations

import heapq
import keyword
import re
from dataclasses import dataclass
from typing import Any

from ..diagnostics.rules import (
    IMPORT_IDENTITY_HEAD,
    IMPORT_MULTIPLE_OUTPUTS,
    IMPORT_UNEXPRESSIBLE_CALL,
    IMPORT_UNEXPRESSIBLE_SETTING,
)
from ..spec.validate import LAYER_NAME_RE
from ..vocabulary import DTYPES
from .keras_format import Call, Layer, Ref, as_dict, short
from .read import ModelFileError
from .reporter import Reporter

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def sanitize(text: str, prefix: str = "layer") -> str:
    """Turn any text into a spec name: an identifier that is not a Python keyword."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not name or not name[0].isalpha() or not name[0].isascii():
        name = prefix + ("" if name.startswith("_") else "_") + name
    if keyword.iskeyword(name):
        name += "_"
    return name


def valid_name(text: Any) -> bool:
    """Return whether `text` can be a spec name as it is."""
    return isinstance(text, str) and bool(_NAME_RE.match(text)) and not keyword.iskeyword(text)


@dataclass(eq=False)
class CallRun:
    """A maximal run of one-input calls, each the only user of the tensor before it.

    It becomes a branch, or the head of an output when it ends at one.
    """

    calls: list[Call]
    name: str = ""
    source: Ref | None = None


class Structure:
    """Splits the checked calls into inputs, shared layers, branches, merges and outputs."""

    def __init__(
        self,
        reporter: Reporter,
        layers: dict[str, Layer],
        inputs: list[Ref],
        outputs: list[Ref],
        mask_ops: set[str],
        output_keys: list[str] | None = None,
    ):
        self.reporter = reporter
        self.all_layers = layers
        self.output_keys = output_keys
        self.layers = {n: layer for n, layer in layers.items() if n not in mask_ops}
        self.inputs = inputs
        self.outputs = outputs
        self.taken: set[str] = set()
        self.uses: dict[Ref, list[Call]] = {}
        for layer in self.layers.values():
            for call in layer.calls:
                for ref in call.inputs:
                    self.uses.setdefault(ref, []).append(call)
        # Filled in by `document`: each output's spec name, and the name Keras' compile_config knows it by.
        self.output_names: list[str] = []
        self.keras_output_names: list[str] = []

    def _claim(self, preferred: str, prefix: str = "layer") -> str:
        name = preferred if valid_name(preferred) else sanitize(preferred, prefix)
        base, suffix = name, 2
        while name in self.taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self.taken.add(name)
        return name

    def _order(self) -> list[Call]:
        """Return every call in dependency order, ties broken by the order Keras saved them in."""
        calls = [c for layer in self.layers.values() if layer.role in ("step", "merge") for c in layer.calls]
        key = {id(c): (c.layer.position, c.node, i) for i, c in enumerate(calls)}
        waiting = {id(c): sum(1 for r in c.inputs if self.layers[r.layer].role != "input") for c in calls}
        ready = [(key[id(c)], c) for c in calls if waiting[id(c)] == 0]
        heapq.heapify(ready)
        order: list[Call] = []
        while ready:
            _, call = heapq.heappop(ready)
            order.append(call)
            for user in self.uses.get(call.ref, []):
                waiting[id(user)] -= 1
                if waiting[id(user)] == 0:
                    heapq.heappush(ready, (key[id(user)], user))
        if len(order) < len(calls):
            raise ModelFileError("not a Keras model configuration: the layers form a cycle")
        return order

    def _runs(self, order: list[Call]) -> tuple[list[CallRun], dict[Ref, CallRun]]:
        """Group the one-input calls into runs; return them, and each run by its last call's tensor."""
        output_set = set(self.outputs)

        def is_step(call: Call) -> bool:
            return call.layer.role == "step"

        # A call continues its source's run when it is the only user of a step's tensor.
        runs: list[CallRun] = []
        run_of: dict[Ref, CallRun] = {}
        for call in order:
            if not is_step(call):
                continue
            (source,) = call.inputs
            producer = self._call(source)
            if (
                producer is not None
                and is_step(producer)
                and self.uses[source] == [call]
                and source not in output_set
            ):
                run = run_of.pop(source)
            else:
                run = CallRun([], source=source)
                runs.append(run)
            run.calls.append(call)
            run_of[call.ref] = run
        return runs, run_of

    def document(self, model_name: str) -> dict[str, Any] | None:
        """Return the spec document without [compile], or None when errors were reported."""
        reporter = self.reporter
        for ref in [*self.outputs, *(r for c in self._all_calls() for r in c.inputs)]:
            if ref.tensor != 0:
                layer = self.all_layers[ref.layer]
                reporter.layer_error(
                    layer,
                    IMPORT_MULTIPLE_OUTPUTS,
                    f"its output {ref.tensor} is used, but a spec step has exactly one output",
                )
        shared = [
            layer
            for layer in self.layers.values()
            if layer.role in ("step", "merge") and len(layer.calls) > 1
        ]
        for layer in shared:
            if layer.role == "merge":
                reporter.layer_error(
                    layer,
                    IMPORT_UNEXPRESSIBLE_CALL,
                    f"the merge layer is called {len(layer.calls)} times; a spec merge is called once",
                )
        if reporter.failed:
            return None
        order = self._order()
        runs, run_of = self._runs(order)

        # Names: outputs keep the names Keras gave them, then inputs, merges, shared layers, branches.
        owner: dict[Ref, str] = {}
        heads: dict[int, CallRun] = {}  # output index -> the run that is its head
        for index, ref in enumerate(self.outputs):
            run = run_of.get(ref)
            if run is not None and run not in heads.values():
                heads[index] = run
                run.name = self._claim(self._output_name(index, ref), "output")
                owner[ref] = run.name
        input_names = {}
        for ref in self.inputs:
            input_names[ref.layer] = owner[ref] = self._claim(ref.layer, "input")
        merges = [c for c in order if c.layer.role == "merge"]
        for call in merges:
            owner[call.ref] = self._claim(call.layer.name, "merge")
        shared_names = {layer.name: self._claim(layer.name, "shared") for layer in shared}
        for run in runs:
            if not run.name:
                last = run.calls[-1]
                base = last.layer.name if len(last.layer.calls) == 1 else f"{last.layer.name}_{last.node + 1}"
                run.name = self._claim(base, "branch")
                owner[run.calls[-1].ref] = run.name

        document: dict[str, Any] = {"model": {"name": model_name}}
        if self.output_keys is not None:
            document["model"]["outputs_as"] = "dict"
        document["inputs"] = {}
        for ref in self.inputs:
            entry = self._input(self.layers[ref.layer], input_names[ref.layer])
            if entry is None:
                return None
            document["inputs"][input_names[ref.layer]] = entry
        if shared:
            document["shared"] = {shared_names[layer.name]: _named(layer) for layer in shared}

        def steps(run: CallRun) -> list[dict[str, Any]]:
            return [
                {"shared": shared_names[c.layer.name]} if c.layer.name in shared_names else _named(c.layer)
                for c in run.calls
            ]

        branches = {
            r.name: {"from": owner[r.source], "layers": steps(r)} for r in runs if r not in heads.values()
        }
        if branches:
            document["branches"] = branches
        if merges:
            document["merges"] = {
                owner[call.ref]: {
                    "type": call.layer.step["type"],
                    "from": [owner[r] for r in call.inputs],
                    **{k: v for k, v in call.layer.step.items() if k != "type"},
                    **({"name": call.layer.name} if LAYER_NAME_RE.match(call.layer.name) else {}),
                }
                for call in merges
            }
        document["outputs"] = {}
        for index, ref in enumerate(self.outputs):
            if index in heads:
                run = heads[index]
                name, entry = run.name, {"from": owner[run.source], "layers": steps(run)}
            else:
                # A merge, an input or another output's tensor: an output without a head,
                # which a built model carries through an Identity layer.
                preferred = self._output_name(index, ref) if self.output_keys else f"{ref.layer}_output"
                name, entry = self._claim(preferred, "output"), {"from": owner[ref]}
                reporter.report(
                    IMPORT_IDENTITY_HEAD,
                    f"output {index} of the model is {owner[ref]!r} itself; imported as output {name!r} "
                    "without a head, which a built model passes through an Identity layer",
                    node=ref.layer,
                )
            document["outputs"][name] = entry
            self.output_names.append(name)
        self.keras_output_names = self.output_keys or [ref.layer for ref in self.outputs]
        return document

    def _output_name(self, index: int, ref: Ref) -> str:
        """The Keras name of output `index`: its key when the outputs are a dict, else its layer's name."""
        return self.output_keys[index] if self.output_keys else ref.layer

    def _all_calls(self) -> list[Call]:
        return [c for layer in self.layers.values() for c in layer.calls]

    def _call(self, ref: Ref) -> Call | None:
        layer = self.layers[ref.layer]
        return None if layer.role == "input" else layer.calls[ref.node]

    def _input(self, layer: Layer, name: str) -> dict[str, Any] | None:
        reporter, config = self.reporter, layer.config
        shape = config.get("batch_shape", config.get("batch_input_shape"))
        if not isinstance(shape, list) or not shape:
            reporter.layer_error(
                layer, IMPORT_UNEXPRESSIBLE_SETTING, "the input has no shape", "give keras.Input a shape"
            )
            return None
        if shape[0] is not None:
            reporter.layer_error(
                layer,
                IMPORT_UNEXPRESSIBLE_SETTING,
                f"a fixed batch size ({shape[0]}) cannot be written in a spec",
                "a spec's inputs take any batch size",
            )
            return None
        dims: list[Any] = []
        for axis, dim in enumerate(shape[1:], start=1):
            if dim is None:
                # TOML has no null: an unknown size gets a name of its own (equal to no other).
                dims.append(f"{name}_dim{axis}")
            elif isinstance(dim, int) and not isinstance(dim, bool) and dim > 0:
                dims.append(dim)
            else:
                reporter.layer_error(
                    layer, IMPORT_UNEXPRESSIBLE_SETTING, f"dimension {short(dim)} cannot be written in a spec"
                )
                return None
        entry: dict[str, Any] = {"shape": dims}
        dtype = config.get("dtype", "float32")
        if isinstance(dtype, dict):
            dtype = as_dict(dtype.get("config")).get("name")
        if dtype not in DTYPES:
            reporter.layer_error(
                layer, IMPORT_UNEXPRESSIBLE_SETTING, f"dtype {short(dtype)} cannot be written in a spec"
            )
            return None
        if dtype != "float32":
            entry["dtype"] = dtype
        for flag in ("sparse", "ragged", "optional"):
            if config.get(flag):
                reporter.layer_error(
                    layer, IMPORT_UNEXPRESSIBLE_SETTING, f"a {flag} input cannot be written in a spec"
                )
                return None
        return entry


def _named(layer: Layer) -> dict[str, Any]:
    """A layer's step table with its Keras name (names generated code gives anyway are dropped later)."""
    if layer.step is None or not LAYER_NAME_RE.match(layer.name):
        return layer.step  # a name a spec cannot give: the rebuilt layer gets the derived one
    return {**layer.step, "name": layer.name}
