"""The specs `mspec diff` is tested on: one base model, and single edits of it with what each must report.

BASE has every kind of entry a diff matches: three inputs, a shared layer
used twice, branches of one and of several steps, a merge, a trunk and two
output heads with losses. Each `Mutation` is one edit a pull request makes,
written as the text it replaces, with the changes the diff must list (kind
and node), the weight count of each changed node before and after, and the
nodes downstream whose shape or weights change as a consequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASE = """\
[model]
name = "review_base"

[inputs.text]
shape = [20]
dtype = "int32"

[inputs.numbers]
shape = [8]

[inputs.extra]
shape = [8]

[shared.project]
type = "Dense"
units = 16
activation = "relu"

[branches.words]
from = "text"
layers = [
  { type = "Embedding", input_dim = 1000, output_dim = 16 },
  { type = "GlobalAveragePooling1D" },
]

[branches.nums]
from = "numbers"
layers = [{ shared = "project" }]

[branches.more]
from = "extra"
layers = [{ shared = "project" }, { type = "Dropout", rate = 0.1 }]

[merges.joined]
type = "Concatenate"
from = ["words", "nums", "more"]

[branches.trunk]
from = "joined"
layers = [
  { type = "Dense", units = 32, activation = "relu" },
  { type = "Dropout", rate = 0.2 },
]

[outputs.score]
from = "trunk"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
metrics = ["accuracy"]

[outputs.rating]
from = "trunk"
layers = [{ type = "Dense", units = 5, activation = "softmax" }]
loss = "sparse_categorical_crossentropy"

