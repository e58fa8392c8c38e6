"""Fault: a 20-layer sigmoid MLP; gradients shrink ~4x per layer so the early layers get almost no
gradient and the loss hardly moves.
"""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(7)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-3)
    y = torch.tensor(y, dtype=torch.long)
    layers = [nn.Linear(64, 32), nn.Sigmoid()]
    for _ in range(19):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    layers.append(nn.Linear(32, 10))
    model = nn.Sequential(*layers)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(7))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
    }
