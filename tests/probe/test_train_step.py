"""The user's own training step, optimizers of any class, scheduler and scaler factories: the
probe drives the user's code on its copies and never the user's own objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor
from advisor.probing.api import run_setup
from advisor.probing.context import ProbeOptions
from advisor.probing.setup import ProbeSetupError, load_setup

from .helpers import FAST, small_setup
from .test_nothing_lost import assert_same, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICK = {"steps": 30, "budget": 300.0}


def probe_example(name: str, steps: int = 30):
    return run_setup(load_setup(str(EXAMPLES / f"{name}.py")),
                     ProbeOptions(steps=steps, budget=300.0, quiet=True))


@pytest.mark.parametrize("name", ["healthy_lbfgs_closure", "healthy_clipping_sgd_subclass",
                                  "healthy_steplr_train_step", "healthy_onecycle_scheduler",
                                  "healthy_grad_scaler"])
def test_real_program_shapes_train(name):
    """LBFGS with a closure, an SGD subclass with its own constructor, StepLR and OneCycleLR
    factories and a GradScaler: each trains without an error and the loss comes down."""
    report = probe_example(name)
    assert report.fact("runtime.error") == "none", report.fact("runtime.error_message")
    assert report.fact("train.final_loss") < report.fact("loss.initial")
    assert report.details["training_steps"] == 30


def _clipped_sgd():
    class ClippedSGD(torch.optim.SGD):
        def __init__(self, model, lr, max_norm):  # not SGD(params, **defaults)
            super().__init__(model.parameters(), lr=lr, momentum=0.9)
            self.max_norm = max_norm

        def step(self, closure=None):
            torch.nn.utils.clip_grad_norm_(
                [p for g in self.param_groups for p in g["params"]], self.max_norm)
            return super().step(closure)
    return ClippedSGD


def test_optimizer_subclass_with_its_own_constructor_is_copied_not_rebuilt():
    setup = small_setup()
    setup["optimizer"] = _clipped_sgd()(setup["model"], lr=0.05, max_norm=1.0)
    before = snapshot(setup)
    report = advisor.probe(**setup, **FAST)
    assert report.fact("runtime.error") == "none", report.fact("runtime.error_message")
    assert report.fact("optim.lr") == 0.05
    assert_same(before, snapshot(setup))


def test_a_scheduler_patched_optimizer_never_steps_the_users_parameters():
    """An LRScheduler wraps `optimizer.step` on the instance, calling the optimizer it was made
    for: a copy that kept that wrapper would update the user's own parameters."""
    setup = small_setup()
    torch.optim.lr_scheduler.StepLR(setup["optimizer"], step_size=5)
    before = snapshot(setup)
    report = advisor.probe(**setup, **FAST)
    assert report.fact("runtime.error") == "none"
    assert_same(before, snapshot(setup))


def test_scheduler_factory_builds_one_per_copy_and_is_stepped_per_step():
    built = []

    def factory(opt):
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
        built.append(sched)
        return sched

    setup = small_setup(scheduler=factory)
    report = advisor.probe(**setup, **FAST)
    assert report.fact("runtime.error") == "none"
    assert built and all(s.optimizer is not setup["optimizer"] for s in built)
    assert max(s.last_epoch for s in built) == FAST["steps"]  # the training run's


def test_train_step_receives_copies_and_a_scheduler_it_steps_itself():
    seen = {"models": set(), "calls": 0}
    setup = small_setup()
    user_model, user_opt = setup["model"], setup["optimizer"]

    def train_step(model, batch, optimizer, scheduler=None):
        assert model is not user_model and optimizer is not user_opt
        seen["models"].add(id(model))
        seen["calls"] += 1
        x, y = batch
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        return loss

    setup.update(train_step=train_step,
                 scheduler=lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, 0.99))
    before = snapshot(setup)
    report = advisor.probe(**setup, **FAST)
    assert report.fact("runtime.error") == "none", report.fact("runtime.error_message")
    assert seen["calls"] >= FAST["steps"] and len(seen["models"]) >= 2
    assert report.fact("loss.trend") is not None
    assert_same(before, snapshot(setup))


def test_train_step_that_returns_nothing_is_a_setup_error():
    setup = small_setup(train_step=lambda model, batch, optimizer: None)
    with pytest.raises(ProbeSetupError, match="must return the loss"):
        advisor.probe(**setup, **FAST)


@pytest.mark.parametrize("key", ["scheduler", "scaler"])
def test_scheduler_or_scaler_objects_are_refused_with_the_factory_form(key):
    setup = small_setup()
    obj = (torch.optim.lr_scheduler.StepLR(setup["optimizer"], 5) if key == "scheduler"
           else torch.amp.GradScaler("cpu"))
    with pytest.raises(ProbeSetupError, match=f"'{key}' is .*give a callable"):
        advisor.probe(**{**setup, key: obj}, **FAST)


def test_model_returning_a_tuple_the_loss_cannot_take_gets_the_remedy():
    class TupleOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return self.fc(x), x.mean()

    setup = small_setup(model=TupleOut(), optimizer=None)
    with pytest.raises(ProbeSetupError, match="returns a tuple.*train_step"):
        advisor.probe(**setup, **FAST)


