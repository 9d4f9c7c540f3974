"""The semantic diff of two models: match their nodes, then say what changed and what follows from it.

Matching, in three steps:

1. Shared layers, then every other entry of the spec (input, branch, merge,
   output) by name, in its own section.
2. Entries left over are matched by structure, walking NEW's entries in
   dependency order so that what an entry reads is matched before it: an
   entry of OLD with the same definition reading the same (matched) entries
   was renamed. Failing that, one with the same layer types in order (or,
   for a merge, the same inputs), when it is the only one, was renamed and
   edited; and so was one that a matched entry reads at the same place,
   reading the same in turn (`_by_readers`). A few rounds of both.
3. The steps of two matched chains (branches, output heads) are aligned like
   the lines of a text diff, each step by its layer and effective parameters,
   so that a step put in or taken out leaves the others matched; steps in a
   replaced stretch are paired in order, by layer type when the counts differ.

What changed is then read off the matched pairs (the edits: a parameter, a
layer type, a shared layer, what an entry reads, a loss ...), and the nodes
matched without an edit whose shape or weight count changed all the same are
the consequences of an edit upstream.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from ..diagnostics import Diagnostic
from .model import ModelView, NodeView
from .values import loose, param_changes

# The kinds of change, in the order a node's changes are listed.
KINDS = (
    "renamed",
    "added",
    "removed",
    "type",
    "params",
    "shared",
    "rewired",
    "loss",
    "metrics",
    "model",
    "compile",
    "train",
    "search",
    "tune",
    "lint",
)


# The sections of a spec that are settings of the whole model, not nodes.
SETTINGS = frozenset({"model", "compile", "train", "search", "tune", "lint"})
# The changes that make a node edited: its shape and weights then follow from it, not from upstream.
NODE_EDITS = frozenset({"added", "type", "params", "shared", "rewired"})


@dataclass
class Change:
    """One edit, as a reader would name it: what kind, to which node, from what to what."""

    kind: str
    node: str | None  # the node (or entry) as a reader knows it; None for a whole-spec section
    section: str  # inputs, shared, branches, merges, outputs; or one of SETTINGS
    id: str | None = None  # the node in NEW's graph (for `removed`, in OLD's)
    old_id: str | None = None  # the node in OLD's graph
    layer: str | None = None  # the layer as NEW has it (OLD for `removed`): "Dense(64, relu)"
    old_layer: str | None = None
    old_node: str | None = None  # `renamed`: the old name
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # name -> (old, new)
    inputs: tuple[list[str], list[str]] | None = None  # `rewired`: the names read, before and after
    shared: str | None = None  # the shared layer the node uses (`params` of a shared layer)
    output: str | None = None  # the output a loss or metric change is about
    shape: tuple[Any, Any] = (None, None)  # the node's output shape before and after
    weights: tuple[int | None, int | None] = (None, None)  # its weight count before and after

    @property
    def weight_delta(self) -> int | None:
        old, new = self.weights
        if self.kind == "added":
            old = 0
        elif self.kind == "removed":
            new = 0
        return None if old is None or new is None else new - old


@dataclass
class Consequence:
    """A node not edited whose shape or weight count changed because of an edit upstream."""

    node: str
    id: str
    old_id: str
    layer: str
    shape: tuple[Any, Any]
    weights: tuple[int | None, int | None]

    @property
    def weight_delta(self) -> int | None:
        old, new = self.weights
        return None if old is None or new is None else new - old


@dataclass
class ModelDiff:
    """What changing OLD into NEW does to the model."""

    old: ModelView
    new: ModelView
    changes: list[Change] = field(default_factory=list)
    consequences: list[Consequence] = field(default_factory=list)
    new_findings: list[Diagnostic] = field(default_factory=list)  # lint findings NEW has and OLD had not
    resolved_findings: list[Diagnostic] = field(default_factory=list)  # OLD's findings that NEW has not
    matched: dict[str, str] = field(default_factory=dict)  # NEW node id -> OLD node id
    renamed: dict[str, str] = field(default_factory=dict)  # NEW entry name -> OLD name, when they differ
    # The checks the views were made from, when made in this process (the diagram draws NEW's graph).
    old_result: Any = field(default=None, repr=False, compare=False)
    new_result: Any = field(default=None, repr=False, compare=False)

    @property
    def same(self) -> bool:
        """Whether the two models are the same (findings apart: they follow from the models)."""
        return not self.changes

    @property
    def weights(self) -> tuple[int | None, int | None]:
        return self.old.weights, self.new.weights

    @property
    def weight_delta(self) -> int | None:
        old, new = self.weights
        return None if old is None or new is None else new - old

    @property
    def edits(self) -> list[Change]:
        """The changes made to nodes and entries (not to the whole-spec sections)."""
        return [c for c in self.changes if c.section not in SETTINGS]

    def to_json(self) -> dict[str, Any]:
        from .report import to_json

        return to_json(self)

    def text(self) -> str:
        from .report import to_text

        return to_text(self)

    def markdown(self) -> str:
        from .report import to_markdown

        return to_markdown(self)

    def diagram(self, fmt: str = "svg", *, rankdir: str = "TB", collapse: bool = False) -> bytes:
        """NEW drawn with the changes marked: svg, png, pdf, dot or mermaid (as `mspec draw` draws)."""
        from .report import diagram

        return diagram(self, fmt, rankdir=rankdir, collapse=collapse)


# --- Matching --------------------------------------------------------------------------------


@dataclass
class _Matching:
    """Entries of NEW matched to OLD's, both ways (shared layers apart: they are no tensors)."""

    new_to_old: dict[str, str] = field(default_factory=dict)
    old_to_new: dict[str, str] = field(default_factory=dict)
    shared_new_to_old: dict[str, str] = field(default_factory=dict)
    shared_old_to_new: dict[str, str] = field(default_factory=dict)

    def pair(self, old: str, new: str, shared: bool = False) -> None:
        if shared:
            self.shared_new_to_old[new], self.shared_old_to_new[old] = old, new
        else:
            self.new_to_old[new], self.old_to_new[old] = old, new


