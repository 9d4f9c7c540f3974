"""Read Keras' own lists of names and write mspec's static copy of them (`mspec.vocabulary.keras_names`).

mspec's lint must not import Keras, so the names Keras resolves (losses,
metrics, optimizers, activations, initializers, regularizers, constraints,
layer aliases) and the constructor arguments of each class are kept in a
generated module. `render()` produces that module from the installed Keras;
`tests/spec/test_vocabulary_vs_keras.py` checks the stored copy against it, and

    .venv/bin/python tests/support/keras_vocabulary.py

rewrites it after a Keras upgrade.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

# From this file, not from support.paths: run as a script, this module cannot import `support`.
TARGET = Path(__file__).resolve().parents[2] / "compiler" / "mspec" / "vocabulary" / "keras_names.py"

# Arguments whose kind the default value does not tell (None, or an int that may be a float).
KIND_BY_ARGUMENT = {
    "name": "str",
    "dtype": "str",
    "seed": "int",
    "average": "str",
    "threshold": "number",
    "thresholds": "value",
    "axis": "value",
    "input_axes": "value",
    "output_axes": "value",
    "class_id": "int",
    "top_k": "int",
    "num_labels": "int",
    "label_weights": "list",
    "ignore_class": "int",
    "label_smoothing": "number",
    "max_value": "number",
    "min_value": "number",
    "num_classes": "int",
    "target_class_ids": "list",
    "recall": "number",
    "precision": "number",
    "specificity": "number",
    "sensitivity": "number",
    "value": "number",
}


def _kind(name: str, default: Any) -> str:
    if name in KIND_BY_ARGUMENT:
        return KIND_BY_ARGUMENT[name]
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "str"
    if isinstance(default, list | tuple):
        return "list"
    return "value"


def arguments(cls: type) -> dict[str, str]:
    """The constructor arguments a spec may write, with their kind; "!" marks a required one."""
    result = {}
    for parameter in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or parameter.name == "fn":
            continue
        required = parameter.default is inspect.Parameter.empty
        default = None if required else parameter.default
        if callable(default):
            continue
        result[parameter.name] = _kind(parameter.name, default) + ("!" if required else "")
    return result


def defaults(cls: type) -> dict[str, Any]:
    """The constructor's default values that are plain data (what an import leaves out)."""
    result = {}
    for name, kind in arguments(cls).items():
        if kind.endswith("!"):
            continue
        default = inspect.signature(cls.__init__).parameters[name].default
        if default is None or isinstance(default, bool | int | float | str):
            result[name] = default
        elif isinstance(default, list | tuple):
            result[name] = list(default)
    return result


def _family(objects: dict[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, dict]]:
    """identifier -> class name (a function: the class of its snake-case name); class -> arguments."""
    from keras.src.utils.naming import to_snake_case

    classes = {obj.__name__: obj for obj in objects.values() if inspect.isclass(obj)}
    by_snake = {to_snake_case(name): name for name in classes}
    names = {}
    for identifier, obj in sorted(objects.items()):
        if inspect.isclass(obj):
            names[identifier] = obj.__name__
        else:
            names[identifier] = by_snake.get(obj.__name__) or by_snake.get(identifier) or ""
    ordered = sorted(classes.items())
    return names, {n: arguments(c) for n, c in ordered}, {n: defaults(c) for n, c in ordered}


def collect() -> dict[str, Any]:
    """Everything the generated module holds, read from the installed Keras."""
    import keras
    from keras.src import activations, constraints, initializers, losses, metrics, optimizers, regularizers

    from mspec.layers import KIND_MODULES

    data: dict[str, Any] = {"KERAS_VERSION": keras.__version__}
    for prefix, module in (
        ("LOSS", losses),
        ("METRIC", metrics),
        ("INITIALIZER", initializers),
        ("REGULARIZER", regularizers),
        ("CONSTRAINT", constraints),
    ):
        names, classes, default_values = _family(module.ALL_OBJECTS_DICT)
        data[f"{prefix}_NAMES"] = names
        data[f"{prefix}_CLASSES"] = classes
        data[f"{prefix}_DEFAULTS"] = default_values
    data["ACTIVATION_NAMES"] = tuple(sorted(activations.ALL_OBJECTS_DICT))
    # optimizers.get lower-cases a string and looks it up here.
    data["OPTIMIZER_STRINGS"] = tuple(sorted(optimizers.ALL_OBJECTS_DICT))
    data["OPTIMIZER_TYPES"] = tuple(
        sorted(
            name
            for name in dir(keras.optimizers)
            if inspect.isclass(getattr(keras.optimizers, name))
            and issubclass(getattr(keras.optimizers, name), keras.optimizers.Optimizer)
        )
    )
    data["LAYER_ALIASES"] = {
        name: getattr(keras.layers, name).__name__
        for name in sorted(dir(keras.layers))
        if inspect.isclass(getattr(keras.layers, name))
        and getattr(keras.layers, name).__name__ != name
        and getattr(keras.layers, name).__name__ in KIND_MODULES
    }
    return data


COMMENTS = {
    "NAMES": "identifier -> the class Keras builds from it (or the class of the function it names)",
    "CLASSES": 'class -> constructor argument -> kind (bool, int, number, str, list, value); "!": required',
    "DEFAULTS": "class -> constructor argument -> its default value, when that is plain data",
}


def render(data: dict[str, Any] | None = None) -> str:
    data = collect() if data is None else data
    lines = [
        '"""The names Keras 3 resolves, and the constructor arguments of its classes.',
        "",
        "Generated from the installed Keras by tests/support/keras_vocabulary.py; do not edit by hand.",
        "tests/spec/test_vocabulary_vs_keras.py checks it against Keras. What mspec does with",
        "these names (and the ones it refuses) is in `vocabulary`.",
        "",
        "One module past 600 lines: it is data, one table per kind of name, written in one piece.",
        '"""',
    ]
    for key, value in data.items():
        lines.append("")
        suffix = key.rsplit("_", 1)[-1]
        if suffix in COMMENTS:
            lines.append(f"# {COMMENTS[suffix]}")
        if isinstance(value, dict):
            lines.append(f"{key} = {{")
            for name, item in value.items():
                lines.append(f"    {name!r}: {item!r},")
            lines.append("}")
        elif isinstance(value, tuple):
            lines.append(f"{key} = (")
            lines.extend(f"    {item!r}," for item in value)
            lines.append(")")
        else:
            lines.append(f"{key} = {value!r}")
    # Laid out by ruff format, as the rest of the code base.
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}", file=sys.stderr)
