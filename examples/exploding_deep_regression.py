"""Broken: a 10-layer ReLU MLP initialised with N(0, 1) weights (far above He scale) on a
regression task: activations and gradients grow layer after layer and the loss turns NaN.
Expected: exploding_gradients, nonfinite_values."""

import torch
from sklearn.datasets import make_regression
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(3)
    x, y = make_regression(n_samples=1000, n_features=20, noise=5.0, random_state=3)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    layers = []
    for i in range(10):
        layers += [nn.Linear(20 if i == 0 else 64, 64), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(64, 1))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 1.0)
    data = TensorDataset(torch.tensor(x, dtype=torch.float32),
                         torch.tensor(y, dtype=torch.float32).unsqueeze(1))
    return {
        "model": model,
        "train_data": DataLoader(data, batch_size=32, shuffle=True),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9),
    }