def _old_source(view: ModelView, name: str) -> Any:
    """A name an entry of OLD reads, as compared: itself, or ("?", name) when no entry has it."""
    return name if name in view.entities else ("?", name)


def _new_source(view: ModelView, matching: _Matching, name: str) -> Any:
    """A name an entry of NEW reads, as OLD calls it; ("+", name) for a new entry, ("?", name) for none."""
    if name in matching.new_to_old:
        return matching.new_to_old[name]
    return ("+", name) if name in view.entities else ("?", name)


def _shared_name(view: ModelView, shared_map: dict[str, str] | None, name: str | None) -> Any:
    """A shared layer a step uses, as OLD calls it (shared_map None: a step of OLD itself)."""
    if name is None:
        return None
    if name not in view.shared:
        return ("?", name)  # an unknown shared layer (MS208): the same name on both sides
    if shared_map is None:
        return name
    return shared_map.get(name, ("+", name))


def _step_key(view: ModelView, node: NodeView, shared_map: dict[str, str] | None) -> Any:
    """What aligns a step: its layer and parameters, or the shared layer it uses (OLD's name for it)."""
    if node.shared is None:
        return node.key
    return ("shared", _shared_name(view, shared_map, node.shared))


def _step_type(view: ModelView, node: NodeView, shared_map: dict[str, str] | None) -> Any:
    if node.shared is not None:
        return _step_key(view, node, shared_map)
    return node.layer


def _content(view: ModelView, name: str, shared_map: dict[str, str] | None) -> tuple[Any, Any]:
    """An entry's own definition (exact, and loose: None when only an exact match will do)."""
    entity = view.entities[name]
    if entity.section == "inputs":
        return tuple(canon for canon, _ in entity.attrs.values()), None
    if entity.section == "merges":
        values = entity.values or {}
        return (entity.layer, tuple((k, loose(v)) for k, v in values.items())), ()
    steps = [view.nodes[node_id] for node_id in entity.nodes]
    exact = tuple(_step_key(view, step, shared_map) for step in steps)
    return exact, tuple(_step_type(view, step, shared_map) for step in steps)


def _entity_order(view: ModelView) -> list[str]:
    """NEW's entries (shared layers apart), each after the entries it reads; ties in spec order."""
    names = list(view.entities)
    position = {name: i for i, name in enumerate(names)}
    readers: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}
    for name in names:
        sources = {s for s in view.entities[name].sources if s in position and s != name}
        waiting[name] = len(sources)
        for source in sources:
            readers.setdefault(source, []).append(name)
    ready = [(position[name], name) for name in names if waiting[name] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for reader in readers.get(name, ()):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, (position[reader], reader))
    placed = set(order)
    return order + [name for name in names if name not in placed]  # entries on a cycle


