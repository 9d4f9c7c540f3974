"""Every layer kind declares the dtypes it computes with (`mspec.layers.dtypes`), and has a dtype case.

Needs no Keras, so that a new kind without a declaration fails the fast suite too; what the
declarations say is checked against Keras in test_layer_dtypes_vs_keras.py.
"""

from __future__ import annotations

from mspec.layers import load_all
from mspec.layers.dtypes import DECLARATIONS, WRAPPERS

from support.dtype_cases import STEPS


def test_every_kind_has_a_declaration_and_a_dtype_case() -> None:
    kinds = {name for name, kind in load_all().items() if not kind.is_cell}
    undeclared = kinds - set(DECLARATIONS) - WRAPPERS
    assert not undeclared, f"kinds without a dtype declaration: {sorted(undeclared)}"
    assert not set(DECLARATIONS) - kinds, f"declarations of no kind: {sorted(set(DECLARATIONS) - kinds)}"
    assert set(STEPS) == kinds, (
        f"kinds without a dtype case, or cases of no kind: {sorted(kinds ^ set(STEPS))}"
    )
