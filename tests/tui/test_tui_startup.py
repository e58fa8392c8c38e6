"""The first screen of `advisor tui` appears within a second.

Measured in a real pseudo-terminal (startup_probe.py): the app logs the time from the kernel's
start of the process to the home screen's first paint. On a busy machine every process is
slower, so the wall-clock budget is scaled by the load per CPU when the machine is
oversubscribed, while the CPU time the process spent before its first paint must stay under the
budget as it is; the figures are printed for the record (`pytest -s`).
"""

from __future__ import annotations

import os

import pytest
from startup_probe import measure

BUDGET_S = 1.0


@pytest.mark.skipif(not hasattr(os, "getloadavg") or not os.path.exists("/proc/self/stat"),
                    reason="needs Linux /proc and a pseudo-terminal")
def test_first_screen_within_a_second():
    runs = [measure() for _ in range(3)]
    best = min(first for first, _, _ in runs)
    cpu = min(c for _, c, _ in runs)
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"\nfirst screen: {', '.join(f'{f:.2f}' for f, _, _ in runs)} s (best {best:.2f} s, "
          f"CPU {cpu:.2f} s), load/cpu {load:.1f}")
    assert cpu < BUDGET_S  # what the process itself spent, whatever else runs here
    assert best < BUDGET_S * max(1.0, load)