class _Candidates:
    """OLD's unmatched entries by key, each list in spec order; matched ones are skipped lazily."""

    def __init__(self) -> None:
        self.by_key: dict[Any, deque[str]] = {}

    def add(self, key: Any, name: str) -> None:
        self.by_key.setdefault(key, deque()).append(name)

    def first(self, key: Any, taken: dict[str, str]) -> str | None:
        queue = self.by_key.get(key)
        while queue and queue[0] in taken:
            queue.popleft()
        return queue[0] if queue else None

    def only(self, key: Any, taken: dict[str, str]) -> str | None:
        queue = self.by_key.get(key)
        if not queue:
            return None
        left = [name for name in queue if name not in taken]
        return left[0] if len(left) == 1 else None


def _match_shared(old: ModelView, new: ModelView, matching: _Matching) -> None:
    old_shared, new_shared = list(old.shared.values()), list(new.shared.values())
    old_names = {e.name for e in old_shared}
    for entity in new_shared:
        if entity.name in old_names:
            matching.pair(entity.name, entity.name, shared=True)
    exact, by_layer = _Candidates(), _Candidates()

    def key(entity) -> Any:
        values = entity.values or {}
        return (entity.layer, tuple((k, loose(v)) for k, v in values.items()))

    for entity in old_shared:
        if entity.name not in matching.shared_old_to_new:
            exact.add(key(entity), entity.name)
            by_layer.add(entity.layer, entity.name)
    for entity in new_shared:
        if entity.name in matching.shared_new_to_old:
            continue
        found = exact.first(key(entity), matching.shared_old_to_new)
        if found is None:
            found = by_layer.only(entity.layer, matching.shared_old_to_new)
        if found is not None:
            matching.pair(found, entity.name, shared=True)


def _match_entities(old: ModelView, new: ModelView) -> _Matching:
    matching = _Matching()
    _match_shared(old, new, matching)
    for name, entity in new.entities.items():
        before = old.entities.get(name)
        if before is not None and before.section == entity.section:
            matching.pair(name, name)
    exact, similar = _Candidates(), _Candidates()
    for name, entity in old.entities.items():
        if name in matching.old_to_new:
            continue
        content, rough = _content(old, name, None)
        sources = tuple(_old_source(old, s) for s in entity.sources)
        exact.add((entity.section, content, sources), name)
        if rough is not None:
            similar.add((entity.section, rough, sources), name)
    order = _entity_order(new)
    for _ in range(MATCHING_ROUNDS):
        matched = len(matching.new_to_old)
        _by_structure(old, new, matching, order, exact, similar)
        _by_readers(old, new, matching)
        if len(matching.new_to_old) == matched:
            break
    return matching


# Each round of matching by structure and by readers may let the next match more (an entry
# renamed and edited, read by one renamed in turn); a few rounds settle any real change.
MATCHING_ROUNDS = 4


def _by_structure(old, new, matching: _Matching, order: list[str], exact, similar) -> None:
    """NEW's unmatched entries, in dependency order, each to OLD's entry of the same definition."""
    shared_map = matching.shared_new_to_old
    for name in order:
        if name in matching.new_to_old:
            continue
        entity = new.entities[name]
        content, rough = _content(new, name, shared_map)
        sources = tuple(_new_source(new, matching, s) for s in entity.sources)
        found = exact.first((entity.section, content, sources), matching.old_to_new)
        if found is None and rough is not None:
            found = similar.only((entity.section, rough, sources), matching.old_to_new)
        if found is not None:
            matching.pair(found, name)


def _by_readers(old: ModelView, new: ModelView, matching: _Matching) -> None:
    """Two unmatched entries that a matched entry reads at the same place, reading the same in turn.

    A branch renamed and given another layer is read where the old one was:
    `from = ["flat", "b"]` became `from = ["pooled", "b"]`, both branches of
    `tokens`: pooled is flat renamed (and edited), not a branch removed and another added.
    """
    for new_name, entity in new.entities.items():
        old_name = matching.new_to_old.get(new_name)
        if old_name is None:
            continue
        for old_source, new_source in zip(old.entities[old_name].sources, entity.sources, strict=False):
            if old_source in matching.old_to_new or new_source in matching.new_to_old:
                continue
            before, after = old.entities.get(old_source), new.entities.get(new_source)
            if before is None or after is None or before.section != after.section:
                continue
            reads_before = tuple(_old_source(old, s) for s in before.sources)
            reads_after = tuple(_new_source(new, matching, s) for s in after.sources)
            if reads_before == reads_after:
                matching.pair(old_source, new_source)


