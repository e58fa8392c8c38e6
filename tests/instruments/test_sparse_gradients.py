"""Sparse gradients (nn.Embedding(sparse=True) with SparseAdam, as word2vec programs train) are
measured, not crashed on: the fused dense norm kernel has no sparse version."""

from __future__ import annotations

import torch
from torch import nn

from advisor.instruments.base import StepClock
from advisor.instruments.clipping import ClippingDetector
from advisor.instruments.gradients import GradientNorms


def _sparse_run(steps: int = 4) -> tuple[GradientNorms, ClippingDetector]:
    torch.manual_seed(0)
    emb = nn.Embedding(50, 8, sparse=True)
    opt = torch.optim.SparseAdam(emb.parameters(), lr=1e-2)
    clock = StepClock.for_steps(steps)
    grads = GradientNorms(clock).attach(emb, opt)
    clipping = ClippingDetector(clock).attach(emb, opt)
    for step in range(steps):
        clock.begin(step)
        loss = (emb(torch.randint(0, 50, (16,))).sum(-1) - 1.0).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        if step % 2:  # clipped by hand
            grad = emb.weight.grad
            emb.weight.grad = torch.sparse_coo_tensor(grad._indices(), grad._values() * 0.1,
                                                      grad.shape, check_invariants=False)
        opt.step()
    grads.detach()
    clipping.detach()
    return grads, clipping


def test_sparse_gradient_norms_are_recorded() -> None:
    grads, _ = _sparse_run()
    _, overall = grads.record.series()
    assert len(overall) == 4 and all(v > 0 for v in overall)


def test_clipping_of_a_sparse_gradient_is_seen() -> None:
    _, clipping = _sparse_run()
    assert clipping.checked >= 1
