"""Fault: an MLP with BatchNorm1d trained with batch size 2, so the batch statistics are computed
from two samples and are pure noise.
"""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(33)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x[:1000], dtype=torch.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-3)
    y = torch.tensor(y[:1000], dtype=torch.long)
    model = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(),
                          nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(),
                          nn.Linear(64, 10))
    loader = DataLoader(TensorDataset(x, y), batch_size=2, shuffle=True,
                        generator=torch.Generator().manual_seed(33))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
