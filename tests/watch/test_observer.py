"""The watcher's counts on small in-process loops: each loop bug moves its own count, and the
healthy patterns (set_to_none, accumulation with the loss divided, clipping, closures, manual
SGD that zeroes) leave every bug count at zero. Real torch, no mocks; bounded by steps."""

from __future__ import annotations

import pytest
import torch
import torch.optim.optimizer as optim_hooks
from torch import nn

import advisor
from advisor.watching import Watch, WatchOptions

STEPS = 24


def _data(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    return x, (x[:, 0] > 0).long()


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def _loop(bug: str = "", steps: int = STEPS, global_mode: bool = False) -> dict:
    """One small loop with BUG injected; the loop's counts as the report's details."""
    x, y = _data()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    if bug == "untrained":
        model = _model()
    crit = nn.CrossEntropyLoss()
    watch = Watch(options=WatchOptions(steps=steps, follow=True)) if global_mode \
        else advisor.watch(model, opt, steps=steps)
    with watch:
        for i in range(steps):
            xb, yb = x[i * 8 % 256:][:8], y[i * 8 % 256:][:8]
            if bug == "eval" and i == 4:
                model.eval()
            if bug not in ("no_zero_grad", "leak"):
                opt.zero_grad(set_to_none=bug != "zero_in_place")
            loss = crit(model(xb), yb)
            if bug == "double":
                loss.backward(retain_graph=True)
            loss.backward()
            if bug == "clip":
                nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            if bug == "leak":
                opt.zero_grad()
                model.eval()
                crit(model(xb), yb).backward()
                model.train()
    return watch.report(diagnose=False).details["loop"]


BUG_COUNTS = [
    ("", {}),
    ("zero_in_place", {}),
    ("clip", {}),
    ("no_zero_grad", {"stale_grad_steps": STEPS - 1}),
    ("double", {"repeated_backwards": STEPS}),
    ("eval", {"eval_mode_backwards": STEPS - 4, "eval_backwards": STEPS - 4}),
    ("leak", {"eval_mode_backwards": STEPS, "eval_backwards": STEPS,
              "eval_backward_leaks": STEPS - 1}),
]
WATCHED = ("stale_grad_steps", "repeated_backwards", "eval_mode_backwards", "eval_backwards",
           "eval_backward_leaks", "accumulation_unscaled_backwards", "manual_stale_updates")


@pytest.mark.parametrize(("bug", "expected"), BUG_COUNTS, ids=[b or "healthy" for b, _ in
                                                                 BUG_COUNTS])
@pytest.mark.parametrize("global_mode", [False, True], ids=["explicit", "global"])
def test_each_bug_moves_its_own_count(bug: str, expected: dict, global_mode: bool) -> None:
    loop = _loop(bug, global_mode=global_mode)
    assert loop["optimizer_steps"] == STEPS
    for key in WATCHED:
        assert loop[key] == expected.get(key, 0), key


def test_optimizer_over_another_models_parameters() -> None:
    loop = _loop("untrained", global_mode=True)
    assert loop["model_tensors_not_in_optimizer"] == 4
    assert loop["optimizer_tensors_outside_models"] == 4
    assert loop["optimizer_tensors_with_grad"] == 0


def _accumulate(divide: bool, k: int = 4) -> dict:
    x, y = _data()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    with advisor.watch(model, opt) as w:
        for i in range(8 * k):
            loss = crit(model(x[i * 8:][:8]), y[i * 8:][:8])
            (loss / k if divide else loss).backward()
            if (i + 1) % k == 0:
                opt.step()
                opt.zero_grad()
    return w.report(diagnose=False).details["loop"]


def test_accumulation_scaling_is_told_apart() -> None:
    good, bad = _accumulate(divide=True), _accumulate(divide=False)
    assert good["backwards_per_step"] == [4] * 8 == bad["backwards_per_step"]
    assert good["stale_grad_steps"] == 0 == bad["stale_grad_steps"]
    assert good["accumulation_unscaled_backwards"] == 0 < good["accumulation_scaled_backwards"]
    assert bad["accumulation_scaled_backwards"] == 0 < bad["accumulation_unscaled_backwards"]


def _manual(zero: bool, steps: int = STEPS) -> dict:
    x, y = _data()
    model = _model()
    crit = nn.CrossEntropyLoss()
    with Watch(options=WatchOptions(steps=steps, follow=True)) as w:
        for i in range(steps):
            crit(model(x[i * 8:][:8]), y[i * 8:][:8]).backward()
            for p in model.parameters():
                p.data -= 0.05 * p.grad
                if zero:
                    p.grad.zero_()
    return w.report(diagnose=False).details["loop"]


def test_manual_updates_without_zeroing() -> None:
    good, bad = _manual(zero=True), _manual(zero=False)
    assert good["optimizer_steps"] == 0 and good["params_changed"] is True
    assert good["manual_updates"] == STEPS - 1 == bad["manual_updates"]
    assert good["manual_stale_updates"] == 0
    assert bad["manual_stale_updates"] == STEPS - 1


def test_backward_without_any_step_leaves_parameters_unchanged() -> None:
    x, y = _data()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    with Watch(options=WatchOptions(steps=STEPS, follow=True)) as w:
        for i in range(STEPS):
            opt.zero_grad()
            crit(model(x[i * 8:][:8]), y[i * 8:][:8]).backward()
    loop = w.report(diagnose=False).details["loop"]
    assert loop["optimizer_steps"] == 0 and loop["backward_passes"] == STEPS
    assert loop["optimizers"] == 1 and loop["params_changed"] is False


def test_closure_optimizer_is_one_step_per_call() -> None:
    x, y = _data()
    model = _model()
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=3)
    crit = nn.CrossEntropyLoss()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = crit(model(x[:32]), y[:32])
        loss.backward()
        return loss

    with advisor.watch(model, opt) as w:
        for _ in range(6):
            opt.step(closure)
    loop = w.report(diagnose=False).details["loop"]
    assert loop["optimizer_steps"] == 6
    assert loop["stale_grad_steps"] == 0 and loop["repeated_backwards"] == 0


