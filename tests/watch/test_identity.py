"""Nothing changes for the user's training (issue 10, point 5): with sampled statistics a seeded
script's losses are bit-identical with and without the watch, and the watcher never moves,
copies or casts the user's tensors.

The losses are compared as the scripts print them (`repr` of the float: every bit), for a model
with dropout (the watch must not draw from the RNG the dropout masks come from) and for a
DataLoader with shuffle (nor from the one that orders the batches).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor

REPO = Path(__file__).resolve().parents[2]

SEEDED = """\
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(1234)
data = TensorDataset(torch.randn(256, 16), torch.randint(0, 4, (256,)))
loader = DataLoader(data, batch_size=16, shuffle=True)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 64),
                      nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 4))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
step = 0
for epoch in range(3):
    for x, y in loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        print("loss", step, repr(loss.item()), flush=True)
        step += 1
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ADVISOR_KB_PATH", "ADVISOR_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    return env


def _losses(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("loss ")]


@pytest.mark.slow
def test_a_seeded_scripts_losses_are_bit_identical_under_watch(tmp_path):
    script = tmp_path / "seeded.py"
    script.write_text(textwrap.dedent(SEEDED), encoding="utf-8")
    plain = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(),
                           capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stderr
    watched = subprocess.run([sys.executable, "-m", "advisor", "watch", "--follow",
                              "--json", "r.json", str(script)],
                             cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=600)
    assert watched.returncode == 0, watched.stderr
    expected = _losses(plain.stdout)
    assert len(expected) == 48                      # 3 epochs of 16 shuffled batches
    assert _losses(watched.stdout) == expected      # every bit of every loss
    assert "48 training steps watched" in watched.stdout


# ------------------------------------------------------------------------------ in-process
def _setup(seed: int = 7) -> tuple[nn.Module, torch.optim.Optimizer, DataLoader]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    data = TensorDataset(torch.randn(96, 8), torch.randint(0, 3, (96,)))
    return model, opt, DataLoader(data, batch_size=8, shuffle=True)


def _train(model: nn.Module, opt: torch.optim.Optimizer, loader: DataLoader) -> list[float]:
    losses = []
    for _ in range(2):
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def _tensor_facts(model: nn.Module) -> list[tuple[int, torch.dtype, torch.device, int, bool]]:
    return [(id(p), p.dtype, p.device, p.data_ptr(), p.requires_grad)
            for p in model.parameters()]


def _state_facts(opt: torch.optim.Optimizer) -> tuple[object, ...]:
    sd = opt.state_dict()
    per_param = {k: sorted((n, (v.dtype, v.device, tuple(v.shape)) if torch.is_tensor(v)
                            else type(v)) for n, v in s.items())
                 for k, s in sd["state"].items()}
    return (sorted(sd.keys()), per_param,
            [sorted(g.keys()) for g in sd["param_groups"]])


@pytest.mark.parametrize("every_step", [False, True])
def test_watch_in_process_changes_neither_losses_nor_tensors(every_step):
    model, opt, loader = _setup()
    plain = _train(model, opt, loader)
    plain_state = _state_facts(opt)

    model, opt, loader = _setup()
    before = _tensor_facts(model)
    params = list(model.parameters())
    backward = torch.autograd.backward
    with advisor.watch(model, opt, steps=24, every_step=every_step) as w:
        watched = _train(model, opt, loader)
        inside = _tensor_facts(model)
        grads = [(p.grad.dtype, p.grad.device) for p in model.parameters()]
    assert watched == plain                               # bit-identical, every step
    assert inside == before and _tensor_facts(model) == before   # same objects, no cast/move
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    assert grads == [(p.dtype, p.device) for p in params]
    assert [p for g in opt.param_groups for p in g["params"]] == params
    assert all(a is b for a, b in zip((p for g in opt.param_groups for p in g["params"]),
                                      params, strict=True))
    assert _state_facts(opt) == plain_state               # optimizer state untouched in kind
    assert w.steps == 24
    # nothing of the watch is left on the user's objects
    assert torch.autograd.backward is backward
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert w.report().details["watch"]["steps_watched"] == 24
