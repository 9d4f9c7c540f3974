"""What a training run leaves behind: the model, its history, its curves and how to reproduce it.

All four files are first written to temporary files beside their targets and
renamed into place only once every one of them is complete, so an
interrupted run leaves the previous run's files as they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import platform
import threading
from pathlib import Path
from typing import Any

from ..files import readable_mode, temporary_beside

KERAS_SUFFIX = ".keras"
# The history plot: each panel's size, the figure's margins (left, right, top, bottom) and the gaps
# between panels (across, down), in inches.
PANEL_INCHES = (4.2, 3.2)
MARGIN_INCHES = (0.65, 0.2, 0.6, 0.5)
GAP_INCHES = (0.75, 0.85)


def output_paths(folder: Path, name: str) -> dict[str, Path]:
    return {
        "model": folder / f"{name}.keras",
        "history": folder / f"{name}.history.json",
        "plot": folder / f"{name}.history.png",
        "run": folder / f"{name}.run.json",
    }


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of a file's bytes; of a data set of many files (a directory, a glob), its fingerprint.

    A data set's fingerprint hashes each file's relative path, size and SHA-256
    (mspec.data.dataset.dataset_sha256).
    """
    if not os.path.isfile(path):
        from ..data.dataset import dataset_sha256, is_dataset

        if is_dataset(path):
            return dataset_sha256(path)
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clean_history(history: dict[str, list[Any]]) -> dict[str, list[float | None]]:
    """History.history as JSON-safe lists of floats (NaN/inf, which JSON lacks, become null)."""

    def number(value: Any) -> float | None:
        value = float(value)
        return value if math.isfinite(value) else None

    return {key: [number(v) for v in values] for key, values in history.items()}


def library_versions() -> dict[str, str]:
    import importlib.metadata as metadata

    versions = {"python": platform.python_version()}
    for package in ("mspec", "keras", "tensorflow", "tensorflow-cpu", "jax", "numpy", "pyarrow"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


class PlottingWarmUp:
    """Import matplotlib and load its fonts on a thread of its own while the model trains.

    Both take longer than drawing the history itself, and training leaves the
    interpreter free most of the time (TensorFlow's kernels run without it).
    `history_plot` waits for the warm-up before it draws: matplotlib is not
    used from two threads at once.
    """

    def __init__(self) -> None:
        self._thread = threading.Thread(target=_warm_up, name="mspec-plot-warm-up", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()


def _warm_up() -> None:
    with contextlib.suppress(Exception):  # a failure here shows again, and is reported, when drawing
        _figure_class()
        history_plot({"loss": [1.0, 0.5]}, [], "")


def _figure_class() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure


def history_plot(
    history: dict[str, list[float | None]],
    output_names: list[str],
    title: str,
    warm_up: PlottingWarmUp | None = None,
) -> bytes:
    """PNG of the loss and every metric, training and validation, one row of panels per output."""
    if warm_up is not None:
        warm_up.wait()
    Figure = _figure_class()

    from matplotlib.ticker import MaxNLocator

    rows = _plot_rows(history, output_names)
    columns = max(len(metrics) for _, metrics in rows)
    width, height = PANEL_INCHES[0] * columns, PANEL_INCHES[1] * len(rows)
    figure = Figure(figsize=(width, height))
    figure.suptitle(title)
    # Fixed margins in inches, not a constrained layout: that measures every label's text first,
    # which took longer than drawing the figure.
    left, right, top, bottom = MARGIN_INCHES
    axes = figure.subplots(
        len(rows),
        columns,
        squeeze=False,
        gridspec_kw={
            "left": left / width,
            "right": 1 - right / width,
            "top": 1 - top / height,
            "bottom": bottom / height,
            "wspace": _gap_fraction(width - left - right, columns, GAP_INCHES[0]),
            "hspace": _gap_fraction(height - top - bottom, len(rows), GAP_INCHES[1]),
        },
    )
    for row, (label, metrics) in enumerate(rows):
        for column in range(columns):
            ax = axes[row][column]
            if column >= len(metrics):
                ax.set_visible(False)
                continue
            key = metrics[column]
            if isinstance(key, tuple):  # the branch shares at one merge, together
                _shares_panel(ax, history, key)
                continue
            epochs = range(1, len(history[key]) + 1)
            ax.plot(epochs, _nan(history[key]), marker="o", markersize=3, label="training")
            if f"val_{key}" in history:
                ax.plot(epochs, _nan(history[f"val_{key}"]), marker="o", markersize=3, label="validation")
            ax.set_title(f"{label}: {key}" if label else key, fontsize=10)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    buffer = io.BytesIO()
    # No timestamps in the file: the same history gives the same bytes.
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def _gap_fraction(room: float, count: int, gap: float) -> float:
    """matplotlib's wspace/hspace for `gap` inches between `count` panels sharing `room` inches."""
    panel = (room - (count - 1) * gap) / count
    return gap / panel


def _shares_panel(ax: Any, history: dict[str, list[float | None]], keys: tuple[str, ...]) -> None:
    """The balance/<merge>/<branch> series of one merge in one panel, on a 0-1 scale."""
    from matplotlib.ticker import MaxNLocator

    for key in keys:
        epochs = range(1, len(history[key]) + 1)
        ax.plot(epochs, _nan(history[key]), marker="o", markersize=3, label=key.split("/", 2)[2])
    ax.set_ylim(0, 1)
    ax.set_title(f"balance at {keys[0].split('/')[1]}: share of the gradient", fontsize=10)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _nan(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _plot_rows(history: dict[str, list[Any]], output_names: list[str]) -> list[tuple[str, list[Any]]]:
    """Group training keys (no val_ prefix) into rows: the total, each output, extra series."""
    # The loss first, then the metrics, as Keras' progress bar shows them.
    keys = sorted((k for k in history if not k.startswith("val_")), key=lambda k: not k.endswith("loss"))
    rows: list[tuple[str, list[str]]] = []
    taken: set[str] = set()
    by_output = {name: [k for k in keys if k.startswith(f"{name}_")] for name in output_names}
    for name in sorted(output_names, key=len, reverse=True):  # longest prefix wins
        by_output[name] = [k for k in by_output[name] if k not in taken]
        taken.update(by_output[name])
    groups: dict[str, list[str]] = {}
    for key in keys:
        if key in taken:
            continue
        group = key.split("/")[0] if "/" in key else ""
        groups.setdefault(group, []).append(key)
    for group, members in groups.items():
        if group == "balance":  # one panel per merge: balance/<merge>/<branch>
            merges: dict[str, list[str]] = {}
            for key in members:
                merges.setdefault(key.split("/")[1], []).append(key)
            members = [tuple(keys) for keys in merges.values()]
        rows.append((group, members))
    rows.extend((name, by_output[name]) for name in output_names if by_output[name])
    return rows or [("", keys)]


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=False) + "\n").encode()


def write_all(model: Any, files: dict[Path, bytes], model_path: Path) -> None:
    """Write the model and `files` each to a temporary file, then rename them all into place."""
    with contextlib.ExitStack() as stack:
        temporary_model = stack.enter_context(temporary_beside(model_path, KERAS_SUFFIX))
        model.save(str(temporary_model))
        ready: list[tuple[Path, Path]] = [(temporary_model, model_path)]
        for path, data in files.items():
            temporary = stack.enter_context(temporary_beside(path))
            with open(temporary, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            ready.append((temporary, path))
        for temporary, _ in ready:
            _chmod(temporary)
        for temporary, path in ready:
            temporary.replace(path)


def _chmod(path: Path) -> None:
    os.chmod(path, readable_mode())
