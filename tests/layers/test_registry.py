"""The lazy registry's index matches what the layer modules register."""

from __future__ import annotations

import subprocess
import sys

from mspec.layers import KIND_MODULES, REGISTRY, KindsWith, Trait, index_source, load_all
from mspec.layers.weights import ROLES, weight_of

from support.golden import check_golden
from support.paths import ROOT


def test_index_matches_registrations() -> None:
    registered = load_all()
    assert sorted(registered) == sorted(KIND_MODULES)
    for name, kind in registered.items():
        assert kind.params.__module__ == f"mspec.layers.{KIND_MODULES[name]}", name


def test_lookup_loads_only_the_needed_module() -> None:
    probe = (
        "import sys\n"
        "from mspec.layers import REGISTRY\n"
        "assert REGISTRY['Dense'].name == 'Dense'\n"
        "print(sorted(m for m in sys.modules if m.startswith('mspec.layers.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = done.stdout.strip()
    assert "mspec.layers.core" in loaded
    assert "mspec.layers.convolutional" not in loaded and "mspec.layers.rnn" not in loaded


def test_unknown_names_are_missing() -> None:
    assert "Dens" not in REGISTRY
    assert REGISTRY.get("Dens") is None
    assert REGISTRY.get(42) is None


def test_every_kind_states_its_traits() -> None:
    # An empty set is a statement too: a new kind must say what it does before any check reads it.
    registry = load_all()
    unstated = sorted(name for name, kind in registry.items() if kind.traits is None)
    assert not unstated, f"kinds that do not state their traits: {unstated}"
    for name, kind in registry.items():
        assert isinstance(kind.traits, frozenset) and all(isinstance(t, Trait) for t in kind.traits), name
        if Trait.ADAPTS in kind.traits:
            # The state is a parameter, or a property of the parameters (a vocabulary's tokens).
            assert kind.adapt_state in {*kind.params.model_fields, *dir(kind.params)}, name


def test_every_weight_argument_belongs_to_a_declared_weight() -> None:
    # Declared once with its rank rule (mspec.layers.weights), not as loose fields validation cannot place.
    for name, kind in load_all().items():
        arguments = [
            field
            for field in kind.params.model_fields
            if field.endswith(tuple(f"_{role}" for role in ROLES)) and field != "activity_regularizer"
        ]
        undeclared = [a for a in arguments if weight_of(kind.params, a) is None]
        assert not undeclared, f"{name}: weight arguments outside a declared weight: {undeclared}"


def test_kinds_with_a_trait_load_only_the_kind_asked_about() -> None:
    probe = (
        "import sys\n"
        "from mspec.layers import KindsWith, Trait\n"
        "assert 'Dropout' in KindsWith(Trait.PASSES_IDS)\n"
        "assert 'Dense' not in KindsWith(Trait.PASSES_IDS)\n"
        "print(sorted(m for m in sys.modules if m.startswith('mspec.layers.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = done.stdout.strip()
    assert "mspec.layers.regularization" in loaded and "mspec.layers.core" in loaded
    assert "mspec.layers.convolutional" not in loaded and "mspec.layers.rnn" not in loaded
    assert set(KindsWith(Trait.TAKES_IDS)) == {"CategoryEncoding", "Embedding", "ReversibleEmbedding"}


def test_index_is_current(update_golden: bool) -> None:
    # Regenerate with `python -m mspec.backends.docgen` (or pytest --update-golden) after adding a kind.
    check_golden(ROOT / "compiler" / "mspec" / "layers" / "index.py", index_source(), update_golden)