def _align(
    old: ModelView, new: ModelView, old_steps, new_steps, shared_map
) -> list[tuple[str | None, str | None]]:
    """Pair two chains' steps like lines of a text diff: (old id, new id), None on the side without it.

    The steps kept are a longest common subsequence of the two (so a step taken
    out is one removal, even amid repeated layers); between two kept steps,
    the steps left on both sides were replaced and are paired (`_pair_by_type`).
    """
    old_keys = [_step_key(old, old.nodes[s], None) for s in old_steps]
    new_keys = [_step_key(new, new.nodes[s], shared_map) for s in new_steps]
    pairs: list[tuple[str | None, str | None]] = []
    i = j = 0
    for keep_i, keep_j in [*_common(old_keys, new_keys), (len(old_keys), len(new_keys))]:
        olds, news = old_steps[i:keep_i], new_steps[j:keep_j]
        if len(olds) == len(news):
            pairs += zip(olds, news, strict=True)
        else:
            pairs += _pair_by_type(old, new, olds, news, shared_map)
        if keep_i < len(old_keys):
            pairs.append((old_steps[keep_i], new_steps[keep_j]))
        i, j = keep_i + 1, keep_j + 1
    return pairs


# Beyond this many cells, the middle of two chains is aligned by difflib (not always the fewest edits).
LCS_CELLS = 250_000


def _common(a: list, b: list) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of a and b: common ends, then dynamic programming."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    middle: list[tuple[int, int]] = []
    rows, cols = end_a - start, end_b - start
    if rows and cols and rows * cols <= LCS_CELLS:
        # lengths[i][j]: the longest common subsequence of a[start+i:end_a] and b[start+j:end_b].
        lengths = [[0] * (cols + 1) for _ in range(rows + 1)]
        for i in range(rows - 1, -1, -1):
            row, below = lengths[i], lengths[i + 1]
            item = a[start + i]
            for j in range(cols - 1, -1, -1):
                row[j] = below[j + 1] + 1 if item == b[start + j] else max(below[j], row[j + 1])
        i = j = 0
        while i < rows and j < cols:
            if a[start + i] == b[start + j]:
                middle.append((start + i, start + j))
                i, j = i + 1, j + 1
            elif lengths[i + 1][j] >= lengths[i][j + 1]:
                i += 1
            else:
                j += 1
    elif rows and cols:
        matcher = SequenceMatcher(None, a[start:end_a], b[start:end_b], autojunk=False)
        for block in matcher.get_matching_blocks():
            middle += [(start + block.a + k, start + block.b + k) for k in range(block.size)]
    prefix = [(k, k) for k in range(start)]
    suffix = [(end_a + k, end_b + k) for k in range(len(a) - end_a)]
    return prefix + middle + suffix


def _pair_by_type(old, new, olds, news, shared_map) -> list[tuple[str | None, str | None]]:
    """In a stretch of steps replaced by a different number of steps, pair those of one type, in order."""
    pairs: list[tuple[str | None, str | None]] = []
    start = 0
    for new_id in news:
        kind = _step_type(new, new.nodes[new_id], shared_map)
        found = next(
            (i for i in range(start, len(olds)) if _step_type(old, old.nodes[olds[i]], None) == kind), None
        )
        if found is None:
            pairs.append((None, new_id))
            continue
        pairs += [(o, None) for o in olds[start:found]]
        pairs.append((olds[found], new_id))
        start = found + 1
    pairs += [(o, None) for o in olds[start:]]
    return pairs


# --- What changed ----------------------------------------------------------------------------


