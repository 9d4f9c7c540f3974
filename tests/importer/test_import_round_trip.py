"""`mspec import` round trips: a model saved by Keras, imported, built again and compared.

Every spec in specs/ is built with Keras, saved as a .keras file and as
`model.to_json()`, imported from both, checked, built again, and the two Keras
models compared operation by operation (see support.round_trip); hand-built
models and generated ones go the same way.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mspec.importer import ModelFileError, import_config, import_model, model_config_from_bytes

from support.document_paths import parent_of, value_paths
from support.importing import invoke_import, keras_or_skip
from support.paths import ROOT
from support.round_trip import assert_same_model, build_imported, findings
from support.spec_files import SPEC_FILES

needs_keras = pytest.mark.keras


@functools.cache
def _saved(spec: Path, folder: Path) -> tuple:
    """Build a spec once; save it as .keras and as to_json()."""
    from mspec.backends.keras_model.build import build_model
    from mspec.pipeline import check_file

    model = build_model(check_file(spec).graph)
    keras_file = folder / f"{spec.stem}.keras"
    json_file = folder / f"{spec.stem}.json"
    model.save(keras_file)
    json_file.write_text(model.to_json())
    return model, keras_file, json_file


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("saved")


@needs_keras
@pytest.mark.parametrize("source", ["keras", "json"])
@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_round_trip(spec: Path, source: str, saved_folder: Path) -> None:
    keras_or_skip()
    original, keras_file, json_file = _saved(spec, saved_folder)
    result = import_model(keras_file if source == "keras" else json_file)
    assert result.ok and not findings(result.diagnostics), [d.format() for d in result.diagnostics]
    rebuilt = build_imported(result.text)
    assert_same_model(original, rebuilt)
    assert rebuilt.output_names == original.output_names
    assert [t.name for t in rebuilt.inputs] == [t.name for t in original.inputs]


@needs_keras
@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_import_is_deterministic_and_the_same_from_both_files(spec: Path, saved_folder: Path) -> None:
    keras_or_skip()
    _, keras_file, json_file = _saved(spec, saved_folder)
    first = invoke_import(str(keras_file))
    assert first.exit_code == 0, first.output
    assert invoke_import(str(keras_file)).stdout == first.stdout
    assert invoke_import(str(json_file)).stdout == first.stdout
    as_json = invoke_import(str(keras_file), "--format", "json")
    assert json.loads(as_json.stdout) == tomllib.loads(first.stdout)
    build_imported(as_json.stdout, "json")


@needs_keras
def test_the_round_trip_keeps_losses_weights_and_the_optimizer(saved_folder: Path) -> None:
    keras_or_skip()
    _, keras_file, _ = _saved(ROOT / "specs" / "multi_output_reviews.toml", saved_folder)
    document = tomllib.loads(import_model(keras_file).text)
    assert document["outputs"]["rating"]["loss"] == "mean_squared_error"
    assert document["outputs"]["category"]["loss_weight"] == 0.5
    assert document["outputs"]["category"]["metrics"] == ["sparse_categorical_accuracy"]
    _, keras_file, _ = _saved(ROOT / "specs" / "siamese_text.json", saved_folder)
    document = tomllib.loads(import_model(keras_file).text)
    assert document["compile"] == {"optimizer": {"type": "Adam", "learning_rate": 0.0005}}
    assert set(document["shared"]) == {"embedding", "encoder"}


@needs_keras
def test_the_importer_never_imports_keras(saved_folder: Path) -> None:
    keras_or_skip()
    _, keras_file, _ = _saved(ROOT / "specs" / "siamese_text.json", saved_folder)
    code = (
        "import sys\n"
        "from mspec.importer import import_model\n"
        f"result = import_model({str(keras_file)!r})\n"
        "assert result.ok, result.diagnostics\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'h5py'))\n"
        "print(loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "compiler")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@needs_keras
def test_output_file_is_written_and_matches_stdout(tmp_path: Path, saved_folder: Path) -> None:
    keras_or_skip()
    _, keras_file, _ = _saved(ROOT / "specs" / "seed" / "shared_projection.toml", saved_folder)
    result = invoke_import(str(keras_file), "-o", str(tmp_path / "spec.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    written = json.loads((tmp_path / "spec.json").read_text())
    assert written == tomllib.loads(invoke_import(str(keras_file)).stdout)
    assert not [p for p in tmp_path.iterdir() if p.name != "spec.json"], "a temporary file was left behind"


def _masked_merge(keras):
    tokens, features = keras.Input((10,), dtype="int32", name="tokens"), keras.Input((10, 4), name="features")
    embedded = keras.layers.Embedding(50, 4, mask_zero=True, name="embedded")(tokens)
    sequence = keras.layers.LSTM(4, return_sequences=True, name="sequence")(embedded)
    joined = keras.layers.Concatenate(name="joined")([sequence, features])
    return keras.Model([tokens, features], keras.layers.GRU(3, name="summary")(joined))


def _awkward_names(keras):
    inputs = keras.Input((None, 3), name="1st-input")
    hidden = keras.layers.Dense(2, name="my-dense")(inputs)
    return keras.Model(
        inputs, keras.layers.TimeDistributed(keras.layers.Dense(2), name="td")(hidden), name="a b"
    )


def _channels_first(keras):
    image = keras.Input((3, 16, 16), name="image")
    x = keras.layers.Conv2D(4, (3, 2), strides=(2, 1), data_format="channels_first", name="conv")(image)
    x = keras.layers.MaxPooling2D((2, 2), strides=1, data_format="channels_first", name="pool")(x)
    x = keras.layers.ZeroPadding2D(((1, 2), (3, 4)), data_format="channels_first", name="pad")(x)
    return keras.Model(image, x)


def _output_feeding_a_layer(keras):
    inputs = keras.Input((4,), name="x")
    first = keras.layers.Dense(3, name="first")(inputs)
    return keras.Model(inputs, [first, keras.layers.Dense(1, name="second")(first)])


@needs_keras
@pytest.mark.parametrize("make", [_masked_merge, _awkward_names, _channels_first, _output_feeding_a_layer])
def test_hand_built_models_round_trip(make) -> None:
    model = make(keras_or_skip())
    result = import_config(json.loads(model.to_json()), "model.json")
    assert result.ok and not findings(result.diagnostics), [d.format() for d in result.diagnostics]
    assert_same_model(model, build_imported(result.text))


@needs_keras
def test_awkward_names_become_spec_names() -> None:
    result = import_config(json.loads(_awkward_names(keras_or_skip()).to_json()), "model.json")
    document = tomllib.loads(result.text)
    assert document["model"] == {"name": "a_b"}
    assert document["inputs"] == {"input_1st_input": {"shape": ["input_1st_input_dim1", 3]}}


@needs_keras
def test_damaged_configs_are_reported_never_crash(saved_folder: Path) -> None:
    """Replace or delete random parts of real configs: the result is a spec, diagnostics or MS401."""
    import copy
    import random

    keras_or_skip()
    bases = [json.loads(_saved(spec, saved_folder)[2].read_text()) for spec in SPEC_FILES]
    replacements = [None, 0, -1, 2.5, "", "x", [], {}, [None], True, ["x", 0, 0], "InputLayer", "Functional"]
    chance = random.Random(20240611)
    for _ in range(int(os.environ.get("MSPEC_IMPORT_DAMAGE", "600"))):
        data = copy.deepcopy(chance.choice(bases))
        for _ in range(chance.randint(1, 3)):
            path = chance.choice([p for p in value_paths(data) if p])
            parent = parent_of(data, path)
            if chance.random() < 0.3:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(chance.choice(replacements))
        try:
            result = import_config(model_config_from_bytes(json.dumps(data).encode()), "damaged.json")
        except ModelFileError:
            continue
        assert result.ok == (result.text is not None)


# --- random valid models, from the shared strategies ---------------------------


@needs_keras
def test_random_valid_models_round_trip() -> None:
    keras = keras_or_skip()
    from hypothesis import HealthCheck, Phase, given, settings

    from mspec.backends.keras_model.build import build_model
    from mspec.pipeline import check_bytes

    # Imported here and never guarded: a broken generator fails this test instead of skipping it.
    from support.spec_graphs import STRUCTURE_ONLY, valid_specs

    @settings(
        max_examples=int(os.environ.get("MSPEC_IMPORT_EXAMPLES", "12")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        # Building models is slow: report the drawn document as it is rather than shrink it.
        phases=[Phase.explicit, Phase.generate],
    )
    @given(generated=valid_specs())
    def round_trip(generated) -> None:
        checked = check_bytes(json.dumps(generated.doc).encode(), "drawn.json", "json", STRUCTURE_ONLY)
        if not checked.ok:
            return  # the strategies' own tests report these
        original = build_model(checked.graph)
        data = json.loads(original.to_json())
        result = import_config(data, "drawn.json")
        assert result.ok, [d.format() for d in result.diagnostics] + [json.dumps(generated.doc)]
        assert_same_model(original, build_imported(result.text))
        keras.backend.clear_session()

    round_trip()
