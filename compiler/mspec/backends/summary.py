"""A Keras-like summary table of a checked spec, computed statically."""

from __future__ import annotations

from ..graph.model import ModelGraph, Node
from ..graph.passes.shapes import total_params
from ..layers.base import format_shape

BYTES_PER_PARAM = 4  # float32 weights, as Keras' own summary assumes


def layer_description(node: Node) -> str:
    """Describe a node's layer briefly: class and key parameters, e.g. `Dense(64, relu)`."""
    if node.role == "input":
        return "Input"
    if node.call is None:
        return "?"
    values = []
    explicit = node.call.params.model_fields_set
    for name in node.call.kind.key_params:
        value = getattr(node.call.params, name, None)
        # Defaults are noise here: show what the spec chose.
        if name not in explicit or value is None:
            continue
        values.append(f"{name}={value}" if isinstance(value, bool) else str(value))
    text = node.call.kind.name + (f"({', '.join(values)})" if values else "")
    if node.call.name:
        text += f' name="{node.call.name}"'  # the Keras layer name the step gives
    return text


def summary_rows(model: ModelGraph) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for node in model.topological_order():
        layer = layer_description(node)
        if node.shared:
            layer += f" shared:{node.shared}"
        params = "?" if node.params is None else f"{node.params:,}"
        if node.shared and node.params == 0:
            params = "(shared)"
        shape = "?" if node.shape is None else format_shape(node.shape)
        sources = ", ".join(model.label(i) for i in node.inputs)
        rows.append((model.label(node.id), layer, shape, params, sources))
    return rows


def render_summary(model: ModelGraph) -> str:
    """Return the summary table as text, ending with the weight totals."""
    header = ("Node", "Layer", "Output shape", "Params", "Inputs")
    rows = summary_rows(model)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row) -> str:
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            row[2].ljust(widths[2]),
            row[3].rjust(widths[3]),
            row[4],
        ]
        return "  ".join(cells).rstrip()

    rule_width = len(line(tuple("x" * w for w in widths)))
    total = total_params(model)
    lines = [f'Model: "{model.spec.name}"']
    if model.spec.description:
        lines.append(model.spec.description)
    lines += [line(header), "-" * rule_width, *(line(r) for r in rows), "=" * rule_width]
    lines.append(f"Total params: {total:,} ({_size(total * BYTES_PER_PARAM)})")
    used = model.feeding_outputs()
    # Keras keeps every input but drops the layers no output depends on.
    left_out = [
        model.label(node.id)
        for node in model.topological_order()
        if node.id not in used and node.role != "input"
    ]
    if left_out:
        lines.append(f"Left out of the model (no output depends on them): {', '.join(left_out)}")
    outputs = ", ".join(
        f"{name} {format_shape(model.nodes[node].shape) if model.nodes[node].shape else '?'}"
        for name, node in model.outputs.items()
    )
    lines.append(f"Outputs: {outputs}")
    return "\n".join(lines) + "\n"


def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}" if unit != "B" else f"{n_bytes} B"
        size /= 1024
    return f"{size:.2f} TB"
