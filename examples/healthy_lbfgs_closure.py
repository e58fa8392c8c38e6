"""Healthy: full-batch regression on sklearn's diabetes data with L-BFGS, whose `step` takes a
closure that re-evaluates the loss. The setup hands over its own `train_step`, so the probe runs
the step exactly as this loop would (the probe owns only iteration, copies and instruments)."""

import torch
from sklearn.datasets import load_diabetes
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def train_step(model, batch, optimizer):
    """One L-BFGS step; `optimizer.step(closure)` returns the loss of the first evaluation."""
    x, y = batch
    loss_fn = nn.MSELoss()

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    return optimizer.step(closure)


def setup():
    torch.manual_seed(0)
    x, y = load_diabetes(return_X_y=True)
    x = torch.tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32)
    y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32).unsqueeze(1)
    model = nn.Sequential(nn.Linear(10, 8), nn.Tanh(), nn.Linear(8, 1))
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(x[:352], y[:352]), batch_size=352),
        "val_data": DataLoader(TensorDataset(x[352:], y[352:]), batch_size=90),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=2,
                                       history_size=10, line_search_fn="strong_wolfe"),
        "train_step": train_step,
    }
