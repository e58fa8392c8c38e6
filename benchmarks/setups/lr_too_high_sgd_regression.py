"""Fault: SGD with learning rate 5 on a standardized regression problem diverges (loss grows to
inf/NaN).
"""

import torch
from sklearn.datasets import make_regression
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(2)
    x, y = make_regression(n_samples=1200, n_features=12, n_informative=8, noise=5.0,
                           random_state=2)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    y = (y - y.mean()) / y.std()
    model = nn.Sequential(nn.Linear(12, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(),
                          nn.Linear(32, 1))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(2))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=5.0),
        "task": "regression",
    }
