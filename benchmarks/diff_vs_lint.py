"""How long `mspec diff` of two 10,000-node specs takes, against `mspec lint` of one of them.

A diff checks both specs (the same front end as lint: shapes and weights of
every node) and then matches and compares them, so it costs at least one
more check than lint. The target: at most twice lint's time. Two specs of
about 10,000 nodes (tests/support/wide_specs.py: parallel Dense/Dropout
branches, concatenated in groups, then added) differ by a few edits of the
kinds a pull request makes: units changed, a step put in, a step taken out,
a branch renamed, a merge rewired. Both commands run as fresh processes, in
turns, several times; medians of wall time, CPU time and peak memory, and
the ratios.

    .venv/bin/python benchmarks/diff_vs_lint.py [--runs N] [--nodes N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from taking_turns import in_turns

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.wide_specs import generated_spec  # noqa: E402

DEPTH = 10
GROUP = 5


def specs(nodes: int) -> tuple[str, str]:
    """A generated spec of about `nodes` nodes, and the same with a few edits."""
    # Per input: the input, DEPTH steps, and 1/GROUP of a merge.
    inputs = max(GROUP, round(nodes / (DEPTH + 1 + 1 / GROUP) / GROUP) * GROUP)
    old = generated_spec(inputs, DEPTH, GROUP)
    dense = '{ type = "Dense", units = 16, activation = "relu" }'
    dropout = '{ type = "Dropout", rate = 0.1 }'
    new = old
    # units changed: every later shape of that branch follows
    new = new.replace(
        f'[branches.b_7]\nfrom = "in_7"\nlayers = [{dense}',
        f'[branches.b_7]\nfrom = "in_7"\nlayers = [{dense.replace("16", "32")}',
        1,
    )
    # a step put in, a step taken out
    new = new.replace(
        f'[branches.b_11]\nfrom = "in_11"\nlayers = [{dense}, ',
        f'[branches.b_11]\nfrom = "in_11"\nlayers = [{dense}, {dropout}, ',
        1,
    )
    new = new.replace(
        f'[branches.b_12]\nfrom = "in_12"\nlayers = [{dense}, {dropout}, ',
        f'[branches.b_12]\nfrom = "in_12"\nlayers = [{dense}, ',
        1,
    )
    # a branch renamed (and the merge reading it), a merge rewired
    new = new.replace("[branches.b_20]", "[branches.renamed_20]").replace('"b_20"', '"renamed_20"')
    new = new.replace('from = ["b_30", "b_31"', 'from = ["b_31", "b_30"', 1)
    assert new.count("\n") >= old.count("\n") and new != old
    return old, new


def run_once(argv: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak MB) of one fresh `mspec` process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mspec", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    # wait4's usage covers the process and the children it waited for.
    _, _, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = 0  # reaped here, not by Popen
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        old_text, new_text = specs(args.nodes)
        old, new = Path(folder) / "old.toml", Path(folder) / "new.toml"
        old.write_text(old_text)
        new.write_text(new_text)
        from mspec.pipeline import check_file

        nodes = len(check_file(old).graph.nodes)
        diff = subprocess.run(
            [sys.executable, "-m", "mspec", "diff", str(old), str(new)], capture_output=True, text=True
        )
        print(diff.stdout.splitlines()[1])
        commands = {
            "lint": ["lint", "-q", str(old)],
            "diff": ["diff", str(old), str(new)],
        }
        samples = in_turns(
            {name: (lambda argv=argv: run_once(argv)) for name, argv in commands.items()}, args.runs
        )
        medians = {
            name: [statistics.median(sample[k] for sample in taken) for k in range(3)]
            for name, taken in samples.items()
        }
        print(f"two specs of {nodes:,} nodes, median of {args.runs} fresh processes, run in turns")
        for name, (seconds, cpu, megabytes) in medians.items():
            print(f"  mspec {name:5} {seconds:7.3f} s  ({cpu:.3f} s of CPU)  {megabytes:7.1f} MB peak")
        ratio = medians["diff"][0] / medians["lint"][0]
        cpu_ratio = medians["diff"][1] / medians["lint"][1]
        print(f"  ratio diff/lint {ratio:6.2f} (target: at most 2); of CPU time {cpu_ratio:.2f}")
        print(f"  load average over the last minute: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
