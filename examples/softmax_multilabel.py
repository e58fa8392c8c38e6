"""Broken: a multi-label problem (each sample has several tags) trained with CrossEntropyLoss
on multi-hot targets, i.e. a softmax that makes the tags compete.
Expected: softmax_for_multilabel."""

import torch
from sklearn.datasets import make_multilabel_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(8)
    x, y = make_multilabel_classification(n_samples=1200, n_features=20, n_classes=6,
                                          n_labels=3, random_state=8)
    x = (x - x.mean(0)) / x.std(0)
    data = TensorDataset(torch.tensor(x, dtype=torch.float32),
                         torch.tensor(y, dtype=torch.float32))
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 6))
    return {
        "model": model,
        "train_data": DataLoader(data, batch_size=32, shuffle=True),
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
