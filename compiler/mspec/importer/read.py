"""Read a Keras model's configuration as plain data: from a .keras archive or a JSON file.

Nothing is deserialized: the archive's `config.json` is parsed as JSON and
never handed to Keras, so reading a model runs none of its code.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

# A model's config.json is small next to its weights; anything larger is not one we can use.
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MODEL_CLASSES = ("Functional", "Model", "Sequential")


class ModelFileError(Exception):
    """The file cannot be read, or holds no Keras model configuration."""


def read_model_config(path: str | os.PathLike) -> dict[str, Any]:
    """Return the serialized model (`class_name`, `config`, maybe `compile_config`) from a file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as error:
        raise ModelFileError(f"cannot read: {error.strerror or error}") from None
    if head.startswith(b"PK"):
        raw = _read_archive(path)
    else:
        try:
            if os.path.getsize(path) > MAX_CONFIG_BYTES:
                raise ModelFileError(f"file is larger than {MAX_CONFIG_BYTES:,} bytes")
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as error:
            raise ModelFileError(f"cannot read: {error.strerror or error}") from None
    return model_config_from_bytes(raw)


def model_config_from_file_bytes(raw: bytes) -> dict[str, Any]:
    """The same as `read_model_config`, from the bytes of such a file (a .keras archive or JSON)."""
    if raw.startswith(b"PK"):
        return model_config_from_bytes(_read_archive(io.BytesIO(raw)))
    if len(raw) > MAX_CONFIG_BYTES:
        raise ModelFileError(f"file is larger than {MAX_CONFIG_BYTES:,} bytes")
    return model_config_from_bytes(raw)


def _read_archive(path: str | os.PathLike | io.BytesIO) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("config.json")
            except KeyError:
                raise ModelFileError("the archive has no config.json: not a .keras model") from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelFileError(f"config.json is larger than {MAX_CONFIG_BYTES:,} bytes")
            with archive.open(info) as member:
                # Read at most the limit, whatever the header claims.
                raw = member.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise ModelFileError(f"not a readable .keras archive: {error}") from None
    except OSError as error:
        raise ModelFileError(f"cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ModelFileError(f"config.json is larger than {MAX_CONFIG_BYTES:,} bytes")
    return raw


def model_config_from_bytes(raw: bytes) -> dict[str, Any]:
    """Parse JSON text holding `model.to_json()`, a saved config.json, or `model.get_config()`."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"not JSON: {error}") from None
    except RecursionError:
        raise ModelFileError("not a Keras model configuration: nested too deeply") from None
    if not isinstance(data, dict):
        raise ModelFileError("not a Keras model configuration: the top level is not an object")
    if "class_name" not in data and isinstance(data.get("layers"), list):
        # The output of get_config(): the Functional model's own config, without its envelope.
        data = {"class_name": "Functional", "config": data}
    if data.get("class_name") not in MODEL_CLASSES or not isinstance(data.get("config"), dict):
        found = data.get("class_name")
        what = f"a {found!r} object" if isinstance(found, str) else "no model class_name"
        raise ModelFileError(f"not a Keras model configuration: found {what}")
    if not isinstance(data["config"].get("layers"), list):
        raise ModelFileError("not a Keras model configuration: the model config has no 'layers' list")
    return data
