"""A Keras-like summary table of a checked spec, computed statically."""

from __future__ import annotations

from ..graph.model import ModelGraph, Node
from ..graph.passes.shapes import total_param_count
from ..layers.base import format_shape
from ..layers.call import LayerCall

BYTES_PER_PARAM = 4  # float32 weights, as Keras' own summary assumes


def layer_description(node: Node) -> str:
    """Describe a node's layer briefly: class and key parameters, e.g. `Dense(64, relu)`."""
    if node.role == "input":
        return "Input"
    if node.call is None:
        return "?"
    return call_description(node.call)


def call_description(call: LayerCall) -> str:
    """Describe a layer call briefly: class and the key parameters the spec sets, e.g. `Dense(64, relu)`."""
    values = []
    explicit = call.params.model_fields_set
    for name in call.kind.key_params:
        value = getattr(call.params, name, None)
        # Defaults are noise here: show what the spec chose.
        if name not in explicit or value is None:
            continue
        values.append(f"{name}={value}" if isinstance(value, bool) else str(value))
    text = call.kind.name + (f"({', '.join(values)})" if values else "")
    if call.name:
        text += f' name="{call.name}"'  # the Keras layer name the step gives
    return text


def summary_rows(graph: ModelGraph) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for node in graph.topological_order():
        layer = layer_description(node)
        if node.shared:
            layer += f" shared:{node.shared}"
        params = "?" if node.param_count is None else f"{node.param_count:,}"
        if node.shared and node.param_count == 0:
            params = "(shared)"
        shape = "?" if node.shape is None else format_shape(node.shape)
        sources = ", ".join(graph.label(i) for i in node.inputs)
        rows.append((graph.label(node.id), layer, shape, params, sources))
    return rows


def render_summary(graph: ModelGraph) -> str:
    """Return the summary table as text, ending with the weight totals."""
    header = ("Node", "Layer", "Output shape", "Params", "Inputs")
    rows = summary_rows(graph)
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
    total = total_param_count(graph)
    lines = [f'Model: "{graph.spec.name}"']
    if graph.spec.description:
        lines.append(graph.spec.description)
    lines += [line(header), "-" * rule_width, *(line(r) for r in rows), "=" * rule_width]
    lines.append(f"Total params: {total:,} ({_size(total * BYTES_PER_PARAM)})")
    used = graph.feeding_outputs()
    # Keras keeps every input but drops the layers no output depends on.
    left_out = [
        graph.label(node.id)
        for node in graph.topological_order()
        if node.id not in used and node.role != "input"
    ]
    if left_out:
        lines.append(f"Left out of the model (no output depends on them): {', '.join(left_out)}")
    outputs = ", ".join(
        f"{name} {format_shape(graph.nodes[node].shape) if graph.nodes[node].shape else '?'}"
        for name, node in graph.outputs.items()
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
