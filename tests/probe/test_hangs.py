"""User code that never returns: the in-process watchdog stops it, the probe returns a partial
report that names what hung, where and when, and every global is put back."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import advisor
from advisor.probing.watchdog import HANG_DETAIL

from .helpers import small_setup


class HangsAtCall(nn.Module):
    """A linear model whose forward loops forever (pure Python) from its Nth call on."""

    def __init__(self, n: int):
        super().__init__()
        self.fc, self.n, self.calls = nn.Linear(8, 4), n, 0

    def forward(self, x):
        self.calls += 1
        while self.calls >= self.n:
            pass
        return self.fc(x)


@pytest.mark.slow
def test_a_forward_that_never_returns_ends_the_probe_with_a_report():
    threads = torch.get_num_threads()
    model = HangsAtCall(40)
    setup = small_setup(model=model, optimizer=None)
    report = advisor.probe(**setup, steps=30, budget=2.0)
    hang = report.details[HANG_DETAIL]
    assert hang["activity"] == "forward"
    assert hang["phase"] in ("training", "lr range test", "overfit test")
    assert report.partial
    assert any("did not return within" in note for note in report.notes)
    assert torch.get_num_threads() == threads  # globals restored
