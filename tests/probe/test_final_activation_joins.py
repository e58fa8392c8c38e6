"""The output's activation follows the op that produced it, through a join (issue 9: a ReLU
on outputs joined by torch.cat read as "no final activation")."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advisor.probing.collectors.structure import final_activation
from advisor.probing.trace import ForwardTrace


class TwoHeads(nn.Module):
    def __init__(self, tail_a, tail_b, join=lambda parts: torch.cat(parts, 1)):
        super().__init__()
        self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 3)
        self.tail_a, self.tail_b, self.join = tail_a, tail_b, join

    def forward(self, x):
        return self.join([self.tail_a(self.a(x)), self.tail_b(self.b(x))])


def _final(model: nn.Module) -> str:
    tracer = ForwardTrace()
    with tracer:
        out = model(torch.randn(5, 4))
    return final_activation(tracer, out)[0]


@pytest.mark.parametrize("tail_a, tail_b, join, expected", [
    (F.relu, F.relu, lambda p: torch.cat(p, 1), "relu"),
    (torch.sigmoid, torch.sigmoid, lambda p: torch.cat(p, dim=-1).view(5, -1), "sigmoid"),
    (F.relu, torch.sigmoid, lambda p: torch.cat(p, 1), "other"),
    (F.relu, lambda h: h, lambda p: torch.cat(p, 1), "none"),
    (lambda h: h, lambda h: h, lambda p: torch.cat(p, 1), "none"),
    (torch.tanh, torch.tanh, lambda p: torch.stack([p[0][:, :2], p[1][:, :2]], 1), "tanh"),
])
def test_activation_of_joined_outputs(tail_a, tail_b, join, expected):
    assert _final(TwoHeads(tail_a, tail_b, join)) == expected


def test_a_single_path_is_read_as_before():
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    assert _final(model) == "softmax"
