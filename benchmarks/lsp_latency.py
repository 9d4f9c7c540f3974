"""How long `mspec lsp` takes to re-diagnose a spec after an edit, against running `mspec lint` on it.

The alternative a user has today is to save and run `mspec lint FILE` (or
wait for the pre-commit hook). The server re-checks in its own process, so
we time, in-process, what it does after a change: check the new text (the
front end of `mspec lint`, reusing what did not change) and turn the findings
into LSP diagnostics with ranges. Three kinds of edit on generated specs of
200 and 2,000 nodes (those of benchmarks/lint_vs_keras.py):

- a parameter changed (`units = 8` -> `units = 9` in one branch): the spec
  is checked again;
- a comment typed: the data is unchanged, the findings are moved;
- no reuse at all (a fresh document), for reference.

The server waits for a pause in typing (its debounce, printed below) before
checking; an editor sees the diagnostics that long plus the check after the
last keystroke. `mspec lint` runs as a fresh process, as a user runs it.

    .venv/bin/python benchmarks/lsp_latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lint_vs_keras import generated_spec
from mspec.lsp.analysis import analyse
from mspec.lsp.diagnostics import lsp_diagnostics
from mspec.lsp.server import DEBOUNCE_SECONDS
from taking_turns import in_turns

ROOT = Path(__file__).resolve().parents[1]


def edits(text: str, nodes: int) -> tuple[str, str]:
    """The spec with one branch's units changed, and with a comment added (same data)."""
    target = f"[branches.b_{nodes // 4}]"
    start = text.index(target)
    units_at = text.index("units = 8", start)
    changed = text[:units_at] + "units = 9" + text[units_at + len("units = 8") :]
    commented = text[:start] + "# typed a comment here\n" + text[start:]
    return changed, commented


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def rediagnose(uri: str, before: str, after: str):
    """One re-diagnosis: the check of `after` with `before` as the previous analysis, then the LSP form."""
    previous = analyse(uri, before, "toml")
    lsp_diagnostics(previous)  # as the server published it

    def run() -> None:
        lsp_diagnostics(analyse(uri, after, "toml", previous), None, previous)

    return run


def lint_command(path: Path):
    def run() -> None:
        subprocess.run([sys.executable, "-m", "mspec", "lint", str(path)], capture_output=True, cwd=ROOT)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(
        f"debounce before a check: {DEBOUNCE_SECONDS * 1000:.0f} ms (added to every figure below but lint's)"
    )
    with tempfile.TemporaryDirectory() as folder:
        for nodes in (200, 2000):
            path = Path(folder) / f"generated_{nodes}.toml"
            text = generated_spec(nodes)
            path.write_text(text)
            uri = path.as_uri()
            changed, commented = edits(text, nodes)
            measures = {
                "parameter edit": rediagnose(uri, text, changed),
                "comment edit": rediagnose(uri, text, commented),
                "fresh document": lambda uri=uri, text=text: lsp_diagnostics(analyse(uri, text, "toml")),
            }
            samples = in_turns({name: (lambda m=m: timed(m)) for name, m in measures.items()}, args.runs)
            lint = in_turns({"lint": lambda path=path: timed(lint_command(path))}, max(3, args.runs // 3))
            lint_median = statistics.median(lint["lint"])
            findings = len(analyse(uri, text, "toml").diagnostics)
            print(f"\n{nodes} nodes ({len(text):,} bytes, {findings:,} findings):")
            for name, taken in samples.items():
                median = statistics.median(taken)
                print(
                    f"  lsp, {name:15} {median * 1000:8.1f} ms median  "
                    f"({lint_median / median:5.1f}x faster than mspec lint)"
                )
            print(f"  mspec lint FILE (a process) {lint_median * 1000:8.1f} ms median")


if __name__ == "__main__":
    main()