def diff_views(old: ModelView, new: ModelView) -> ModelDiff:
    """Compare two sides: the changes, their consequences downstream, and the new lint findings."""
    matching = _match_entities(old, new)
    result = ModelDiff(old, new)
    result.renamed = {n: o for n, o in matching.new_to_old.items() if n != o}
    shared_map = matching.shared_new_to_old
    removed: list[str] = []
    added: list[str] = []
    for new_name, entity in new.entities.items():
        old_name = matching.new_to_old.get(new_name)
        if old_name is None:
            added += entity.nodes
            continue
        before = old.entities[old_name]
        if entity.section in ("branches", "outputs"):
            for old_id, new_id in _align(old, new, list(before.nodes), list(entity.nodes), shared_map):
                if old_id is None:
                    added.append(new_id)
                elif new_id is None:
                    removed.append(old_id)
                else:
                    result.matched[new_id] = old_id
        else:
            for old_id, new_id in zip(before.nodes, entity.nodes, strict=True):
                result.matched[new_id] = old_id
    for old_name, entity in old.entities.items():
        if old_name not in matching.old_to_new:
            removed += entity.nodes

    changes = _Changes(old, new, matching, result)
    changes.entities()
    changes.nodes(added, removed)
    changes.settings()
    result.changes = changes.sorted()
    edited = {c.id for c in result.changes if c.kind in NODE_EDITS and c.output is None and c.id is not None}
    result.consequences = _consequences(result, edited)
    result.new_findings, result.resolved_findings = _findings(old, new)
    return result


def _consequences(result: ModelDiff, edited: set[str]) -> list[Consequence]:
    found = []
    for new_id in result.new.order:
        old_id = result.matched.get(new_id)
        if old_id is None or new_id in edited:
            continue
        before, after = result.old.nodes[old_id], result.new.nodes[new_id]
        if before.shape != after.shape or before.weights != after.weights:
            found.append(
                Consequence(
                    after.label,
                    new_id,
                    old_id,
                    after.description,
                    (before.shape, after.shape),
                    (before.weights, after.weights),
                )
            )
    return found


