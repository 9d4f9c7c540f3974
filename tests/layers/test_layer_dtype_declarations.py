"""Every layer kind declares the dtypes it computes with (`LayerKind.dtypes`), and has a dtype case.

Needs no Keras, so that a new kind without a declaration fails the fast suite too; what the
declarations say is checked against Keras in test_layer_dtypes_vs_keras.py.
"""

from __future__ import annotations

from mspec.layers import load_all
from mspec.layers.dtypes import Delegated, Family

from support.dtype_cases import STEPS


def test_every_kind_has_a_declaration_and_a_dtype_case() -> None:
    registry = load_all()
    undeclared = sorted(name for name, kind in registry.items() if kind.dtypes is None)
    assert not undeclared, f"kinds without a dtype declaration: {undeclared}"
    for name, kind in registry.items():
        declared = kind.dtypes
        assert isinstance(declared, Family | Delegated) or callable(declared), name
        # A cell runs inside an RNN, which declares the dtypes; only cells delegate to it.
        assert (declared is Delegated.CELL) == kind.is_cell, name
        if declared in (Delegated.WRAPPED, Delegated.WRAPPED_CAST_BACK):
            assert kind.wraps, name
    kinds = {name for name, kind in registry.items() if not kind.is_cell}
    assert set(STEPS) == kinds, (
        f"kinds without a dtype case, or cases of no kind: {sorted(kinds ^ set(STEPS))}"
    )
