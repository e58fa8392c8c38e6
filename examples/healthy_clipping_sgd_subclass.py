"""Healthy: a digits MLP trained by an SGD subclass with its own constructor that clips the
gradient norm inside `step` (a pattern real code uses). The optimizer is handed over as an
instance: the probe deep-copies it together with the model instead of rebuilding it from its
class, so a constructor that takes other arguments than `SGD(params, **defaults)` works."""

import torch
from _digits import digits
from torch import nn
from torch.utils.data import DataLoader


class ClippedSGD(torch.optim.SGD):
    """SGD with momentum whose step first clips the global gradient norm to `max_norm`."""

    def __init__(self, model, lr, max_norm):
        super().__init__(model.parameters(), lr=lr, momentum=0.9)
        self.max_norm = max_norm

    @torch.no_grad()
    def step(self, closure=None):
        params = [p for group in self.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, self.max_norm)
        return super().step(closure)


def setup():
    torch.manual_seed(0)
    train, val = digits()
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=32, shuffle=True),
        "val_data": DataLoader(val, batch_size=256),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": ClippedSGD(model, lr=0.05, max_norm=1.0),
    }