class _Changes:
    """Collects the changes of a diff, each with the position it is listed at."""

    def __init__(self, old: ModelView, new: ModelView, matching: _Matching, result: ModelDiff):
        self.old, self.new, self.matching, self.result = old, new, matching, result
        self.items: list[tuple[tuple, Change]] = []
        self.new_position = {node_id: i for i, node_id in enumerate(new.order)}
        # A node of OLD is listed after the NEW node matched to the last matched node before it.
        self.old_anchor: dict[str, tuple[int, int]] = {}
        anchor = -1
        old_to_new = {o: n for n, o in result.matched.items()}
        for position, node_id in enumerate(old.order):
            if node_id in old_to_new:
                anchor = self.new_position.get(old_to_new[node_id], anchor)
            self.old_anchor[node_id] = (anchor, position)

    def add(self, change: Change, *, at: str | None = None, old_at: str | None = None) -> None:
        if at is not None and at in self.new_position:
            position: tuple = (self.new_position[at], 0, 0)
        elif old_at is not None and old_at in self.old_anchor:
            anchor, old_position = self.old_anchor[old_at]
            position = (anchor, 1, old_position)
        else:
            position = (len(self.new_position) + 1, 0, 0)
        self.items.append(((*position, KINDS.index(change.kind), len(self.items)), change))

    def sorted(self) -> list[Change]:
        return [change for _, change in sorted(self.items, key=lambda item: item[0])]

    def _effect(self, change: Change, old_id: str | None, new_id: str | None) -> Change:
        """Say what the change does to its node: its shape and weight count before and after."""
        before = self.old.nodes.get(old_id) if old_id else None
        after = self.new.nodes.get(new_id) if new_id else None
        change.shape = (before.shape if before else None, after.shape if after else None)
        change.weights = (before.weights if before else None, after.weights if after else None)
        return change

    # --- entries: renamed, rewired, inputs, outputs, shared layers, added or removed alone ---

    def entities(self) -> None:
        old, new, matching = self.old, self.new, self.matching
        for new_name in new.shared:
            self._shared_entity(new_name)
        for new_name, entity in new.entities.items():
            old_name = matching.new_to_old.get(new_name)
            tensor = entity.nodes[-1] if entity.nodes else None
            if old_name is None:
                if not entity.nodes:  # an entry without nodes: an empty branch, an output of no layers
                    self.add(Change("added", new_name, entity.section), at=None)
                if entity.section == "outputs":
                    self._output(None, entity, new.outputs.get(new_name))
                continue
            before = old.entities[old_name]
            old_tensor = before.nodes[-1] if before.nodes else None
            if old_name != new_name:
                change = Change("renamed", new_name, entity.section, tensor, old_tensor, old_node=old_name)
                self.add(change, at=entity.nodes[0] if entity.nodes else None)  # before its steps' changes
            old_sources = tuple(_old_source(old, s) for s in before.sources)
            new_sources = tuple(_new_source(new, matching, s) for s in entity.sources)
            if old_sources != new_sources:
                first, old_first = (entity.nodes or (None,))[0], (before.nodes or (None,))[0]
                change = Change(
                    "rewired",
                    new_name,
                    entity.section,
                    first,
                    old_first,
                    inputs=(list(before.sources), list(entity.sources)),
                )
                self.add(self._effect(change, old_first, first), at=first)
            if entity.section == "inputs":
                params = _attr_changes(before.attrs, entity.attrs)
                if params:
                    change = Change("params", new_name, "inputs", tensor, old_tensor, "Input", params=params)
                    self.add(self._effect(change, old_tensor, tensor), at=tensor)
            elif entity.section == "outputs":
                self._output(before, entity, new.outputs.get(new_name))
        for old_name, entity in old.shared.items():
            if old_name not in matching.shared_old_to_new:
                self.add(Change("removed", old_name, "shared", layer=entity.layer))
        for old_name, entity in old.entities.items():
            if old_name not in matching.old_to_new and not entity.nodes:
                self.add(Change("removed", old_name, entity.section))

    def _shared_entity(self, name: str) -> None:
        old_name = self.matching.shared_new_to_old.get(name)
        entity = self.new.shared[name]
        if old_name is None:
            self.add(Change("added", name, "shared", layer=entity.layer))
        elif old_name != name:
            self.add(Change("renamed", name, "shared", layer=entity.layer, old_node=old_name))

    def _output(self, before, entity, tensor: str | None) -> None:
        """An output's loss (and its weight), metrics and labels column."""
        old_attrs = before.attrs if before is not None else {}
        params = _attr_changes(old_attrs, entity.attrs)
        own = entity.nodes[-1] if entity.nodes else None  # its head's last step; none without a head
        old_own = before.nodes[-1] if before is not None and before.nodes else None
        groups = {"loss": ("loss", "loss_weight"), "metrics": ("metrics",), "params": ("column",)}
        for kind, names in groups.items():
            found = {name: params[name] for name in names if name in params}
            if before is None and (kind != "loss" or found.get("loss", (None, None))[1] is None):
                continue  # an added output: its loss is worth saying, the rest follows
            if found:
                change = Change(kind, entity.name, "outputs", own, old_own, params=found, output=entity.name)
                self.add(change, at=tensor)

    # --- nodes: added, removed, layer type, parameters, shared layer use ---

    def nodes(self, added: list[str], removed: list[str]) -> None:
        old, new = self.old, self.new
        for node_id in added:
            node = new.nodes[node_id]
            change = Change("added", node.label, _section(new, node), node_id, layer=_layer(node))
            self.add(self._effect(change, None, node_id), at=node_id)
        for node_id in removed:
            node = old.nodes[node_id]
            change = Change("removed", node.label, _section(old, node), node_id, node_id, layer=_layer(node))
            self.add(self._effect(change, node_id, None), old_at=node_id)
        shared_map = self.matching.shared_new_to_old
        for new_id in new.order:
            old_id = self.result.matched.get(new_id)
            if old_id is None:
                continue
            before, after = old.nodes[old_id], new.nodes[new_id]
            if after.role == "input":
                continue  # its attributes are compared with its entry
            if before.shared is not None or after.shared is not None:
                self._shared_use(before, after, shared_map)
                continue
            self._layer_change(before, after)

    def _layer_change(
        self, before: NodeView, after: NodeView, shared: str | None = None, old_values=None, new_values=None
    ) -> None:
        section = _section(self.new, after)
        if before.layer != after.layer:
            change = Change(
                "type",
                after.label,
                section,
                after.id,
                before.id,
                after.description,
                before.description,
                shared=shared,
            )
            self.add(self._effect(change, before.id, after.id), at=after.id)
            return
        old_values = before.values if old_values is None else old_values
        new_values = after.values if new_values is None else new_values
        if old_values is None or new_values is None or old_values == new_values:
            return
        params = param_changes(old_values, new_values)
        if params:
            change = Change(
                "params",
                after.label,
                section,
                after.id,
                before.id,
                after.description,
                before.description,
                params=params,
                shared=shared,
            )
            self.add(self._effect(change, before.id, after.id), at=after.id)

    def _shared_use(self, before: NodeView, after: NodeView, shared_map: dict[str, str]) -> None:
        """A step using a shared layer on either side: a change of layer, or of the shared layer itself."""
        old_shared = _shared_name(self.old, None, before.shared)
        new_shared = _shared_name(self.new, shared_map, after.shared)
        if old_shared != new_shared:
            change = Change(
                "shared",
                after.label,
                _section(self.new, after),
                after.id,
                before.id,
                after.description,
                before.description,
                params={"shared": (before.shared, after.shared)},
            )
            self.add(self._effect(change, before.id, after.id), at=after.id)
            return
        old_layer = self.old.shared.get(before.shared or "")
        new_layer = self.new.shared.get(after.shared or "")
        if old_layer is None or new_layer is None:
            return  # an unknown shared layer: reported by the check
        if old_layer.layer != new_layer.layer:
            self._layer_change(before, after, shared=after.shared)
        elif old_layer.values is not None and new_layer.values is not None:
            self._layer_change(before, after, after.shared, old_layer.values, new_layer.values)

    # --- whole-spec sections ---

    def settings(self) -> None:
        for section in ("model", "compile", "train", "search", "tune", "lint"):
            before = self.old.settings.get(section, {}) if self.old.name is not None else None
            after = self.new.settings.get(section, {}) if self.new.name is not None else None
            if before is None or after is None:
                continue  # a spec added or deleted: its nodes say it all
            params = _attr_changes(before, after)
            if section == "model":
                params.update(self._orders())
            if params:
                self.add(Change(section, None, section, params=params))

    def _orders(self) -> dict[str, tuple[Any, Any]]:
        """The order of the inputs and outputs both sides have: the Keras model's, so how it is called."""
        orders = {}
        old_to_new, new_to_old = self.matching.old_to_new, self.matching.new_to_old
        for section in ("inputs", "outputs"):
            before = [n for n, e in self.old.entities.items() if e.section == section and n in old_to_new]
            after = [n for n, e in self.new.entities.items() if e.section == section and n in new_to_old]
            if before != [new_to_old[n] for n in after]:
                orders[f"{section} order"] = (before, after)
        return orders


