"""The unsafe-operation recorder and the decay share, attached to a user's own loop: they measure
what a hand computation gives, only on sampled steps, and leave no hook or mode behind."""

from __future__ import annotations

import torch
from torch import nn

from advisor.instruments import DecayShare, NumericMargins, StepClock


def log_softmax_by_hand(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.nll_loss(torch.log(torch.softmax(out, dim=1)), y)


def data(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    return model, torch.randn(64, 6), torch.randint(0, 3, (64,))


def test_margin_is_the_smallest_input_to_log_on_sampled_steps_only():
    model, x, y = data()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    clock = StepClock(planned=12, cadence=4)
    margins = NumericMargins(clock).attach(model, opt)
    expected = {}
    for step in range(12):
        clock.begin(step)
        opt.zero_grad()
        out = model(x)
        if clock.sampled:
            expected[step] = float(torch.softmax(out.detach(), 1).min())
        log_softmax_by_hand(out, y).backward()
        opt.step()
    margins.detach()
    rec = margins.record
    assert rec.steps == [0, 4, 8, 11]
    for step, per_op in zip(rec.steps, rec.smallest, strict=True):
        smallest, tiny = per_op["log"]
        assert abs(smallest - expected[step]) <= 1e-6 * max(1.0, expected[step])
        assert tiny == torch.finfo(torch.float32).tiny
    assert torch.overrides._get_current_function_mode_stack() == []


def test_denominators_and_negative_powers_are_watched_but_not_scalars():
    model = nn.Linear(4, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    clock = StepClock(planned=1, cadence=4)
    margins = NumericMargins(clock).attach(model, opt)
    clock.begin(0)
    out = model(torch.randn(8, 4))
    denom = torch.full((8, 4), 1e-3)
    loss = (out / denom).mean() + (1 / (out.abs() + 2.0)).mean()
    loss = loss + (out.abs() + 5.0).pow(-0.5).mean()
    loss = loss + (out / 7.0).mean()  # a constant denominator is not a risk
    loss.backward()
    opt.step()
    margins.detach()
    per_op = margins.record.smallest[0]
    assert abs(per_op["div"][0] - 1e-3) < 1e-9          # the smaller of the two denominators
    assert per_op["pow"][0] >= 5.0
    assert "log" not in per_op


def test_closure_optimizer_and_a_step_that_never_reaches_the_optimizer():
    model, x, y = data()
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=2)
    clock = StepClock(planned=3, cadence=1)
    margins = NumericMargins(clock).attach(model, opt)
    clock.begin(0)
    torch.log(torch.softmax(model(x), 1))  # no optimizer step follows: closed at the next
    clock.begin(1)

    def closure():
        opt.zero_grad()
        loss = log_softmax_by_hand(model(x), y)
        loss.backward()
        return loss

    opt.step(closure)
    margins.detach()
    assert margins.record.steps == [0, 1]
    assert all("log" in s for s in margins.record.smallest[1:])
    assert torch.overrides._get_current_function_mode_stack() == []


def test_decay_share_is_weight_decay_times_weight_over_gradient():
    model, x, y = data()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, weight_decay=0.5)
    clock = StepClock(planned=1, cadence=4)
    decay = DecayShare(clock).attach(model, opt)
    clock.begin(0)
    nn.functional.cross_entropy(model(x), y).backward()
    weights = [p for p in model.parameters() if p.dim() >= 2]
    want = sorted(float(0.5 * w.detach().norm() / w.grad.norm()) for w in weights)
    opt.step()
    decay.detach()
    assert len(decay.ratios) == 1
    assert abs(decay.ratios[0] - float(torch.tensor(want, dtype=torch.float64).median())) < 1e-6


def test_no_decay_no_record():
    model, x, y = data()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    clock = StepClock(planned=1, cadence=4)
    decay = DecayShare(clock).attach(model, opt)
    clock.begin(0)
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    decay.detach()
    assert decay.ratios == []
