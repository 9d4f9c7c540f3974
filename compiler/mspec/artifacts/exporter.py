"""`mspec export` as a function: check, refuse early, write to a temporary path, verify, rename.

The order matters: what the spec says the format cannot hold is refused before
Keras is imported; the artifact and its manifest are written under temporary
names beside the target and renamed into place only when everything
succeeded (the verification included, when asked), so a failed export
leaves the earlier files as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import readable_mode
from ..frontend import CheckResult
from . import manifest as manifests
from .formats import DEFAULT_ROWS, FORMATS, SIGNATURE, ExportRefused, refusals
from .verify import OutputCheck


@dataclass
class ExportResult:
    path: Path
    format: str
    manifest: dict[str, Any]
    written: bool  # False when the verification failed during an export: nothing was written
    checks: list[OutputCheck] = field(default_factory=list)  # empty without verification
    problems: list[str] = field(default_factory=list)  # the artifact's names or dtypes against the spec
    rows: int = 0
    rows_from: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return bool(self.checks) and not self.problems and all(c.ok for c in self.checks)


def export(
    spec: str | os.PathLike | CheckResult,
    model: str | os.PathLike | Any,
    fmt: str,
    output: str | os.PathLike,
    *,
    verify: bool = False,
    verify_only: bool = False,
    data: str | os.PathLike | None = None,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export the trained `model` of `spec` as `fmt` to `output`, with its manifest; optionally verify it.

    `verify_only` exports nothing: it verifies the artifact already at
    `output` (and its manifest) against `model`. Raises FitError (the spec or
    the data has errors), ExportRefused (the format cannot hold the model:
    nothing written) and ValueError (a model that is not the spec's).
    """
    from ..training.runner import _checked_spec

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    say = log or (lambda _: None)
    result = _checked_spec(spec)
    contract = manifests.contract(result)
    refused = refusals(contract, fmt, result.graph)
    if refused:
        raise ExportRefused(refused[0])
    target = Path(output)
    if fmt == "saved_model" and target.suffix in (".onnx", ".tflite", ".keras"):
        raise ValueError(
            f"{target}: a SavedModel is a folder; give a path without the {target.suffix} suffix"
        )
    if fmt == "litert" and target.suffix != ".tflite":
        raise ValueError(f"{target}: a LiteRT file is named *.tflite")

    feed = None
    if verify or verify_only:
        from .verify import data_rows, generated_rows

        feed = (
            data_rows(result, data, rows)
            if data is not None
            else generated_rows(contract, result, rows, seed)
        )

    from ..training.quiet import import_keras

    keras = import_keras()
    keras_model = (
        model if not isinstance(model, (str, os.PathLike)) else keras.saving.load_model(model, compile=False)
    )
    _check_model(keras_model, contract)

    outcome = ExportResult(target, fmt, {}, written=False)
    if feed is not None:
        outcome.rows = len(next(iter(feed.values())))
        outcome.rows_from = str(data) if data is not None else f"generated (seed {seed})"
    if verify_only:
        outcome.manifest = manifests.read_manifest(target, fmt)
        _verify(outcome, target, contract, keras_model, feed)
        return outcome

    started = time.perf_counter()
    from .formats import write

    with _temporary(target, fmt) as (artifact, manifest_file):
        write(fmt, keras_model, contract, artifact)
        outcome.seconds["export"] = time.perf_counter() - started
        runtime = _load(fmt, artifact)
        contract, outcome.problems = _with_ports(contract, runtime)
        if outcome.problems:
            raise ExportRefused(f"the {fmt} artifact does not carry the spec's names: {outcome.problems[0]}")
        outcome.manifest = manifests.manifest(
            contract, fmt, target.name, None if fmt == "onnx" else SIGNATURE
        )
        manifest_file.write_bytes(manifests.manifest_bytes(outcome.manifest))
        if feed is not None:
            _verify(outcome, artifact, contract, keras_model, feed, runtime)
            if not outcome.verified:
                say(f"not written: the {fmt} artifact's outputs differ from the Keras model's")
                return outcome
        _put_in_place(artifact, manifest_file, target, fmt)
        outcome.written = True
    return outcome


