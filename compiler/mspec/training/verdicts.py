"""The balance verdicts on recorded branch shares: MS603 (a branch overwhelms) and MS604 (a dead input).

No framework needed: the shares come from `balance.BalanceCallback` (during
`mspec fit`), the widths from the graph (`graph.merge_points.balance_points`).

Verdicts are given on the second half of the epochs (the judged window), and
only once it holds at least MIN_JUDGED_EPOCHS epochs: early shares move by
orders of magnitude from one epoch to the next (an Embedding branch starts
near 0 and takes a tenth of the gradient a few epochs later), so one epoch
says nothing about where they settle. docs/explain.md gives the
measurements behind the rules.

- A branch *overwhelms* the others (MS603) when its share, averaged over the
  window, and in its last epoch, is above [train] balance_threshold (default
  0.9). The hint follows the cause: when the branch is the widest at the
  merge (statically: the values per example it brings) and already took more
  than the threshold before training, its width makes it dominant: narrow
  it. When its share grew during training, it may simply carry the signal:
  `mspec explain` says whether the others add anything.
- A branch is *dead* (MS604) when its share stays below DEAD_SHARE (0.01) in
  every epoch of the window, and would still be below it after as many
  epochs again as the window holds, growing at the average rate it grew over
  the whole run (from its first epoch to its last): a branch that is still
  being learnt grows up to tenfold an epoch, one the model ignores does not.
  A branch whose share is exactly 0 in every epoch (its tensor does not vary
  over the sample, or gets no gradient) is dead however short the run: no
  training can change that.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..diagnostics import Diagnostic
from ..diagnostics.rules import FIT_BRANCH_OVERWHELMS, FIT_DEAD_INPUT, Rule
from ..graph.merge_points import MergePoint

# A branch whose share stays below this in the second half of training is a dead input.
DEAD_SHARE = 0.01
# Epochs the judged window (the second half of training) must hold before any verdict: runs of 3 or more.
MIN_JUDGED_EPOCHS = 2


def judged(epochs: int) -> bool:
    """Whether a run of `epochs` measured epochs is long enough for a verdict (its window holds enough)."""
    return epochs - epochs // 2 >= MIN_JUDGED_EPOCHS


class Verdict(NamedTuple):
    rule: Rule  # FIT_BRANCH_OVERWHELMS or FIT_DEAD_INPUT
    message: str
    hint: str
    # MS603: "width", "scale" or "signal"; MS604: "constant" (a share of exactly 0) or "ignored".
    cause: str | None = None

    @property
    def code(self) -> str:
        """The rule's code, as a diagnostic gives it."""
        return self.rule.code


def balance_diagnostics(
    points: list[MergePoint],
    history: dict[str, list[float | None]],
    threshold: float,
    document: Any,
    initial: dict[str, float | None] | None = None,
) -> list[Diagnostic]:
    """The balance warnings for recorded per-epoch shares (see the module's documentation).

    `initial` holds the shares measured before training (same keys), when known.
    """
    found: list[Diagnostic] = []
    for point in points:
        series = [history.get(point.key(position), []) for position in range(len(point.labels))]
        last = {label: _last(values) for label, values in zip(point.labels, series, strict=True)}
        verdicts = {
            position: judge(point, position, values, threshold, initial, last)
            for position, values in enumerate(series)
        }
        # A branch overwhelmed by another's width or scale is starved, not dead: MS603 names it with
        # its share, and what it carries can only be judged once the merge is balanced. One whose
        # share is exactly 0 does not vary at all: no balance changes that.
        starved = any(
            v is not None and v.rule is FIT_BRANCH_OVERWHELMS and v.cause != "signal"
            for v in verdicts.values()
        )
        for position, verdict in verdicts.items():
            if verdict is None or (starved and verdict.cause == "ignored"):
                continue
            found.append(
                verdict.rule.at(
                    document, point.from_path(position), verdict.message, verdict.hint,
                    at="value", node=point.merge,
                )
            )  # fmt: skip
    return found


