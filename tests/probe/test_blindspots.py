"""Issue 9, generality fixes: ranges that depend on the optimizer, specific causes reported as
themselves, and the short-run blind spots (a margin that runs out later, gradients that will
explode, an adaptive rate far too high while the loss still falls). Small synthetic setups,
real torch, the real knowledge base."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor
from advisor.probing.api import diagnose
from advisor.probing.collectors.model import observe_optimizer
from advisor.probing.facts import Observations

from .helpers import blobs

STEPS, BUDGET = 200, 600.0  # the steps bound the run; the budget is only a cap


def fact(report, name):
    value = report.facts.get(name)
    return value.get("value") if isinstance(value, dict) else value


def top(report, n=3):
    """The ids of the first n warnings and errors, in report order."""
    return [d["id"] for d in report.diagnoses if d["severity"] in ("error", "warning")][:n]


def ids(report):
    return {d["id"] for d in report.diagnoses}


def loader(x, y, batch=32):
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True,
                      generator=torch.Generator().manual_seed(0))


def classifier():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 4))


# ----------------------------------------------------------------- ranges per optimizer
@pytest.mark.parametrize("make, kind", [
    (lambda p: torch.optim.Adadelta(p, lr=1.0), "adadelta"),
    (lambda p: torch.optim.LBFGS(p, lr=1), "lbfgs"),
    (lambda p: torch.optim.Adagrad(p, lr=0.01), "adagrad"),
    (lambda p: torch.optim.NAdam(p, lr=2e-3), "adam"),
    (lambda p: torch.optim.AdamW(p, lr=1e-3), "adamw"),
])
def test_optimizer_kind_beyond_sgd_and_adam(make, kind):
    obs = Observations()
    observe_optimizer(make(nn.Linear(3, 2).parameters()), False, obs)
    assert obs.get("optim.kind") == kind


@pytest.mark.parametrize("facts, expected", [
    ({"optim.kind": "adadelta", "optim.lr": 1.0}, False),
    ({"optim.kind": "lbfgs", "optim.lr": 1.0}, False),
    ({"optim.kind": "sgd", "optim.lr": 20.0, "training.gradient_clipping": True}, False),
    ({"optim.kind": "sgd", "optim.lr": 5.0, "training.gradient_clipping": True}, False),
    ({"optim.kind": "adam", "optim.lr": 0.1}, True),
    ({"optim.kind": "adadelta", "optim.lr": 100.0}, True),
])
def test_learning_rate_range_depends_on_the_optimizer_and_clipping(facts, expected):
    healthy_run = {"loss.trend": "decreasing", "loss.relative_decrease": 0.4,
                   "loss.nonfinite": False}
    found, _, _, problem = diagnose(healthy_run | facts)
    assert problem is None
    assert ("hyperparameter_out_of_range" in {d["id"] for d in found}) is expected


# ----------------------------------------------------------------- specific causes first
@pytest.mark.slow
def test_extreme_momentum_is_reported_as_itself_above_the_symptoms():
    x, y = blobs(n=512, classes=4, dim=8)
    model = classifier()
    report = advisor.probe(model, loader(x, y), nn.CrossEntropyLoss(),
                           torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.999),
                           steps=STEPS, budget=BUDGET)
    assert top(report)[0] == "momentum_too_high"
    order = [d["id"] for d in report.diagnoses]
    assert order.index("momentum_too_high") < order.index("loss_diverging")


@pytest.mark.slow
def test_weight_decay_that_outweighs_the_gradient_is_reported_as_itself():
    x, y = blobs(n=512, classes=4, dim=8)
    model = classifier()
    report = advisor.probe(model, loader(x, y), nn.CrossEntropyLoss(),
                           torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9,
                                           weight_decay=1.0),
                           steps=STEPS, budget=BUDGET)
    assert fact(report, "optim.decay_grad_ratio") >= 0.5
    assert top(report)[0] == "weight_decay_too_high"


# ----------------------------------------------------------------- short-run blind spots
def hand_written_log_softmax(out, target):
    return nn.functional.nll_loss(torch.log(torch.softmax(out, dim=1)), target)


@pytest.mark.slow
def test_log_of_a_saturating_softmax_is_seen_before_it_overflows():
    """Adam at 1e-2 on separable data: the logits grow steadily, so the smallest probability
    handed to log drifts towards zero; no NaN within the probe's steps."""
    x, y = blobs(n=512, classes=4, dim=8)
    model = classifier()
    report = advisor.probe(model, loader(x, y), hand_written_log_softmax,
                           torch.optim.Adam(model.parameters(), lr=0.01),
                           steps=STEPS, budget=BUDGET)
    assert fact(report, "loss.nonfinite") is False
    assert fact(report, "numerics.unsafe_op") == "log"
    assert fact(report, "numerics.margin_trend") < 0
    assert "numerically_unsafe_op" in top(report)


