"""Nothing lost: after the probe the user's parameters, buffers, optimizer state, global RNG
states and DataLoader generators are exactly what they were, also when the user's code raised
or the run was interrupted (then the report is marked partial)."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
import torch

import advisor

from .helpers import FAST, small_setup


def snapshot(setup):
    model, opt, loader = setup["model"], setup["optimizer"], setup["train_data"]
    return {
        "params": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "optimizer": copy.deepcopy(opt.state_dict()),
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "loader": loader.generator.get_state(),
    }


def assert_same(before, after):
    assert before["params"].keys() == after["params"].keys()
    for k in before["params"]:
        assert torch.equal(before["params"][k], after["params"][k]), k
    assert before["training"] == after["training"]
    assert before["requires_grad"] == after["requires_grad"]
    for a, b in zip(before["grads"], after["grads"], strict=True):
        assert (a is None and b is None) or torch.equal(a, b)
    _same_state_dict(before["optimizer"], after["optimizer"])
    assert before["python"] == after["python"]
    for a, b in zip(before["numpy"], after["numpy"], strict=True):
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
    assert torch.equal(before["torch"], after["torch"])
    assert torch.equal(before["loader"], after["loader"])


def _same_state_dict(a, b):
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for k in a["state"]:
        for name, value in a["state"][k].items():
            other = b["state"][k][name]
            assert torch.equal(value, other) if isinstance(value, torch.Tensor) else \
                value == other


def _seed_globals():
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)


def test_probe_leaves_everything_as_it_was():
    setup = small_setup()
    _seed_globals()
    before = snapshot(setup)
    report = advisor.probe(**setup, **FAST)
    assert report.fact("runtime.error") == "none"
    assert report.fact("training.loss_reduction") == "mean"
    assert_same(before, snapshot(setup))


def test_user_error_mid_run_is_an_observation_and_state_is_restored():
    calls = {"n": 0}
    base = torch.nn.CrossEntropyLoss()

    def flaky_loss(out, target):
        calls["n"] += 1
        if calls["n"] > 12:
            raise ValueError("my loss broke")
        return base(out, target)

    setup = small_setup(loss_fn=flaky_loss)
    _seed_globals()
    before = snapshot(setup)
    report = advisor.probe(**setup, **FAST)
    assert report.fact("runtime.error") == "other"
    assert "my loss broke" in report.fact("runtime.error_message")
    assert not report.partial
    assert_same(before, snapshot(setup))


class InterruptingData:
    """Batches from a DataLoader; a KeyboardInterrupt (Ctrl-C) once `after` batches were read."""

    def __init__(self, loader, after):
        self.loader, self.after, self.read = loader, after, 0
        self.generator = loader.generator

    def __iter__(self):
        for batch in self.loader:
            self.read += 1
            if self.read > self.after:
                raise KeyboardInterrupt
            yield batch


def test_interrupt_gives_a_partial_report_and_restores_state():
    setup = small_setup()
    setup["train_data"] = InterruptingData(setup["train_data"], after=30)
    _seed_globals()
    before = snapshot(setup)
    report = advisor.probe(**setup, **FAST)
    assert report.partial
    assert report.to_dict()["partial"] is True
    assert "model.param_count" in report.facts  # what was measured before is kept
    assert_same(before, snapshot(setup))


def test_cuda_rng_state_untouched_when_available():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA here")
    setup = small_setup()
    state = torch.cuda.get_rng_state_all()
    advisor.probe(**setup, **FAST)
    after = torch.cuda.get_rng_state_all()
    assert all(torch.equal(a, b) for a, b in zip(state, after, strict=True))


def test_same_setup_and_seed_give_same_diagnoses():
    first = advisor.probe(**small_setup(), steps=40, budget=100, seed=7)
    second = advisor.probe(**small_setup(), steps=40, budget=100, seed=7)
    assert first.ids() == second.ids()
    timing = ("perf.step_ms", "perf.peak_memory_mb")
    assert {k: v for k, v in first.facts.items() if k not in timing} == \
        {k: v for k, v in second.facts.items() if k not in timing}
