"""The input contract of an exported model, known statically from the checked spec (no framework).

For every spec input and output: its dtype, its shape (the batch dimension
as "batch", any other dimension the spec leaves open as null) and, for
inputs, what the caller must still do to the values before feeding them:
nothing when a preprocessing layer inside the model takes raw values
(a Normalization, a StringLookup), whole-number ids in a range when an
Embedding reads them, and "as trained" when the model has no preprocessing
layer and expects what its training data held.

The artifact's names and positions are added by the exporter (`with_artifact`),
which reads them from the written file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..frontend import CheckResult
from ..graph.model import ModelGraph
from ..graph.readers import first_readers
from ..layers import KindsWith
from ..layers.base import Trait

MANIFEST_VERSION = 1
# Inside a SavedModel folder; beside any other artifact as <artifact>.manifest.json.
SAVED_MODEL_MANIFEST = "mspec.manifest.json"

# Preprocessing layers inside the model, which take the raw values: numbers to rescale or bucket,
# category values (strings or integers) to map, hash or encode.
_RAW_VALUE_LAYERS = KindsWith(Trait.SCALER, Trait.ENCODES_CATEGORIES)
# What they make of the raw values they are fed, said for people.
_RAW_VALUES = {
    "Normalization": "raw numbers: the model normalizes them",
    "Rescaling": "raw numbers: the model rescales them",
    "Discretization": "raw numbers: the model buckets them",
    "StringLookup": "strings: the model maps them to ids",
    "IntegerLookup": "raw integer values: the model maps them to ids",
    "Hashing": "raw values: the model hashes them",
    "HashedCrossing": "raw values: the model crosses them with another input's by hashing",
    "TextVectorization": "raw text: the model splits and maps it",
}


@dataclass(frozen=True)
class Tensor:
    """One spec input or output as the artifact holds it."""

    name: str  # the spec's name
    dtype: str
    shape: tuple  # "batch", ints and None
    expects: dict[str, Any] | None = None  # inputs only
    tensor: str | None = None  # the artifact's name for it (filled in after export)
    position: int | None = None  # its position among the artifact's inputs or outputs

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name,
            "tensor": self.tensor,
            "position": self.position,
            "dtype": self.dtype,
            "shape": list(self.shape),
        }
        if self.expects is not None:
            found["expects"] = self.expects
        return found


@dataclass(frozen=True)
class Contract:
    """The spec's inputs (in spec order) and outputs, as an artifact must take and give them."""

    model: str
    inputs: list[Tensor]
    outputs: list[Tensor]
    layers: dict[str, str] = field(default_factory=dict)  # Keras layer name -> spec label of its node

    def input(self, name: str) -> Tensor:
        return next(t for t in self.inputs if t.name == name)


def contract(result: CheckResult) -> Contract:
    """The contract of a spec that checked without errors."""
    from ..graph.layer_names import layer_names

    spec, graph = result.spec, result.graph
    if spec is None or graph is None:
        raise ValueError("contract() needs a spec that checked without errors")
    inputs = [
        Tensor(name, entry.dtype, ("batch", *(_dimension(d) for d in entry.shape)), expects(graph, name))
        for name, entry in spec.inputs.items()
    ]
    outputs = []
    for name in spec.outputs:
        node = graph.nodes.get(graph.outputs.get(name, ""))
        shape = tuple(node.shape) if node is not None and node.shape else (None,)
        outputs.append(Tensor(name, "float32", ("batch", *(_dimension(d) for d in shape[1:]))))
    labels = {}
    for key, layer in layer_names(graph).items():
        node_id = key.split("/")[0]
        if node_id in graph.nodes:
            labels[layer] = graph.label(node_id)
        elif key.startswith("shared:"):
            labels[layer] = f"shared layer {key.removeprefix('shared:').split('/')[0]}"
    return Contract(spec.name, inputs, outputs, labels)


def _dimension(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def expects(graph: ModelGraph, input_name: str) -> dict[str, Any]:
    """What an input's values must be: read first by a preprocessing layer, an Embedding, or neither."""
    readers = _first_readers(graph, input_name)
    for node_id, kind, _ in readers:
        if kind in _RAW_VALUE_LAYERS:
            values = _RAW_VALUES.get(kind, "raw values: a preprocessing layer of the model takes them")
            return {"values": values, "layer": f"{kind} in {graph.label(node_id)}"}
    ids = [(node_id, kind, params) for node_id, kind, params in readers if kind in _ID_LAYERS]
    if ids:
        node_id, kind, params = min(ids, key=lambda found: _id_count(found[2]))
        limit = _id_count(params)
        found: dict[str, Any] = {
            "values": f"whole-number ids in [0, {limit})",
            "layer": f"{kind} in {graph.label(node_id)}",
            "ids": [0, limit],
        }
        if getattr(params, "mask_zero", False):
            found["padding"] = 0
        return found
    return {"values": "as in the training data: the model holds no preprocessing layer for this input"}


# The kinds that read ids: whole numbers in [0, count), the count their parameters give (`_id_count`).
_ID_LAYERS = KindsWith(Trait.TAKES_IDS)


def _id_count(params: Any) -> int:
    """How many ids a layer reading ids takes: an embedding's rows, CategoryEncoding's tokens."""
    return params.num_tokens if hasattr(params, "num_tokens") else params.input_dim


def _first_readers(graph: ModelGraph, input_name: str) -> list[tuple[str, str, Any]]:
    """(node id, kind, parameters) of the layers that read an input's values first, breadth first."""
    return [
        (node_id, call.kind.name, call.params)
        for node_id, call in first_readers(graph, input_name)
        if call is not None
    ]


def manifest(contract: Contract, fmt: str, artifact: str, signature: str | None) -> dict[str, Any]:
    """The manifest written beside (or inside) the artifact."""
    return {
        "mspec_manifest": MANIFEST_VERSION,
        "model": contract.model,
        "format": fmt,
        "artifact": artifact,
        "signature": signature,
        "feed_by": "name",
        "inputs": [t.as_json() for t in contract.inputs],
        "outputs": [t.as_json() for t in contract.outputs],
    }


def manifest_bytes(document: dict[str, Any]) -> bytes:
    return (_dumps(document, "") + "\n").encode("utf-8")


def _dumps(value: Any, indent: str) -> str:
    """JSON indented by two spaces, but a list of numbers or strings (a shape, a range) on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(key)}: {_dumps(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        return "[\n" + ",\n".join(inner + _dumps(item, inner) for item in value) + f"\n{indent}]"
    return json.dumps(value)


def manifest_path(artifact: Path, fmt: str) -> Path:
    """Where the manifest of an artifact lives."""
    if fmt == "saved_model":
        return artifact / SAVED_MODEL_MANIFEST
    return artifact.with_name(artifact.name + ".manifest.json")


def read_manifest(artifact: Path, fmt: str) -> dict[str, Any]:
    path = manifest_path(artifact, fmt)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OSError(f"{path}: no manifest beside the artifact") from None
    except json.JSONDecodeError as error:
        raise OSError(f"{path}: not a manifest ({error})") from None
