"""The small-batch overfit test on program shapes beyond "samples first": sequence-major batches
with flattened targets and a carried hidden state (issue 9, generality fixes)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

import advisor
from advisor.experiments.samples import SampleLayout
from advisor.probing.api import run_setup
from advisor.probing.options import ProbeOptions

from .helpers import FAST

VOCAB, SEQ, BATCH = 12, 10, 20


class CarriedLSTM(nn.Module):
    """A word-LM in the style of pytorch/examples: (seq, batch) tokens in, (seq*batch, vocab)
    log-probabilities out, the hidden state carried between calls (detached), re-initialised
    when the batch size changes."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 16)
        self.rnn = nn.LSTM(16, 32)
        self.out = nn.Linear(32, VOCAB)
        self.hidden = None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.hidden is None or self.hidden[0].size(1) != tokens.size(1):
            zeros = tokens.new_zeros((1, tokens.size(1), 32), dtype=torch.float32)
            self.hidden = (zeros, zeros.clone())
        out, hidden = self.rnn(self.emb(tokens), self.hidden)
        self.hidden = tuple(h.detach() for h in hidden)
        return torch.log_softmax(self.out(out), -1).view(-1, VOCAB)


def sequence_major_setup() -> dict:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    stream = (torch.arange(4000) * 7 + torch.randint(0, 2, (4000,), generator=g)) % VOCAB
    cols = stream[: (len(stream) // BATCH) * BATCH].view(BATCH, -1).t().contiguous()
    batches = [(cols[i:i + SEQ], cols[i + 1:i + 1 + SEQ].reshape(-1))
               for i in range(0, cols.size(0) - 1 - SEQ, SEQ)]
    model = CarriedLSTM()
    loss = nn.NLLLoss()

    def train_step(model, batch, optimizer):
        data, targets = batch
        model.zero_grad()
        value = loss(model(data), targets)
        value.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        return value

    return {"model": model, "train_data": batches, "loss_fn": loss, "train_step": train_step,
            "optimizer": torch.optim.SGD(model.parameters(), lr=5.0), "task": "multiclass"}


def test_layout_cuts_the_batch_dimension_and_flattened_targets():
    x = torch.arange(SEQ * BATCH).view(SEQ, BATCH)
    y = x.reshape(-1) + 1000
    small = SampleLayout(x, 1).take((x, y), 4)
    assert small[0].shape == (SEQ, 4)
    assert torch.equal(small[1], small[0].reshape(-1) + 1000)
    doubled = SampleLayout(x, 1).doubled((x, y))
    assert doubled[0].shape == (SEQ, 2 * BATCH)
    assert torch.equal(doubled[1], doubled[0].reshape(-1) + 1000)


def test_overfit_test_memorises_sequences_of_a_sequence_major_batch():
    """It cut the first dimension (time steps): the step failed and there was no verdict."""
    report = advisor.probe(**sequence_major_setup(), **FAST)
    assert report.fact("runtime.error") == "none", report.fact("runtime.error_message")
    overfit = report.details["overfit"]
    assert overfit["samples"] == 16
    assert report.fact("overfit.passed") is not None


def _context(model: nn.Module):
    """The parts of a ProbeContext the sample-axis measurement uses."""
    import copy
    from types import SimpleNamespace

    return SimpleNamespace(setup=SimpleNamespace(step=None), device=torch.device("cpu"),
                           fresh_model=lambda: copy.deepcopy(model), on_device=lambda b: b)


def test_a_recurrent_memory_that_fades_does_not_make_time_the_sample_axis():
    """On the word-LM port the first time step's influence faded below the old tolerance
    after a few steps, so time looked like the samples and the overfit test cut time steps."""
    from advisor.experiments.samples import sample_axis

    torch.manual_seed(0)
    model = CarriedLSTM()
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(0.05)  # a short memory
    tokens = torch.randint(0, VOCAB, (35, BATCH))
    assert sample_axis(_context(model), (tokens, tokens.reshape(-1))) == 1
    images = torch.randn(8, 1, 6, 6)
    conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1))
    assert sample_axis(_context(conv), (images, images)) == 0


def test_a_memorisation_still_running_at_a_slow_rate_gets_the_suggested_rate():
    """At the user's slow rate the small batch is still being memorised when the steps run
    out ("not finished"); the test then tries the LR range test's suggestion on the same
    batch, as for any inconclusive run, and gives a verdict."""
    from advisor.probing.setup import load_setup

    root = Path(__file__).resolve().parents[2]
    report = run_setup(load_setup(str(root / "examples" / "healthy_iris_no_optimizer.py")),
                       ProbeOptions(steps=200, budget=600, quiet=True))
    overfit = report.details["overfit"]
    assert overfit["optimizer"].startswith("suggested_lr_"), overfit
    assert report.facts["overfit.passed"] is True