def _check_model(model: Any, contract: manifests.Contract) -> None:
    from .formats import model_input_names, model_output_names

    inputs, outputs = model_input_names(model), model_output_names(model)
    expected_in = [t.name for t in contract.inputs]
    expected_out = [t.name for t in contract.outputs]
    if sorted(inputs) != sorted(expected_in) or sorted(outputs) != sorted(expected_out):
        raise ValueError(
            f"the model's inputs ({', '.join(inputs)}) and outputs ({', '.join(outputs)}) are not the spec's "
            f"({', '.join(expected_in)}; {', '.join(expected_out)})"
        )


def _load(fmt: str, path: Path):
    from .runtimes import load

    return load(fmt, path)


def _with_ports(contract: manifests.Contract, runtime: Any) -> tuple[manifests.Contract, list[str]]:
    """The contract with the artifact's tensor names and positions; what does not match the spec."""
    problems = []
    placed = {}
    for side, ports in (("input", runtime.inputs), ("output", runtime.outputs)):
        tensors = contract.inputs if side == "input" else contract.outputs
        for tensor in tensors:
            port = ports.get(tensor.name)
            if port is None:
                problems.append(f"no {side} named {tensor.name!r} (it has {', '.join(ports) or 'none'})")
                continue
            if port.dtype != tensor.dtype:
                problems.append(f"{side} {tensor.name!r} is {port.dtype}, the spec says {tensor.dtype}")
            placed[(side, tensor.name)] = dataclasses.replace(
                tensor, tensor=port.tensor, position=port.position
            )
        extra = [name for name in ports if name not in {t.name for t in tensors}]
        problems += [f"an {side} named {name!r} that the spec does not have" for name in extra]
    inputs = [placed.get(("input", t.name), t) for t in contract.inputs]
    outputs = [placed.get(("output", t.name), t) for t in contract.outputs]
    return dataclasses.replace(contract, inputs=inputs, outputs=outputs), problems


def _verify(
    outcome: ExportResult,
    artifact: Path,
    contract: manifests.Contract,
    model: Any,
    feed: dict[str, Any],
    runtime: Any = None,
) -> None:
    from .verify import compare, keras_outputs

    started = time.perf_counter()
    runtime = runtime or _load(outcome.format, artifact)
    if not outcome.problems:
        _, outcome.problems = _with_ports(contract, runtime)
        listed = {entry["name"] for entry in outcome.manifest.get("inputs", [])}
        if listed != {t.name for t in contract.inputs}:
            outcome.problems.append("the manifest's inputs are not the spec's")
    expected = keras_outputs(model, contract, feed)
    found = runtime.run(feed) if not outcome.problems else {}
    outcome.checks = compare(outcome.format, expected, found)
    outcome.seconds["verify"] = time.perf_counter() - started


@contextlib.contextmanager
def _temporary(target: Path, fmt: str) -> Iterator[tuple[Path, Path]]:
    """A temporary artifact path and manifest file beside `target`; what is left of them goes at the end."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        if fmt == "saved_model":
            yield folder, folder / manifests.SAVED_MODEL_MANIFEST
        else:
            yield folder / target.name, folder / f"{target.name}.manifest.json"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _put_in_place(artifact: Path, manifest_file: Path, target: Path, fmt: str) -> None:
    mode = readable_mode()
    if fmt == "saved_model":
        folder_mode = mode | (mode & 0o444) >> 2  # searchable by whoever may read it
        os.chmod(artifact, folder_mode)
        for root, folders, files in os.walk(artifact):
            for name in folders:
                os.chmod(os.path.join(root, name), folder_mode)
            for name in files:
                os.chmod(os.path.join(root, name), mode)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.{os.urandom(6).hex()}.old")
            os.replace(target, old)
        os.replace(artifact, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return
    os.chmod(artifact, mode)
    os.chmod(manifest_file, mode)
    os.replace(artifact, target)
    os.replace(manifest_file, manifests.manifest_path(target, fmt))
