"""Fault: the labels were shuffled independently of the inputs (misaligned join), so they are
random with respect to the images; training loss stays near ln 10 and validation never improves.
"""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(47)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-3)
    y = torch.tensor(y, dtype=torch.long)
    y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(47))]
    n = 1400
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    train = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=64, shuffle=True,
                       generator=torch.Generator().manual_seed(47))
    val = DataLoader(TensorDataset(x[n:], y[n:]), batch_size=200)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
