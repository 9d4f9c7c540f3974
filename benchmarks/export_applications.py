"""`mspec export` on keras.applications architectures: which formats hold them, verified, and how long.

For each architecture (weights=None, the smallest input it allows, 10
classes, logits): its configuration is imported with `mspec import`, the
spec is checked and built by mspec (random weights), and the model is
exported in every format with `--verify` on 4 generated rows, each format's
artifact run in its own runtime (the SavedModel signature, onnxruntime, the
LiteRT interpreter) and compared with the Keras model's prediction within
the format's tolerance, with the classifier's weights scaled so that the
logits are of the order of 1 (random weights leave them near 1e-10). A
format that refuses the model is named with the converter's reason; a
verification that fails prints the worst difference.

    .venv/bin/python benchmarks/export_applications.py [NAME ...] [--formats onnx,litert]

Times are wall seconds for writing the artifact (the serving function traced,
converted and written) and for verifying it (loading it in its runtime,
running it and the Keras model on the rows); one run each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from support.keras_applications import exportable  # noqa: E402

DEFAULT = ("MobileNetV3Small", "MobileNetV2", "EfficientNetB0", "DenseNet121")
FORMATS = ("saved_model", "onnx", "litert")
SUFFIX = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite"}
ROWS = 4


def export_one(name: str, folder: Path, formats=FORMATS) -> list[tuple[str, str, float, float, str]]:
    """(format, outcome, export s, verify s, detail) for each format."""
    import mspec
    from mspec.artifacts.manifest import contract
    from mspec.artifacts.verify import generated_rows, keras_outputs

    try:
        result, model = exportable(name, ROWS)
    except AssertionError:
        return [(fmt, "not imported", 0.0, 0.0, "") for fmt in formats]
    feed = generated_rows(contract(result), result, ROWS, 0)
    scale = max(float(abs(v).max()) for v in keras_outputs(model, contract(result), feed).values())
    rows = []
    for fmt in formats:
        target = folder / f"{name}{SUFFIX[fmt]}"
        started = time.perf_counter()
        try:
            outcome = mspec.export(result, model, fmt, target, verify=True, rows=ROWS)
        except mspec.ExportRefused as refusal:
            rows.append((fmt, "refused", time.perf_counter() - started, 0.0, str(refusal)))
            continue
        worst = max(check.worst for check in outcome.checks)
        verdict = "verified" if outcome.verified else "MISMATCH"
        detail = f"worst difference {worst:.2g} (max |keras| {scale:.2g})"
        detail += f"; {outcome.problems[0]}" if outcome.problems else ""
        rows.append(
            (fmt, verdict, outcome.seconds.get("export", 0.0), outcome.seconds.get("verify", 0.0), detail)
        )
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"architectures (default: {', '.join(DEFAULT)})")
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help="comma-separated formats (default: all); the largest models need one process per format",
    )
    args = parser.parse_args(argv)
    formats = tuple(f for f in args.formats.split(",") if f)
    print(f"{'model':18} {'format':12} {'outcome':10} {'export s':>9} {'verify s':>9}  detail")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.names or DEFAULT:
            for fmt, outcome, export_s, verify_s, detail in export_one(name, Path(folder), formats):
                line = f"{name:18} {fmt:12} {outcome:10} {export_s:9.1f} {verify_s:9.1f}  {detail}"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
