"""The same setup and seed give the same facts and diagnoses on an idle and on a loaded
machine: experiments are bounded by steps (the budget only caps them) and the probe runs with a
fixed number of torch threads, so load slows it down without changing what it concludes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from advisor.probing.api import run_setup
from advisor.probing.context import ProbeOptions
from advisor.probing.runner import PROBE_THREADS
from advisor.probing.setup import load_setup

OPTIONS = {"steps": 60, "budget": 900.0, "quiet": True}  # the cap never decides


def demo_report():
    return run_setup(load_setup("advisor.probing.demo_setup:setup"), ProbeOptions(**OPTIONS))


def comparable(report):
    facts = {k: v for k, v in report.facts.items() if not k.startswith("perf.")}
    diagnoses = [(d["id"], d["certainty"]) for d in report.diagnoses]
    return facts, diagnoses, report.details["training_steps"]


@pytest.mark.slow
def test_same_diagnoses_beside_a_cpu_burning_process():
    idle = comparable(demo_report())
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(max(2, os.cpu_count() or 2))]
    try:
        loaded = comparable(demo_report())
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert loaded == idle


def test_the_probe_fixes_torch_threads_and_puts_the_users_back():
    before = torch.get_num_threads()
    torch.set_num_threads(PROBE_THREADS + 1)
    try:
        report = run_setup(load_setup("advisor.probing.demo_setup:setup"),
                           ProbeOptions(steps=12, budget=300.0, quiet=True))
        assert torch.get_num_threads() == PROBE_THREADS + 1
        assert report.details["threads"] == PROBE_THREADS
    finally:
        torch.set_num_threads(before)


def test_a_run_cut_short_by_the_cap_is_not_read_as_a_verdict():
    """A model whose forward sleeps: 200 steps cannot fit a 1 s budget on any machine, so the
    cap cuts the training run; the report says so and does not call the loss flat."""
    from torch import nn

    from .helpers import small_setup

    class Slow(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            import time
            time.sleep(0.02)
            return self.fc(x)

    import advisor
    report = advisor.probe(**small_setup(model=Slow(), optimizer=None), steps=200, budget=1.0)
    assert report.details["training_steps"] < 200
    assert report.details.get("training_capped") is True
    assert "loss.trend" not in report.facts
    assert "overfit.passed" not in report.facts
    assert any("cut short by the time budget" in n for n in report.notes)
