"""Two-input batches: a sample is all of its inputs together (issue 9, siamese pairs).

Pairs that share their first input and differ in the second have different targets by design;
reading the first input only made them look like one input with two labels."""

from __future__ import annotations

import torch
from torch import nn

from advisor.facts.labels import duplicate_conflicts
from advisor.probing.data_scan import scan


def _pairs(n: int = 256, anchors: int = 8, seed: int = 0):
    """(first, second, same): few distinct first inputs, each paired with many second inputs;
    the target says whether both come from the same of two clusters."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(2, 6, generator=g) * 4
    anchor_class = torch.randint(0, 2, (anchors,), generator=g)
    anchor_x = centers[anchor_class] + torch.randn(anchors, 6, generator=g)
    pick = torch.randint(0, anchors, (n,), generator=g)
    second_class = torch.randint(0, 2, (n,), generator=g)
    first = anchor_x[pick]
    second = centers[second_class] + torch.randn(n, 6, generator=g)
    same = (anchor_class[pick] == second_class).float()
    return first, second, same


class PairNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(6, 4)
        self.head = nn.Linear(8, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.embed(a), self.embed(b)], 1)).squeeze(1)


def test_pairs_given_to_a_step_are_one_sample_each():
    first, second, same = _pairs()
    batches = [(first[i:i + 32], second[i:i + 32], same[i:i + 32]) for i in range(0, 256, 32)]

    def step(model, batch):
        a, b, y = batch
        return model(a, b), y

    result = scan(batches, step=step, model=PairNet())
    conflicts = duplicate_conflicts(result.record())
    assert conflicts is not None and conflicts < 0.02


def test_pairs_as_a_tuple_of_inputs_are_one_sample_each():
    first, second, same = _pairs(seed=1)
    batches = [((first[i:i + 32], second[i:i + 32]), same[i:i + 32]) for i in range(0, 256, 32)]
    result = scan(batches)
    conflicts = duplicate_conflicts(result.record())
    assert conflicts is not None and conflicts < 0.02


def test_a_repeated_input_with_two_labels_is_still_a_conflict():
    """The same pair seen with two targets is what the duplicate test is for."""
    first, second, same = _pairs(seed=2)
    flipped = 1 - same
    batches = [((first[i:i + 32], second[i:i + 32]), same[i:i + 32]) for i in range(0, 128, 32)]
    batches += [((first[i:i + 32], second[i:i + 32]), flipped[i:i + 32])
                for i in range(0, 128, 32)]
    conflicts = duplicate_conflicts(scan(batches).record())
    assert conflicts is not None and conflicts > 0.3
