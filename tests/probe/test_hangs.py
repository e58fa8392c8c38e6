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


MISBEHAVING = '''
import os
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.calls = nn.Linear(4, 2), 0

    def forward(self, x):
        self.calls += 1
        if self.calls >= 15:
            WHAT
        return self.fc(x)


def setup():
    torch.manual_seed(0)
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    return {"model": Net(), "train_data": DataLoader(TensorDataset(x, y), batch_size=8),
            "loss_fn": nn.CrossEntropyLoss()}
'''


@pytest.mark.slow
@pytest.mark.parametrize("what, said", [
    ("while True: pass", "did not return within"),
    ("os._exit(7)", "ended the process (exit code 7)"),
])
def test_advisor_probe_exits_4_with_a_partial_report(tmp_path, what, said):
    import json
    import subprocess
    import sys

    setup = tmp_path / "misbehaving.py"
    setup.write_text(MISBEHAVING.replace("WHAT", what))
    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "advisor", "probe", str(setup), "--budget",
                           "2", "--steps", "30", "-q", "--json", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 4, done.stderr[-2000:]
    assert said in done.stderr and "partial report written to" in done.stderr
    report = json.loads(out.read_text())
    assert report["partial"] is True
    assert any(said in note for note in report["observations"]["notes"])