@pytest.mark.slow
def test_the_same_model_with_log_softmax_has_no_unsafe_margin():
    x, y = blobs(n=512, classes=4, dim=8)
    model = classifier()
    report = advisor.probe(model, loader(x, y), nn.CrossEntropyLoss(),
                           torch.optim.Adam(model.parameters(), lr=0.01),
                           steps=STEPS, budget=BUDGET)
    assert fact(report, "numerics.unsafe_margin") is None
    assert "numerically_unsafe_op" not in ids(report)


def edge_of_stability_regression():
    """Plain SGD just above the stability limit of one input direction (variance 100): the
    other directions converge, so the loss falls first, while the error along that direction
    grows 1 % per step and blows the run up a few hundred steps after the probe's end."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    x[:, 0] *= 10
    w_true = torch.ones(8, 1)
    w_true[0] = 0
    model = nn.Linear(8, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
        model.weight[0, 0] = 1e-3
    return dict(model=model, train_data=DataLoader(TensorDataset(x, x @ w_true), batch_size=256),
                loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.01144))


@pytest.mark.slow
def test_gradients_that_will_explode_are_warned_about_while_the_loss_still_falls():
    report = advisor.probe(**edge_of_stability_regression(), steps=STEPS, budget=BUDGET)
    assert fact(report, "loss.trend") == "decreasing"
    assert fact(report, "grad.norm_log_slope") >= 0.3
    assert "exploding_gradients_ahead" in top(report)


class TinyTransformerLM(nn.Module):
    def __init__(self, vocab: int = 50, d: int = 32, length: int = 35):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, length, d))
        self.enc = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, vocab)

    def forward(self, x):
        n = x.shape[1]
        mask = torch.triu(torch.full((n, n), float("-inf")), 1)
        h = self.enc(self.emb(x) + self.pos[:, :n], src_mask=mask)
        return self.out(h).reshape(-1, self.out.out_features)


def markov_text(vocab: int = 50, length: int = 35):
    g = torch.Generator().manual_seed(0)
    trans = torch.softmax(torch.randn(vocab, vocab, generator=g) * 3, 1)
    toks = [0]
    for _ in range(8000):
        toks.append(int(torch.multinomial(trans[toks[-1]], 1, generator=g)))
    t = torch.tensor(toks)
    n = (len(t) - 1) // length
    return t[:n * length].reshape(n, length), t[1:n * length + 1].reshape(n, length)


@pytest.mark.slow
def test_adamw_far_above_its_rate_on_a_transformer_is_named_while_the_loss_falls():
    x, y = markov_text()
    torch.manual_seed(0)
    model = TinyTransformerLM()
    report = advisor.probe(model, loader(x, y, batch=20),
                           lambda out, t: nn.functional.cross_entropy(out, t.reshape(-1)),
                           torch.optim.AdamW(model.parameters(), lr=0.1),
                           steps=STEPS, budget=BUDGET)
    assert fact(report, "loss.trend") == "decreasing"
    assert "lr_too_high" in top(report)
