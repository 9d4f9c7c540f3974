"""The balance verdicts (MS603, MS604) against planted signals: they fire when they should, and only then.

The rules first, on recorded shares (no Keras); then a few cells of the
planted-signal matrix of benchmarks/balance_matrix.py, trained on small data:
each cell's verdicts are judged as the benchmark judges them (docs/explain.md
gives the whole matrix).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from mspec import check_text
from mspec.graph.merge_points import balance_points

from support.paths import ROOT

TWO_BRANCHES = """
[model]
name = "pair"
[inputs.a]
shape = [4]
[inputs.b]
shape = [512]
[branches.narrow]
from = "a"
layers = [{ type = "Dense", units = 8 }]
[branches.wide]
from = "b"
layers = [{ type = "Dense", units = 1024 }]
[merges.joined]
type = "Concatenate"
from = ["narrow", "wide"]
[outputs.y]
from = "joined"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
"""


def _judged(position: int, shares: list[float], before: float | None = None):
    from mspec.training.verdicts import judge

    (point,) = balance_points(check_text(TWO_BRANCHES).graph)
    initial = None if before is None else {point.key(position): before}
    return judge(point, position, shares, 0.9, initial)


def test_widths_at_the_merge_are_known_before_any_run() -> None:
    (point,) = balance_points(check_text(TWO_BRANCHES).graph)
    assert point.widths == (8, 1024)
    assert point.widest(1) and not point.widest(0)


# Shares of the churn example's Embedding branch (specs/churn.toml, 4,000 rows, 50 steps an epoch):
# under 1 % for three epochs, growing about tenfold an epoch, 8 % by the sixth.
CHURN_EMBEDDING = [0.0001, 0.0009, 0.008, 0.032, 0.062, 0.080]


@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_a_share_still_growing_is_not_a_dead_input(epochs: int) -> None:
    assert _judged(0, CHURN_EMBEDDING[:epochs]) is None


def test_a_share_that_stays_low_is_a_dead_input_once_two_epochs_are_judged() -> None:
    assert _judged(0, [0.004]) is None and _judged(0, [0.004, 0.004]) is None  # nothing judged yet
    verdict = _judged(0, [0.004, 0.004, 0.003, 0.003])
    assert verdict.code == "MS604" and "'narrow'" in verdict.message
    assert "0.3% at most over the last 2 epochs" in verdict.message


# Measured in benchmarks/balance_matrix.py (seed 0): an 8-wide Embedding branch carrying a third of the
# signal next to a 1,024-wide Dense one, its first 4 epochs (it passes 1 % at the sixth), and one of
# noise in the same place (it never does).
STARVED = [0.0003, 0.0017, 0.0058, 0.0062]
IGNORED = [3.8e-6, 2.2e-6, 8.2e-6, 1.4e-5]


def test_a_low_share_is_dead_only_if_its_growth_would_not_lift_it_past_one_percent() -> None:
    # Under 1 % in both judged epochs, and barely moving between them, but grown 20 times in 4 epochs.
    assert _judged(0, STARVED) is None
    verdict = _judged(0, IGNORED)
    assert verdict.code == "MS604"
    assert (
        "0.0014% at most over the last 2 epochs; at the rate it grew, 0.0033% after 2 more" in verdict.message
    )


def test_a_share_of_exactly_zero_is_a_dead_input_after_one_epoch() -> None:
    verdict = _judged(0, [0.0])
    assert verdict.code == "MS604" and "none of the gradient" in verdict.message
    assert "does not vary" in verdict.hint
    assert _judged(0, [0.0, 1e-9]) is None  # not zero: judged like any other share


def test_a_wide_branch_dominant_from_the_start_is_told_to_narrow() -> None:
    verdict = _judged(1, [0.95, 0.96, 0.97, 0.97], before=0.97)
    assert verdict.code == "MS603" and verdict.cause == "width"
    assert "widest branch at the merge (1,024 of the 1,032 values" in verdict.message
    assert "97% already before training" in verdict.message and verdict.hint.startswith("narrow 'wide'")


def test_a_branch_whose_share_grew_may_carry_the_signal() -> None:
    # The user's case: the narrowest branch alone carries the signal and takes 95 %.
    verdict = _judged(0, [0.7, 0.9, 0.94, 0.95], before=0.04)
    assert verdict.code == "MS603" and verdict.cause == "signal"
    assert "not the widest (8 of the 1,032" in verdict.message and "grew from 4%" in verdict.message
    assert verdict.hint.startswith("it may simply carry the signal") and "narrow" not in verdict.hint
    # The widest branch too, when its share grew as it learnt: what it carries, not its width.
    verdict = _judged(1, [0.93, 0.95, 0.96, 0.96], before=0.6)
    assert "it is the widest" in verdict.message and verdict.cause == "signal"


def test_a_narrow_branch_dominant_from_the_start_is_told_to_normalize() -> None:
    verdict = _judged(0, [0.95, 0.95, 0.95], before=0.96)
    assert "the scale of its values" in verdict.message and verdict.hint.startswith("normalize the branches")


def test_a_dominance_that_fades_or_is_too_early_is_not_reported() -> None:
    assert _judged(1, [0.99, 0.97], before=0.97) is None  # one epoch judged
    assert _judged(1, [0.99, 0.97, 0.96, 0.80], before=0.97) is None  # under the threshold at the end


def _diagnostics(narrow: list[float], before: float) -> list[str]:
    from mspec.training.verdicts import balance_diagnostics

    result = check_text(TWO_BRANCHES)
    (point,) = balance_points(result.graph)
    history = {point.key(0): narrow, point.key(1): [1 - v for v in narrow]}
    initial = {point.key(0): 1 - before, point.key(1): before}
    found = balance_diagnostics([point], history, 0.9, result.document, initial)
    return [f"{d.code} {d.message}" for d in found]


def test_a_branch_starved_by_a_wider_one_is_named_by_ms603_not_called_dead() -> None:
    # The wide branch took 97 % before training and keeps it: the narrow one may carry anything.
    (found,) = _diagnostics([0.004, 0.003, 0.003, 0.003], before=0.97)
    assert found.startswith("MS603 branch 'wide'") and "it overwhelms 'narrow' (0.3%)" in found
    # A share of exactly 0 is no matter of balance: the branch does not vary at all.
    found = _diagnostics([0.0, 0.0, 0.0, 0.0], before=0.97)
    assert sorted(f.split()[0] for f in found) == ["MS603", "MS604"]
    # When the dominant branch grew by learning, the other one is judged on its own.
    found = _diagnostics([0.004, 0.003, 0.003, 0.003], before=0.5)
    assert [f.split()[0] for f in found] == ["MS604", "MS603"] and "'narrow'" in found[0]


# --- the planted-signal matrix, a few cells on small data ------------------------


def _load_matrix():
    path = ROOT / "benchmarks" / "balance_matrix.py"
    spec = importlib.util.spec_from_file_location("balance_matrix", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


# Fewer rows let the 512 features of noise of the wide Dense input be memorised, which moves the
# shares; 1,200 keep the verdicts of the 2,000-row matrix.
ROWS = 1200
# (kind, signal in, epochs): the cells of the issue, and the `none` cells that say what width alone does.
CELLS = [
    ("mixed", "narrowest", 2),  # the churn example: an Embedding branch next to Dense ones
    ("mixed", "narrowest", 20),
    ("mixed", "none", 20),
    ("embedding", "narrowest", 2),
    ("embedding", "narrowest", 20),  # the user's case: the 8-wide branch alone carries the signal
    ("embedding", "none", 20),
]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("keras")
    module = _load_matrix()
    folder = tmp_path_factory.mktemp("matrix")
    cells = [module.run_cell(kind, signal, epochs, ROWS, 0, folder) for kind, signal, epochs in CELLS]
    module.judge(cells)
    print(module.render(cells, markdown=False))  # shown by pytest for a failing test
    return {(c.kind, c.signal, c.epochs): c for c in cells}


def _fired(cell) -> list[str]:
    return [f"{v.code} {v.branch}" + (f" ({v.cause})" if v.cause else "") for v in cell.verdicts]


@pytest.mark.keras
@pytest.mark.slow
def test_no_verdict_fires_where_it_should_not(matrix) -> None:
    assert {key: cell.wrong for key, cell in matrix.items() if cell.wrong} == {}


@pytest.mark.keras
@pytest.mark.slow
def test_a_branch_carrying_the_signal_is_not_called_dead(matrix) -> None:
    # The Embedding branch carries the whole signal; after 2 epochs its share is under 1 % (what the
    # rule before this one called a dead input); after 20 it is starved by the 1,024-wide branch of
    # noise, which MS603 names.
    short, long = matrix[("mixed", "narrowest", 2)], matrix[("mixed", "narrowest", 20)]
    assert max(short.shares["narrow"]) < 0.01 and max(long.shares["narrow"]) < 0.01, long.shares
    assert not [v for c in (short, long) for v in c.verdicts if v.code == "MS604"], _fired(long)
    assert _fired(long) == ["MS603 wide (width)"]


@pytest.mark.keras
@pytest.mark.slow
def test_the_dominant_branch_is_named_with_its_cause(matrix) -> None:
    # The narrowest branch carries the signal alone: it may simply carry the signal, not "narrow".
    assert "MS603 narrow (signal)" in _fired(matrix[("embedding", "narrowest", 20)])
    # A 1,024-wide branch of noise next to the narrow signal-carrying one: narrow it.
    assert "MS603 wide (width)" in _fired(matrix[("mixed", "narrowest", 20)])


@pytest.mark.keras
@pytest.mark.slow
def test_verdicts_fire_where_they_should(matrix) -> None:
    missed = {key: cell.missed for key, cell in matrix.items() if cell.epochs == 20}
    # MS603 misses nothing; MS604 finds a branch of noise the model ignores (not those it fits, nor
    # those a wider branch starves: MS603 names these).
    assert not [m for found in missed.values() for m in found if m.startswith("MS603")], missed
    assert "MS604 wide" in _fired(matrix[("embedding", "narrowest", 20)])


@pytest.mark.keras
@pytest.mark.slow
def test_a_constant_input_is_dead_after_two_epochs(tmp_path: Path) -> None:
    from mspec.training import fit

    module = _load_matrix()
    data = module.planted("dense", "narrowest", ROWS, 0)
    data["middle_in"] = np.zeros_like(data["middle_in"])  # carries nothing at all
    (tmp_path / "spec.toml").write_text(module.spec_text("dense", 2, 0))
    np.savez(tmp_path / "data.npz", **data)
    fitted = fit(tmp_path / "spec.toml", tmp_path / "data.npz", verbose=0, log=lambda _: None)
    dead = [w for w in fitted.warnings if w.code == "MS604"]
    assert [w.message.split("'")[1] for w in dead] == ["middle"], [w.format() for w in fitted.warnings]
    assert "none of the gradient" in dead[0].message
    assert fitted.history["balance/joined/middle"] == [0.0, 0.0]
