"""Comparing a Keras model with the one mspec rebuilds from its imported spec, operation by operation."""

from __future__ import annotations

import hashlib


def strip_names(value):
    """Return a configuration without names (renaming is allowed) or per-save object ids."""
    if isinstance(value, dict):
        return {k: strip_names(v) for k, v in value.items() if k not in ("name", "shared_object_id")}
    if isinstance(value, list | tuple):
        return [strip_names(v) for v in value]
    return value


def structure(model) -> list:
    """Describe every operation in Keras' own topological order: class, calls, config, weights."""
    # A call is its inputs and output shapes. Calls are named by what they compute (the
    # operation's position and their own inputs, recursively), not by their index, since
    # which call of a shared layer comes first is immaterial.
    index = {id(op): i for i, op in enumerate(model.operations)}
    names: dict[tuple, str] = {}

    def node_name(op, node_index: int) -> str:
        key = (id(op), node_index)
        if key not in names:
            node = op._inbound_nodes[node_index]
            parts = [f"{node_name(t._keras_history.operation, t._keras_history.node_index)}"
                     f"[{t._keras_history.tensor_index}]" for t in node.input_tensors]  # fmt: skip
            description = f"{index[id(op)]}(" + ",".join(parts) + ")"
            # A digest keeps descriptions short where calls share inputs many times over.
            names[key] = hashlib.sha256(description.encode()).hexdigest()[:16]
        return names[key]

    rows = []
    for op in model.operations:
        calls = sorted(
            (node_name(op, i), str([tuple(t.shape) for t in node.output_tensors]))
            for i, node in enumerate(op._inbound_nodes)
        )
        weights = op.count_params() if hasattr(op, "count_params") else 0
        rows.append((type(op).__name__, calls, strip_names(op.get_config()), weights))
    return rows


def assert_same_model(original, rebuilt) -> None:
    first, second = structure(original), structure(rebuilt)
    assert [r[0] for r in first] == [r[0] for r in second], "layer classes or their order differ"
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        where = f"operation {index} ({a[0]} {original.operations[index].name})"
        assert a[1] == b[1], f"{where}: connections or output shapes differ"
        assert a[2] == b[2], f"{where}: configuration differs"
        assert a[3] == b[3], f"{where}: weight counts differ"
    assert original.count_params() == rebuilt.count_params()
    assert [t.shape for t in original.outputs] == [t.shape for t in rebuilt.outputs]


def build_imported(text: str, fmt: str = "toml"):
    """Check an imported spec (training hazards aside) and build it with Keras."""
    from mspec.backends.keras_model.build import build_model
    from mspec.pipeline import check_bytes

    from support.spec_graphs import STRUCTURE_ONLY

    checked = check_bytes(text.encode(), f"imported.{fmt}", fmt, STRUCTURE_ONLY)
    assert checked.ok and not findings(checked.diagnostics), [d.format() for d in checked.diagnostics]
    return build_model(checked.graph)


def findings(diagnostics: list) -> list:
    """Diagnostics other than portability warnings (MS305), which a model Keras runs may well get."""
    return [d for d in diagnostics if d.code != "MS305"]
