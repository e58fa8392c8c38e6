"""Instruments attach to any loop through hooks, measure what a hand computation gives, and
leave no hook behind when detached."""

from __future__ import annotations

import torch
from torch import nn

from advisor.instruments import (
    ActivationStats,
    ClippingDetector,
    GradientNorms,
    NonfiniteOrigin,
    StepClock,
    StepTimer,
    UpdateRatios,
)


def model_and_data(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    return model, x, y


def plain_loop(model, opt, x, y, clock, steps=8):
    """A user's loop: the instruments are not part of it."""
    expected = []
    for step in range(steps):
        clock.begin(step)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        expected.append([p.grad.norm().item() for p in model.parameters()])
        opt.step()
    return expected


def test_gradient_norms_match_a_hand_computation_on_the_users_own_loop():
    model, x, y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    clock = StepClock.for_steps(8)
    grads = GradientNorms(clock).attach(model, opt)
    expected = plain_loop(model, opt, x, y, clock)
    grads.detach()
    assert grads.record.steps == list(range(8))
    for got, want in zip(grads.record.norms, expected, strict=True):
        assert torch.allclose(got, torch.tensor(want), rtol=1e-5)
    per, global_ = grads.record.series()
    assert len(global_) == 8 and set(per) == {n for n, _ in model.named_parameters()}


def test_closure_steps_are_measured_after_the_closure_ran():
    model, x, y = model_and_data()
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=3)
    clock = StepClock.for_steps(4)
    grads = GradientNorms(clock).attach(model, opt)
    for step in range(4):
        clock.begin(step)

        def closure():
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            return loss

        opt.step(closure)
    grads.detach()
    assert grads.record.steps == [0, 1, 2, 3]  # the first step too: no gradient existed before


def test_detach_removes_every_hook():
    model, x, y = model_and_data()
    opt = torch.optim.Adam(model.parameters())
    clock = StepClock.for_steps(8)
    instruments = [GradientNorms(clock), UpdateRatios(clock), ActivationStats(clock),
                   StepTimer(clock), NonfiniteOrigin()]
    for instrument in instruments:
        instrument.attach(model, opt)
    assert model._forward_hooks and opt._optimizer_step_pre_hooks
    for instrument in instruments:
        instrument.detach()
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_costly_statistics_are_taken_on_sampled_steps_only():
    model, x, y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    clock = StepClock(planned=12, cadence=4)
    acts, updates = ActivationStats(clock), UpdateRatios(clock)
    acts.attach(model, opt)
    updates.attach(model, opt)
    plain_loop(model, opt, x, y, clock, steps=12)
    acts.detach()
    updates.detach()
    assert [s for s, _ in acts.activity] == [0, 4, 8, 11]
    assert len(updates.ratios) == 4 and all(0 < r < 1 for r in updates.ratios)


def test_nonfinite_origin_names_the_innermost_module():
    class Bad(nn.Module):
        def forward(self, x):
            return torch.log(x - 10)  # NaN for these inputs

    model = nn.Sequential(nn.Linear(2, 2), Bad(), nn.Linear(2, 1))
    origin = NonfiniteOrigin().attach(model)
    with torch.no_grad():
        model(torch.zeros(3, 2))
    origin.detach()
    assert origin.module == "1"


def test_gradients_are_read_before_the_update_so_a_nan_keeps_its_weights():
    """The step hooks receive the optimizer as args[0]: taking it for a closure moved every
    measurement after the update, and the weights that produced a NaN gradient were lost."""
    model, x, y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    clock = StepClock.for_steps(2)
    kept = []
    grads = GradientNorms(clock, on_nonfinite=kept.append).attach(model, opt)
    clock.begin(0)
    opt.zero_grad()
    (nn.functional.cross_entropy(model(x), y) * float("nan")).backward()
    opt.step()
    grads.detach()
    assert kept == [0]


def test_clipping_is_seen_between_backward_and_the_update():
    model, x, y = model_and_data()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    clock = StepClock(planned=8, cadence=1)
    detector = ClippingDetector(clock).attach(model, opt)
    for step in range(4):
        clock.begin(step)
        opt.zero_grad()
        (nn.functional.cross_entropy(model(x), y) * 100).backward()
        if step >= 2:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
    detector.detach()
    assert (detector.checked, detector.clipped) == (4, 2)
