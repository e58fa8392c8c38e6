"""Broken: a BatchNorm CNN trained with batches of 4 images: the batch statistics are too noisy
to normalise with, and training is unstable.
Expected: batchnorm_small_batch."""

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(14)
    x, y = load_digits(return_X_y=True)
    data = TensorDataset(torch.tensor(x.reshape(-1, 1, 8, 8) / 16.0, dtype=torch.float32),
                         torch.tensor(y))
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    return {
        "model": model,
        "train_data": DataLoader(data, batch_size=4, shuffle=True),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