def test_a_tuple_loss_that_fails_on_values_is_the_users_error_not_a_setup_error():
    """A VAE-style model returns (reconstruction, mu, logvar) and its loss takes the tuple;
    when the values break the loss (outputs outside [0, 1] for BCELoss, as a broken init
    gives), the run records the user's error instead of refusing the setup."""
    class TupleOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            return self.fc(x) * 10, x.mean()  # not probabilities

    def loss_fn(outputs, targets):
        recon, _ = outputs
        return F.binary_cross_entropy(recon, targets)

    x = torch.rand(64, 8)
    setup = small_setup(model=TupleOut(), optimizer=None, loss_fn=loss_fn,
                        train_data=DataLoader(TensorDataset(x, x), batch_size=16),
                        task="regression")
    report = advisor.probe(**setup, **FAST)
    assert report.facts["runtime.error"] == "bce_input_range"


def test_user_error_names_the_users_file_and_line(tmp_path):
    source = tmp_path / "boom_setup.py"
    source.write_text(
        "import torch\nfrom torch import nn\nfrom torch.utils.data import DataLoader, "
        "TensorDataset\n\n"
        "class Boom(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n"
        "        self.calls = 0\n"
        "    def forward(self, x):\n"
        "        self.calls += 1\n"
        "        if self.calls > 12:\n"
        "            raise RuntimeError('boom at call %d' % self.calls)\n"
        "        return self.fc(x)\n\n"
        "def setup():\n"
        "    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))\n"
        "    return {'model': Boom(), 'train_data': DataLoader(TensorDataset(x, y), 8),\n"
        "            'loss_fn': nn.CrossEntropyLoss()}\n")
    report = run_setup(load_setup(str(source)), ProbeOptions(**QUICK, quiet=True))
    assert report.fact("runtime.error") == "other"
    assert "boom at call" in report.fact("runtime.error_message")
    assert report.details["runtime_error_where"] == f"{source}:13"


def test_system_exit_in_the_users_forward_is_an_observation():
    class Exits(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.calls = nn.Linear(8, 4), 0

        def forward(self, x):
            self.calls += 1
            if self.calls > 20:
                raise SystemExit(3)
            return self.fc(x)

    report = advisor.probe(**small_setup(model=Exits(), optimizer=None), **FAST)
    assert report.fact("runtime.error") == "other"
    assert "sys.exit(3)" in report.fact("runtime.error_message")


class _NoRoomToCopy:
    """Stands for a tensor too big to copy: copying it fails the way an allocation does."""

    def __init__(self, error: BaseException):
        self.error = error

    def __deepcopy__(self, memo):
        raise self.error


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError(
    "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")])
def test_a_model_too_big_to_copy_says_how_much_and_what_to_do(error):
    setup = small_setup()
    setup["model"].weights_cache = _NoRoomToCopy(error)
    with pytest.raises(ProbeSetupError) as info:
        advisor.probe(**setup, **FAST)
    message = str(info.value)
    assert "not enough memory for a copy of the model" in message
    assert "MB of parameters" in message and "smaller configuration" in message
    assert "lock" not in message


def test_a_model_that_cannot_be_copied_for_another_reason_says_why():
    import threading

    setup = small_setup()
    setup["model"].lock = threading.Lock()
    with pytest.raises(ProbeSetupError, match="cannot be deep-copied"):
        advisor.probe(**setup, **FAST)


def test_a_warmup_scheduler_does_not_slow_the_overfit_test():
    """A scheduler rewrites the rate when it is built (warmup, OneCycleLR): the overfit test,
    which runs without the schedule, must use the optimizer's own rate, not the warmup's
    first, tiny one (found on a nanoGPT port: 1e-3/101)."""
    def warmup(opt):
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: (step + 1) / 101)

    report = advisor.probe(**small_setup(scheduler=warmup), **FAST)
    assert report.fact("runtime.error") == "none"
    assert report.details["overfit"]["optimizer"] == "user"
    assert report.fact("overfit.passed") is True


def test_a_schedule_that_ends_at_zero_is_not_untrained_and_the_configured_rate_is_reported():
    """A cosine schedule reaching 0 at the end of the run left every parameter 'untrained'
    (the rate was read after the run), and OneCycleLR's first rate was reported as optim.lr."""
    def cosine(opt):
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=FAST["steps"])

    report = advisor.probe(**small_setup(scheduler=cosine), **FAST)
    assert report.fact("wiring.untrained_params") == 0
    assert "untrained_parameters" not in report.ids()

    def one_cycle(opt):
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=1000)

    report = advisor.probe(**small_setup(scheduler=one_cycle), **FAST)
    assert report.fact("optim.lr") == 1e-3


def test_clipping_in_the_users_step_is_measured():
    def clipped_step(model, batch, optimizer):
        x, y = batch
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)  # always triggers
        optimizer.step()
        return loss

    report = advisor.probe(**small_setup(train_step=clipped_step), **FAST)
    assert report.fact("training.gradient_clipping") is True
    plain = advisor.probe(**small_setup(), **FAST)
    assert plain.fact("training.gradient_clipping") is None  # never measured false
