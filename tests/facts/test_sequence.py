"""Next-token targets: a language model's class frequencies are the language's, not a fault."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor
from advisor.facts.records import DataRecord
from advisor.facts.sequence import judge_next_token
from advisor.probing.data_scan import next_token_agreement


def test_targets_shifted_by_one_step_in_either_layout():
    stream = torch.randint(0, 50, (21, 8))
    x, y = stream[:-1], stream[1:]
    assert next_token_agreement(x, y.reshape(-1)) == (152, 152)          # (seq, batch), flat
    assert next_token_agreement(x.t().contiguous(), y.t().contiguous()) == (152, 152)
    matches, positions = next_token_agreement(x, torch.randint(0, 50, (20, 8)))
    assert matches < 0.2 * positions
    assert next_token_agreement(x.float(), y) == (0, 0)  # not tokens: not compared


def test_the_judgement_needs_enough_positions_and_token_inputs():
    lm = DataRecord(input_integer=True, next_token_matches=950, next_token_positions=1000)
    assert judge_next_token(lm).facts == {"data.next_token_targets": True}
    tagger = DataRecord(input_integer=True, next_token_matches=30, next_token_positions=1000)
    assert judge_next_token(tagger).facts == {"data.next_token_targets": False}
    assert judge_next_token(DataRecord(input_integer=True, next_token_matches=10,
                                       next_token_positions=10)).facts == {}
    assert judge_next_token(DataRecord(input_integer=False)).facts == {}


def test_a_character_language_model_is_not_told_its_classes_are_imbalanced():
    """Zipf-distributed tokens: class_imbalance fired on every language model."""
    torch.manual_seed(0)
    ranks = torch.arange(1, 41, dtype=torch.float)
    text = torch.multinomial(1 / ranks, 6000, replacement=True)  # a 1/rank token distribution
    windows = text[: 5000 - 5000 % 33].reshape(-1, 33)
    data = TensorDataset(windows[:, :-1], windows[:, 1:])

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn, self.out = nn.Embedding(40, 16), nn.GRU(16, 32,
                                                                        batch_first=True), \
                nn.Linear(32, 40)

        def forward(self, x):
            return self.out(self.rnn(self.emb(x))[0])

    report = advisor.probe(CharLM(), DataLoader(data, batch_size=16, shuffle=True),
                           lambda out, y: nn.functional.cross_entropy(out.reshape(-1, 40),
                                                                      y.reshape(-1)),
                           steps=20, budget=300)
    assert report.fact("data.next_token_targets") is True
    assert report.fact("data.class_imbalance_ratio") >= 10
    assert "class_imbalance" not in report.ids()