[compile]
optimizer = "adam"
"""

# Embedding 16,000 + shared Dense 8*16+16 + trunk Dense 48*32+32 + heads 33 and 165.
BASE_WEIGHTS = 16_000 + 144 + 1_568 + 33 + 165

TRUNK_DENSE = '{ type = "Dense", units = 32, activation = "relu" }'
TRUNK_DROPOUT = '  { type = "Dropout", rate = 0.2 },\n'
MORE = 'layers = [{ shared = "project" }, { type = "Dropout", rate = 0.1 }]'
UNSHARED_MORE = (
    'layers = [{ type = "Dense", units = 16, activation = "relu" }, { type = "Dropout", rate = 0.1 }]'
)


@dataclass(frozen=True)
class Mutation:
    """One edit of BASE (each `edits` pair replaces text once) and what `mspec diff` must say of it."""

    name: str
    edits: tuple[tuple[str, str], ...]
    changes: tuple[tuple[str, str | None], ...]  # (kind, node), in the order listed
    weights: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # node -> before, after
    consequences: dict[str, str] = field(default_factory=dict)  # node -> "shape", "weights" or "both"
    delta: int = 0  # the change of the model's weight count
    findings: tuple[str, ...] = ()  # codes of the lint findings new in NEW
    reverse: bool = False  # the edit goes from the mutated text to BASE

    def texts(self) -> tuple[str, str]:
        """(OLD, NEW)."""
        text = BASE
        for old, new in self.edits:
            assert text.count(old) >= 1, (self.name, old)
            text = text.replace(old, new, 1)
        return (text, BASE) if self.reverse else (BASE, text)


MUTATIONS = [
    Mutation(
        "rename",
        (
            ("[branches.trunk]", "[branches.body]"),
            ('from = "trunk"', 'from = "body"'),
            ('from = "trunk"', 'from = "body"'),
        ),
        (("renamed", "body"),),
    ),
    Mutation(
        "units",
        ((TRUNK_DENSE, TRUNK_DENSE.replace("32", "64")),),
        (("params", "trunk step 1"),),
        {"trunk step 1": (1_568, 3_136)},
        {"trunk step 2": "shape", "score": "weights", "rating": "weights"},
        delta=1_568 + 32 + 160,
    ),
    Mutation(
        "activation",
        ((TRUNK_DENSE, TRUNK_DENSE.replace("relu", "tanh")),),
        (("params", "trunk step 1"),),
        {"trunk step 1": (1_568, 1_568)},
    ),
    Mutation(
        "add_step",
        ((TRUNK_DROPOUT, TRUNK_DROPOUT + '  { type = "LayerNormalization" },\n'),),
        (("added", "trunk step 3"),),
        {"trunk step 3": (None, 64)},
        delta=64,
    ),
    Mutation(
        "remove_step",
        ((TRUNK_DROPOUT, ""),),
        (("removed", "trunk step 2"),),
        {"trunk step 2": (0, None)},
    ),
    Mutation(
        "add_branch",
        (
            (
                "[merges.joined]",
                '[branches.extra2]\nfrom = "numbers"\nlayers = [{ type = "Dense", units = 4 }]\n\n'
                "[merges.joined]",
            ),
            ('from = ["words", "nums", "more"]', 'from = ["words", "nums", "more", "extra2"]'),
        ),
        (("added", "extra2"), ("rewired", "joined")),
        {"extra2": (None, 36), "joined": (0, 0)},
        {"trunk step 1": "weights"},
        delta=36 + 4 * 32,
    ),
    Mutation(
        "rewire",
        (('from = ["words", "nums", "more"]', 'from = ["words", "nums"]'),),
        (("rewired", "joined"),),
        {"joined": (0, 0)},
        {"trunk step 1": "weights"},
        delta=-16 * 32,
        findings=("MS205", "MS206"),
    ),
    Mutation(
        "reorder_merge",
        (('from = ["words", "nums", "more"]', 'from = ["nums", "words", "more"]'),),
        (("rewired", "joined"),),
        {"joined": (0, 0)},
    ),
    Mutation(
        "merge_type",
        (('type = "Concatenate"', 'type = "Add"'),),
        (("type", "joined"),),
        {"joined": (0, 0)},
        {"trunk step 1": "weights"},
        delta=-32 * 32,
    ),
    Mutation(
        "unshare",
        ((MORE, UNSHARED_MORE),),
        (("shared", "more step 1"),),
        {"more step 1": (0, 144)},
        delta=144,
    ),
    Mutation(
        "share",
        ((MORE, UNSHARED_MORE),),
        (("shared", "more step 1"),),
        {"more step 1": (144, 0)},
        delta=-144,
        reverse=True,
    ),
    Mutation(
        "shared_layer",
        (("units = 16\nactivation", "units = 24\nactivation"),),
        (("params", "nums"), ("params", "more step 1")),
        {"nums": (144, 8 * 24 + 24), "more step 1": (0, 0)},
        {"more step 2": "shape", "joined": "shape", "trunk step 1": "weights"},
        delta=(8 * 24 + 24 - 144) + 16 * 32,
    ),
    Mutation(
        "loss",
        (('loss = "binary_crossentropy"', 'loss = "mse"'),),
        (("loss", "score"),),
        findings=("MS705",),
    ),
    Mutation(
        "metrics",
        (('metrics = ["accuracy"]', 'metrics = ["accuracy", "auc"]'),),
        (("metrics", "score"),),
    ),
    Mutation(
        "optimizer",
        (('optimizer = "adam"', 'optimizer = { type = "SGD", learning_rate = 0.01 }'),),
        (("compile", None),),
    ),
    Mutation(
        "input_shape",
        (("[inputs.text]\nshape = [20]", "[inputs.text]\nshape = [30]"),),
        (("params", "text"),),
        {"text": (0, 0)},
        {"words step 1": "shape"},
    ),
    Mutation(
        "rename_and_edit",
        (
            (
                '[branches.trunk]\nfrom = "joined"\nlayers = [\n  ' + TRUNK_DENSE,
                '[branches.body]\nfrom = "joined"\nlayers = [\n  ' + TRUNK_DENSE.replace("32", "40"),
            ),
            ('from = "trunk"', 'from = "body"'),
            ('from = "trunk"', 'from = "body"'),
        ),
        (("renamed", "body"), ("params", "body step 1")),
        {"body step 1": (1_568, 48 * 40 + 40)},
        {"body step 2": "shape", "score": "weights", "rating": "weights"},
        delta=(48 * 40 + 40 - 1_568) + 8 + 40,
    ),
]
