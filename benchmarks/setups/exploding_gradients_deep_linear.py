"""Fault: a 10-layer linear/leaky net initialized at 3x the stable scale, so activations and
gradients grow ~3x per layer and explode (no clipping).
"""

import torch
from sklearn.datasets import make_regression
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(5)
    x, y = make_regression(n_samples=1000, n_features=16, noise=1.0, random_state=5)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    y = (y - y.mean()) / y.std()
    layers = []
    width = 32
    for i in range(10):
        lin = nn.Linear(16 if i == 0 else width, width)
        nn.init.normal_(lin.weight, std=3.0 / lin.in_features ** 0.5)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.LeakyReLU(0.9)]
    layers.append(nn.Linear(width, 1))
    model = nn.Sequential(*layers)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(5))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=1e-3),
    }
