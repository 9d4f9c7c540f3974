"""Every layer class of `keras.layers` is a registry kind, an alias of one, or excluded with a reason.

Keras 3.15 exports 143 layer classes (under more names: `MaxPool2D` is
`MaxPooling2D`): 133 are supported and 10 excluded (`mspec.layers.exclusions`,
printed at the end of docs/layers.md). Run with `-s` to see the counts.

And every kind of the core families (`support.explicit_cases.FAMILIES`) has
differential cases: hand-written ones Keras accepts and refuses, and a
strategy for generated ones.
"""

from __future__ import annotations

import inspect

import pytest

from mspec.layers import REGISTRY
from mspec.layers.exclusions import EXCLUDED
from mspec.vocabulary import LAYER_ALIASES

from support.explicit_cases import COVERED, EXPLICIT
from support.layer_strategies import KINDS

keras = pytest.importorskip("keras")

pytestmark = [pytest.mark.keras]


def layer_classes() -> dict[type, list[str]]:
    """Each layer class keras.layers exports, with the names it goes by there."""
    found: dict[type, list[str]] = {}
    for name in sorted(dir(keras.layers)):
        obj = getattr(keras.layers, name)
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer):
            found.setdefault(obj, []).append(name)
    return found


def supported(names: list[str]) -> bool:
    return any(LAYER_ALIASES.get(name, name) in REGISTRY for name in names)


def test_every_keras_layer_class_is_supported_or_excluded() -> None:
    classes = layer_classes()
    neither = sorted(
        names[0] for names in classes.values() if not supported(names) and not set(names) & set(EXCLUDED)
    )
    assert not neither, f"Keras layer classes neither supported nor excluded with a reason: {neither}"
    covered = sum(supported(names) for names in classes.values())
    print(f"\nkeras.layers: {covered} classes supported, {len(EXCLUDED)} excluded, {len(classes)} in all")
    assert covered + len(EXCLUDED) == len(classes)


def test_exclusions_are_keras_classes_the_registry_lacks() -> None:
    names = {name for names in layer_classes().values() for name in names}
    unknown = sorted(set(EXCLUDED) - names)
    assert not unknown, f"excluded names that keras.layers does not export: {unknown}"
    stale = sorted(name for name in EXCLUDED if supported([name]))
    assert not stale, f"excluded, yet supported now (remove them from EXCLUDED): {stale}"


def test_every_registry_kind_is_a_keras_layer() -> None:
    for name in REGISTRY:
        assert issubclass(getattr(keras.layers, name), keras.layers.Layer), name


def test_reasons_are_sentences_for_the_docs() -> None:
    for name, reason in EXCLUDED.items():
        assert reason and "\n" not in reason and "|" not in reason, name


@pytest.mark.parametrize("name", sorted(name for name, kind in REGISTRY.items() if kind.positional))
def test_positional_arguments_lead_the_keras_signature(name: str) -> None:
    parameters = list(inspect.signature(getattr(keras.layers, name).__init__).parameters.values())[1:]
    positional = REGISTRY[name].positional
    leading = parameters[: len(positional)]
    assert tuple(p.name for p in leading) == positional
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in leading)


# --- Differential cases of the core families --------------------------------------


def test_every_kind_has_an_explicit_case() -> None:
    covered = {case.step["type"] for case in EXPLICIT}
    missing = sorted(COVERED - covered)
    assert not missing, f"layer kinds without a differential case: {missing}"


def test_every_kind_has_a_refusal_case() -> None:
    refused = {case.step["type"] for case in EXPLICIT if not case.accepted}
    # These accept every input shape and every valid parameter value in Keras.
    always_accept = {"Identity", "Rescaling"}
    missing = sorted(COVERED - refused - always_accept)
    assert not missing, f"layer kinds without a case that Keras refuses: {missing}"


def test_every_kind_has_a_strategy() -> None:
    missing = sorted(COVERED - set(KINDS))
    assert not missing, f"layer kinds without generated differential cases: {missing}"
