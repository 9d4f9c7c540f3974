"""Make the small `.keras` files in this folder, one per Keras version: run by hand, not by the tests.

Each file holds the same small multi-input Functional model (Dense, Conv1D,
Conv2D, Embedding, Concatenate, compiled with a loss and a metric per output),
saved by the Keras version in its name. They are made once, in throwaway
virtual environments with the JAX back end, and checked in:

    python3 -m venv /tmp/k38
    /tmp/k38/bin/pip install keras==3.8.0 "jax[cpu]==0.5.0"
    KERAS_BACKEND=jax /tmp/k38/bin/python tests/data/keras_versions/make_files.py

(and likewise keras 3.10.0 with jax 0.6.0, 3.12.0 with jax 0.7.2, 3.13.0 and
3.14.0 with a current jax). The weights are seeded, so a file made again holds
the same model; tests/importer/test_import_versions.py imports each file.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
from keras import layers


def build() -> keras.Model:
    keras.utils.set_random_seed(7)
    ids = keras.Input((6,), dtype="int32", name="ids")
    image = keras.Input((8, 8, 1), name="image")
    series = keras.Input((10, 2), name="series")
    tabular = keras.Input((5,), name="tabular")

    words = layers.Embedding(50, 4, name="words")(ids)
    words = layers.GlobalAveragePooling1D()(words)
    picture = layers.Conv2D(4, 3, activation="relu")(image)
    picture = layers.MaxPooling2D(2)(picture)
    picture = layers.Flatten()(picture)
    signal = layers.Conv1D(3, 3, padding="same", name="signal_conv")(series)
    signal = layers.GlobalMaxPooling1D()(signal)
    numbers = layers.Dense(8, activation="relu")(tabular)
    joined = layers.Concatenate()([words, picture, signal, numbers])
    hidden = layers.Dense(16, activation="relu", name="hidden")(joined)
    hidden = layers.Dropout(0.1)(hidden)
    score = layers.Dense(1, activation="sigmoid", name="score")(hidden)
    kind = layers.Dense(3, activation="softmax")(hidden)
    model = keras.Model([ids, image, series, tabular], [score, kind], name="versions")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.002),
        loss=["binary_crossentropy", "sparse_categorical_crossentropy"],
        metrics=[["accuracy"], ["sparse_categorical_accuracy"]],
    )
    return model


def main() -> None:
    version = ".".join(keras.__version__.split(".")[:2])
    path = Path(__file__).parent / f"keras_{version.replace('.', '_')}.keras"
    build().save(path)
    # Keras stores the archive's members uncompressed; deflated, the file is a fifth of the size
    # (Keras reads either).
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members:
            archive.writestr(name, data)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
