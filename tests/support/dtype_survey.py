"""Survey what every layer kind does with inputs of each dtype, on TensorFlow (both oneDNN settings) and JAX.

    .venv/bin/python tests/support/dtype_survey.py [KIND ...] [--json PATH]

For every kind a spec can use as a step or merge (`support.dtype_cases.STEPS`),
and every dtype of `SURVEY_DTYPES` (a merge also gets `MERGE_PAIRS`), a
one-layer model is built and run in inference and in training on every
setting (`support.dtype_oracle`). One line per call: the dtypes in, then per
setting `ok DTYPE` (built and ran, with the dtype it returned), `RUN` (built,
a run failed) or `BUILD` (did not build), and the dtype Keras declares. This is
the evidence the declarations of `mspec.layers.dtypes` were written from, and
the way to look again when Keras changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE_DIR = Path(__file__).resolve().parents[1]
if str(HERE_DIR) not in sys.path:  # run as a script: make `support` and `mspec` importable
    sys.path[:0] = [str(HERE_DIR), str(HERE_DIR.parent / "compiler")]

from support.dtype_cases import MERGE_PAIRS, STEPS, SURVEY_DTYPES, steps_of  # noqa: E402
from support.dtype_oracle import EVIDENCE, HERE, MODES, Call, Observed, observe  # noqa: E402


def calls_of(kind: str) -> list[Call]:
    """The calls a kind is surveyed with: every dtype on every input, and a merge's mixed pairs."""
    from mspec.layers import REGISTRY

    calls = []
    for step, shapes in steps_of(kind):
        combinations = [(dtype,) * len(shapes) for dtype in SURVEY_DTYPES]
        if REGISTRY[kind].is_merge:
            combinations += [(first, *[other] * (len(shapes) - 1)) for first, other in MERGE_PAIRS]
        calls += [Call(step, tuple(shapes), dtypes) for dtypes in combinations]
    return calls


def describe(seen: Observed) -> str:
    if not seen.built:
        return "BUILD"
    if not seen.ran:
        failed = [mode for mode, ok in zip(MODES, seen.runs, strict=True) if not ok]
        return "RUN(" + "+".join(failed) + ")"
    returned = sorted({r for r in seen.returned if r})
    return "ok " + "/".join(returned)


def survey(kinds: list[str]) -> list[dict]:
    calls = [call for kind in kinds for call in calls_of(kind)]
    started = time.monotonic()
    # Keras is imported before the thread starts: two threads importing TensorFlow at once deadlock.
    import threading

    import keras

    # The other settings work through the whole batch while this process does its share.
    elsewhere: dict[str, list[Observed]] = {}
    worker = threading.Thread(target=lambda: elsewhere.update(EVIDENCE.elsewhere(calls)))
    worker.start()
    here = []
    for count, call in enumerate(calls):
        if count % 50 == 0:
            keras.backend.clear_session()
            print(f"{count}/{len(calls)} here", file=sys.stderr, flush=True)
        here.append(observe(call))
    worker.join()
    rows = []
    for index, call in enumerate(calls):
        settings = {HERE: here[index], **{name: seen[index] for name, seen in elsewhere.items()}}
        running = next((seen for seen in settings.values() if seen.ran), None)
        rows.append(
            {
                "kind": call.step["type"],
                "step": call.step,
                "dtypes": list(call.dtypes),
                "declared": here[index].declared,
                # The dtype the first setting that runs it returns, at inference and when training.
                "returned": dict(zip(MODES, running.returned, strict=True)) if running else None,
                "settings": {name: describe(seen) for name, seen in settings.items()},
                "errors": {name: seen.error for name, seen in settings.items() if seen.error},
            }
        )
    print(f"{len(calls)} calls on {len(elsewhere) + 1} settings in {time.monotonic() - started:.0f} s")
    return rows


def main() -> None:
    from mspec.layers import REGISTRY

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="*", help="kinds to survey (default: all)")
    parser.add_argument("--json", type=Path, help="also write every row, errors included, to this file")
    args = parser.parse_args()
    import warnings

    warnings.simplefilter("ignore")  # Keras' notes on masks and softmax over one unit, once per call
    kinds = args.kinds or sorted(k for k in STEPS if k in REGISTRY)
    rows = survey(kinds)
    names = list(rows[0]["settings"]) if rows else []
    print("settings: " + " | ".join(names))
    for row in rows:
        outcomes = " | ".join(row["settings"][name] for name in names)
        print(
            f"{row['kind']:<28} {'+'.join(row['dtypes']):<18} declared {row['declared'] or '-':<8} {outcomes}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
