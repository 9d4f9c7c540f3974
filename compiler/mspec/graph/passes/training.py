"""[train] settings checked against the model they train (MS605), before any framework runs.

`model.fit` checks some of its arguments only once TensorFlow has started, or
not at all: a class weight on a regression output turns every label into a
class index (a negative value indexes past the table: IndexError), and a
weight for a class the output cannot produce is silently never used. Both are
decided by the output's loss and width, which the shape pass has inferred.
"""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...diagnostics.rules import FIT_CLASS_WEIGHT
from ..model import ModelGraph
from .hazards import loss_family

# The losses whose labels are classes: a class index, a one-hot row or a 0/1 label.
CLASS_LABEL_LOSSES = ("binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy")


def check_training_settings(graph: ModelGraph) -> list[Diagnostic]:
    spec = graph.spec
    if spec.train is None or not spec.train.class_weight:
        return []
    default_loss = spec.compile.loss if spec.compile is not None else None
    found: list[Diagnostic] = []
    for output, weights in spec.train.class_weight.items():
        if output not in spec.outputs:
            continue  # reported while validating [train] (MS201)
        loss = spec.outputs[output].loss or default_loss
        if loss is None:
            continue  # an output without a loss is its own finding (MS706 / MS601)
        path = ("train", "class_weight", output)
        family, _ = loss_family(loss)
        if family not in CLASS_LABEL_LOSSES:
            name = loss if isinstance(loss, str) else getattr(loss, "type", "its loss")
            found.append(
                FIT_CLASS_WEIGHT.at(
                    graph.document,
                    path,
                    f"[train] class_weight for output {output!r}, whose loss {name!r} does not take class "
                    "labels: its labels would be read as class indices",
                    "class weights need a binary, categorical or sparse categorical cross-entropy loss: "
                    "remove them from this output, or weigh its examples another way",
                    node=output,
                )
            )
            continue
        classes = _class_count(graph, output, family)
        if classes is None:
            continue
        for label in weights:
            if int(label) >= classes:
                found.append(
                    FIT_CLASS_WEIGHT.at(
                        graph.document,
                        (*path, label),
                        f"[train] class_weight for output {output!r} weighs class {label}, but the output "
                        f"has {classes} classes (0 .. {classes - 1}): this weight would never be used",
                        f"weigh classes 0 .. {classes - 1}, or check the output's units",
                        node=output,
                    )
                )
    return found


def _class_count(graph: ModelGraph, output: str, family: str) -> int | None:
    """How many classes an output tells apart: its units, or 2 for one binary unit."""
    node_id = graph.outputs.get(output)
    node = graph.nodes.get(node_id) if node_id is not None else None
    if node is None or node.shape is None or not isinstance(node.shape[-1], int):
        return None
    units = node.shape[-1]
    if family == "binary_crossentropy" and units == 1:
        return 2
    return units
