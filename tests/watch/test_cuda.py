"""The watch on CUDA with mixed precision (fp16 autocast + GradScaler). CI has no GPU: these run
where torch sees one and are skipped elsewhere; run them on a GPU machine with
`pytest tests/watch/test_cuda.py`.

What they pin: a GradScaler's skipped steps (inf/NaN gradients fire no optimizer hook) are
counted and are no missing step; the loss is read before scaling; the statistics are taken on
the device without touching the user's tensors; the user's tensors stay on the GPU in fp32."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import advisor

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _train(steps: int, scale: float, huge_loss_at: int | None = None) -> tuple:
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 4)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda", init_scale=scale)
    crit = nn.CrossEntropyLoss()
    x = torch.randn(512, 32, device=dev)
    y = (x[:, 0] > 0).long()
    with advisor.watch(model, opt, steps=steps) as w:
        for i in range(steps):
            xb, yb = x[i * 16 % 512:][:16], y[i * 16 % 512:][:16]
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.float16):
                loss = crit(model(xb), yb)
                if huge_loss_at is not None and i == huge_loss_at:
                    loss = loss * 1e6  # overflows fp16 gradients once: one skipped step
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    return model, w.report()


def test_amp_on_cuda_is_healthy_and_reads_the_unscaled_loss() -> None:
    model, report = _train(steps=120, scale=2.0 ** 16)
    loop = report.details["loop"]
    assert loop["stale_grad_steps"] == 0 and loop["accumulation_unscaled_backwards"] == 0
    assert not [d for d in report.diagnoses if d["severity"] == "error"], report.ids()
    assert max(v for v in report.series["loss"] if v is not None) < 10  # not x 65536
    assert all(p.device.type == "cuda" and p.dtype == torch.float32 for p in model.parameters())
    assert report.device["type"] == "cuda"


def test_skipped_amp_steps_are_counted_not_missing_steps() -> None:
    _, report = _train(steps=60, scale=2.0 ** 24, huge_loss_at=30)
    loop = report.details["loop"]
    assert loop["amp_skipped_steps"] >= 1
    assert loop["optimizer_steps"] + loop["amp_skipped_steps"] == 60
    assert "optimizer_step_missing" not in report.ids()
