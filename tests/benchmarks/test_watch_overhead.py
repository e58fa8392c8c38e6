"""benchmarks/watch_overhead.py runs end to end on tiny models and prints its clock and one
ratio line per model and mode (the figures themselves depend on the machine: not tested)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RATIO = re.compile(r"^ratio (cnn|transformer) (sampled|every_step): [0-9.]+x \(median of "
                   r"paired blocks; ratio of medians [0-9.]+x; goal <= [0-9.]+x: "
                   r"(ok|ABOVE GOAL)\)$")
SHARE = re.compile(r"^attributed (cnn|transformer) (sampled|every_step): [0-9.]+% of the step "
                   r"inside the watcher's hooks")


def test_the_overhead_benchmark_prints_its_ratios():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "watch_overhead.py"),
                          "--quick"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("watch overhead: clock = process CPU time")
    ratios = [m.groups()[:2] for m in map(RATIO.match, lines) if m]
    assert ratios == [("cnn", "sampled"), ("cnn", "every_step"),
                      ("transformer", "sampled"), ("transformer", "every_step")]
    assert sum("ms/step" in line for line in lines) == 6
    assert [m.groups() for m in map(SHARE.match, lines) if m] == ratios