def _last(values: list[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def judge(
    point: MergePoint,
    position: int,
    values: list[float | None],
    threshold: float,
    initial: dict[str, float | None] | None = None,
    last: dict[str, float | None] | None = None,
) -> Verdict | None:
    """The verdict on one branch's per-epoch shares, or None.

    `initial` holds the shares before training by key, `last` the other branches' last shares by
    label (MS603 names them).
    """
    label = point.labels[position]
    measured = [v for v in values if v is not None]
    if measured and all(v == 0.0 for v in measured):
        epochs = f"{len(measured)} epoch{'s' if len(measured) != 1 else ''}"
        return Verdict(
            FIT_DEAD_INPUT,
            f"branch {label!r} takes none of the gradient at merge {point.merge!r} (0 in all "
            f"{epochs}): nothing it carries reaches the loss, a dead input",
            "its tensor does not vary between examples, or gets no gradient: check that its data "
            "varies (a constant column, a wrong file) and that its units are not all dead",
            "constant",
        )
    window = [v for v in values[len(values) // 2 :] if v is not None]
    if len(window) < MIN_JUDGED_EPOCHS:
        return None  # too early: the shares have not settled (see the module's documentation)
    mean = sum(window) / len(window)
    if mean > threshold and window[-1] > threshold:
        before = (initial or {}).get(point.key(position))
        return _overwhelms(point, position, mean, threshold, before, last or {})
    if max(window) < DEAD_SHARE:
        projected = _projected(measured, len(window))
        if projected < DEAD_SHARE:
            return Verdict(
                FIT_DEAD_INPUT,
                f"branch {label!r} takes under {DEAD_SHARE:.0%} of the gradient at merge "
                f"{point.merge!r} ({_percent(max(window))} at most over the last {len(window)} epochs; "
                f"at the rate it grew, {_percent(projected)} after {len(window)} more): a dead input",
                "check that its data varies and carries signal; `mspec explain` measures what "
                "shuffling it costs",
                "ignored",
            )
    return None


def _percent(share: float) -> str:
    """A share as a percentage of two significant digits: 0.3%, 0.0014%."""
    return f"{share * 100:.2g}%"


def _projected(values: list[float], epochs: int) -> float:
    """The last share after `epochs` more, growing at its average rate per epoch over `values` (or flat)."""
    first = next((v for v in values if v > 0), None)
    if first is None or len(values) < 2:
        return values[-1]
    growth = max(1.0, (values[-1] / first) ** (1 / (len(values) - 1)))
    return values[-1] * growth**epochs


def _overwhelms(
    point: MergePoint,
    position: int,
    mean: float,
    threshold: float,
    before: float | None,
    last: dict[str, float | None],
) -> Verdict:
    """MS603, its hint following the cause: the branch's width (or scale), or what it learnt."""
    label = point.labels[position]
    others = ", ".join(
        repr(o) + ("" if last.get(o) is None else f" ({_percent(last[o])})")  # type: ignore[arg-type]
        for i, o in enumerate(point.labels)
        if i != position
    )
    message = (
        f"branch {label!r} takes {mean:.0%} of the gradient at merge {point.merge!r} "
        f"(above balance_threshold {threshold:g}): it overwhelms {others}"
    )
    widths = [w for w in point.widths if w is not None]
    own = point.width(position)
    size = ""
    if own is not None and len(widths) == len(point.labels):
        size = f" ({own:,} of the {sum(widths):,} values per example)"
    widest = point.widest(position)
    shape = f"it is the widest branch at the merge{size}" if widest else f"it is not the widest{size}"
    explain = "`mspec explain` measures what each input adds"
    signal = f"it may simply carry the signal: {explain}; if the others add nothing, nothing needs changing"
    # What the others carry shows only once they get gradient: MS604 waits for the merge to be balanced.
    then = "then see what the others carry"
    if before is not None and before <= threshold:
        grew = f"{message}; {shape}, and its share grew from {before:.0%} before training"
        return Verdict(FIT_BRANCH_OVERWHELMS, grew, signal, "signal")
    if widest:
        took = "" if before is None else f", and it took {before:.0%} already before training"
        return Verdict(
            FIT_BRANCH_OVERWHELMS,
            f"{message}; {shape}{took}",
            f"narrow {label!r}, or project every branch to a similar width, or normalize them "
            f"(LayerNormalization) before the merge; {then}: {explain}",
            "width",
        )
    if before is None:
        return Verdict(FIT_BRANCH_OVERWHELMS, f"{message}; {shape}", signal, "signal")
    return Verdict(
        FIT_BRANCH_OVERWHELMS,
        f"{message}; {shape}, yet it took {before:.0%} already before training: the scale of its "
        "values, not what it carries",
        f"normalize the branches (LayerNormalization) before the merge, or its input; {then}: {explain}",
        "scale",
    )