def test_scheduler_learning_rates_are_recorded_per_step() -> None:
    x, y = _data()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    crit = nn.CrossEntropyLoss()
    with advisor.watch(model, opt) as w:
        for i in range(12):
            opt.zero_grad()
            crit(model(x[i * 8:][:8]), y[i * 8:][:8]).backward()
            opt.step()
            sched.step()
    assert w.report(diagnose=False).series["lr"] == pytest.approx(
        [0.1] * 5 + [0.05] * 5 + [0.025] * 2)


def test_hooks_and_wrappers_are_removed() -> None:
    before = torch.autograd.backward, torch.amp.GradScaler.scale, torch.amp.GradScaler.step
    model = _model()
    with Watch(options=WatchOptions(steps=4, follow=True)):
        assert torch.autograd.backward is not before[0]
        model(torch.zeros(2, 8))
    assert (torch.autograd.backward, torch.amp.GradScaler.scale,
            torch.amp.GradScaler.step) == before
    assert not torch.nn.modules.module._global_forward_pre_hooks
    assert not torch.nn.modules.module._global_forward_hooks
    assert not optim_hooks._global_optimizer_pre_hooks
    assert not optim_hooks._global_optimizer_post_hooks
    assert not model._forward_pre_hooks and not model._forward_hooks


def test_watch_rejects_what_is_not_a_model() -> None:
    with pytest.raises(advisor.AdvisorError, match="model must be a torch.nn"):
        advisor.watch("model")


def test_gradients_set_by_hand_are_no_stale_gradient() -> None:
    """torch.autograd.grad + `p.grad = g` (meta-learning style): no backward pass happens
    between the steps, so nothing says whether a gradient was reset."""
    x, y = _data()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    params = list(model.parameters())
    with advisor.watch(model, opt) as w:
        for i in range(STEPS):
            loss = crit(model(x[i * 8:][:8]), y[i * 8:][:8])
            for p, g in zip(params, torch.autograd.grad(loss, params), strict=True):
                p.grad = g
            opt.step()
    loop = w.report(diagnose=False).details["loop"]
    assert loop["optimizer_steps"] == STEPS and loop["backward_passes"] == 0
    assert loop["stale_grad_steps"] == 0


def test_adversarial_optimizers_leave_the_loss_trend_unknown() -> None:
    """A GAN's two optimizers minimise losses that fight each other: no loss trend is judged
    (it would read as a loss that does not decrease)."""
    torch.manual_seed(0)
    gen, disc = nn.Linear(4, 2), nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3)
    bce = nn.BCEWithLogitsLoss()
    real = torch.randn(64, 2) + 2
    with Watch(options=WatchOptions(steps=40, follow=True)) as w:
        for _ in range(40):
            fake = gen(torch.randn(64, 4))
            opt_d.zero_grad()
            (bce(disc(real), torch.ones(64, 1))
             + bce(disc(fake.detach()), torch.zeros(64, 1))).backward()
            opt_d.step()
            opt_g.zero_grad()
            bce(disc(fake), torch.ones(64, 1)).backward()
            opt_g.step()
    report = w.report(diagnose=False)
    assert report.details["watch"]["optimizers"] == [{"class": "Adam", "steps": 40}] * 2
    assert "loss.trend" not in report.facts and "grad.norm_growth" not in report.facts
    assert any("optimizers step in turn" in n for n in report.notes)
