"""Dense prediction end to end: a one-channel segmentation net with BatchNorm, trained at
batch 1 on (N, H, W) masks by a loss that squeezes the channel (issue 9: read as a multilabel
task with H*W classes, a silent broadcast, and BatchNorm on a single value)."""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advisor
from advisor.probing.collectors.structure import loss_handles_shapes


def _masks(n: int = 40, size: int = 12):
    g = torch.Generator().manual_seed(0)
    images = 0.3 * torch.rand(n, 3, size, size, generator=g)
    masks = torch.zeros(n, size, size)
    for i in range(n):
        y, x = torch.randint(1, size - 5, (2,), generator=g).tolist()
        masks[i, y:y + 4, x:x + 4] = 1.0
        images[i, :, y:y + 4, x:x + 4] += 0.6
    return images, masks


BCE = nn.BCEWithLogitsLoss()


def squeezed_bce(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    return BCE(logits.squeeze(1), masks)


def test_a_one_channel_mask_net_at_batch_one_is_not_misread():
    torch.manual_seed(0)
    images, masks = _masks()
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.Conv2d(8, 1, 1))
    loader = DataLoader(TensorDataset(images, masks), batch_size=1, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    report = advisor.probe(model, loader, squeezed_bce,
                           torch.optim.Adam(model.parameters(), lr=1e-3), steps=10, budget=120)
    assert report.facts["task.kind"] == "binary"
    assert report.facts["model.output_size"] == 1
    assert report.facts["wiring.target_shape_mismatch"] is False
    assert report.facts["model.output_class_mismatch"] is False
    assert report.facts["model.batchnorm_min_values"] == 12 * 12
    assert report.facts["data.class_imbalance_ratio"] < 10  # pixels, not argmax positions
    ids = report.ids()
    for wrong in ("batchnorm_single_sample", "output_size_mismatch", "target_shape_mismatch"):
        assert wrong not in ids


def test_a_loss_that_broadcasts_is_still_a_mismatch():
    out, target = torch.randn(8, 1), torch.randn(8)
    mse = nn.MSELoss()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = mse(out, target)
    assert not loss_handles_shapes(mse, out, target, loss)
    logits, masks = torch.randn(4, 1, 6, 6), (torch.rand(4, 6, 6) > 0.5).float()
    assert loss_handles_shapes(squeezed_bce, logits, masks, squeezed_bce(logits, masks))
