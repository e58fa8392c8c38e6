"""Healthy: iris with a small MLP, no optimizer given (the probe uses Adam at 3e-4 and says so),
a custom step function for batches that are dicts."""

import torch
from sklearn.datasets import load_iris
from torch import nn


def setup():
    torch.manual_seed(0)
    x, y = load_iris(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    batches = [{"features": x[i:i + 16], "label": y[i:i + 16]} for i in range(0, 150, 16)]
    model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 3))

    def step(model, batch):
        return model(batch["features"]), batch["label"]

    return {"model": model, "train_data": batches, "loss_fn": nn.CrossEntropyLoss(), "step": step}