def _attr_changes(
    old: dict[str, tuple[Any, Any]], new: dict[str, tuple[Any, Any]]
) -> dict[str, tuple[Any, Any]]:
    """The attributes whose canonical values differ: name -> (old shown, new shown)."""
    changed = {}
    for name in dict.fromkeys([*new, *old]):
        before, after = old.get(name, (None, None)), new.get(name, (None, None))
        if before[0] != after[0]:
            changed[name] = (before[1], after[1])
    return changed


def _section(view: ModelView, node: NodeView) -> str:
    entity = view.entities.get(node.owner)
    return entity.section if entity is not None else "?"


def _layer(node: NodeView) -> str:
    if node.shared is not None:
        return f"{node.description} shared:{node.shared}"
    return node.description


# --- Lint findings ---------------------------------------------------------------------------

_LINE = re.compile(r"\(?\bline \d+\)?")


def _finding_key(diagnostic: Diagnostic) -> tuple[str, str, str]:
    """A finding apart from where it is written: code, severity and message (line numbers left out)."""
    return diagnostic.code, diagnostic.severity.value, _LINE.sub("", diagnostic.message)


def _findings(old: ModelView, new: ModelView) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """The findings of NEW that OLD had not (as many times), and OLD's that NEW has not."""
    old_keys = Counter(_finding_key(d) for d in old.diagnostics)
    new_keys = Counter(_finding_key(d) for d in new.diagnostics)
    fresh, gone = [], []
    left = old_keys - new_keys
    extra = new_keys - old_keys
    for diagnostic in new.diagnostics:
        key = _finding_key(diagnostic)
        if extra[key] > 0:
            extra[key] -= 1
            fresh.append(diagnostic)
    for diagnostic in old.diagnostics:
        key = _finding_key(diagnostic)
        if left[key] > 0:
            left[key] -= 1
            gone.append(diagnostic)
    return fresh, gone
