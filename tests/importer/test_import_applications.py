"""Every keras.applications architecture imports, rebuilds, and predicts the same with its weights.

For each architecture (weights=None, the smallest input it allows, 10
classes, logits out): `mspec import` of its saved configuration, a build of
the imported spec, the original weights copied layer by layer, and then equal
parameter counts, layer names and classes in order, every layer's output
shape, and logits within 1e-5 (absolute and relative to their size). The
same comparison before the copy differs, so the comparison can fail.
`python tests/support/keras_applications.py` prints the table.
"""

from __future__ import annotations

import pytest

from support.keras_applications import ARCHITECTURES, TOLERANCE, architectures, compare

pytestmark = [pytest.mark.keras, pytest.mark.slow]


def test_every_architecture_keras_has_is_compared():
    pytest.importorskip("keras")
    assert architectures() == sorted(ARCHITECTURES)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architecture_imports_and_predicts_the_same(name: str) -> None:
    pytest.importorskip("keras")
    outcome = compare(name)
    assert outcome.imported, outcome.diagnostics
    assert outcome.same_parameters
    assert not outcome.same_layers
    assert not outcome.same_shapes
    assert outcome.max_difference <= TOLERANCE
    assert outcome.relative_difference <= TOLERANCE
    assert outcome.relative_before_copy > 1e-3
