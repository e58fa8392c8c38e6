"""Broken: a fraud-like binary problem with 2 % positives and a plain BCE loss: the model learns
to say "negative" and the minority class is ignored. Expected: class_imbalance."""

import torch
from sklearn.datasets import make_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(19)
    x, y = make_classification(n_samples=4000, n_features=20, n_informative=5,
                               weights=[0.98, 0.02], random_state=19)
    x = (x - x.mean(0)) / x.std(0)
    data = TensorDataset(torch.tensor(x, dtype=torch.float32),
                         torch.tensor(y, dtype=torch.float32).unsqueeze(1))
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 1))
    return {
        "model": model,
        "train_data": DataLoader(data, batch_size=64, shuffle=True),
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
