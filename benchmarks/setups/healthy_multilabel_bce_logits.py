"""Healthy: multi-label classification (multi-hot targets over 6 labels) with raw logits and
BCEWithLogitsLoss, Adam 1e-3.
"""

import torch
from sklearn.datasets import make_multilabel_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(106)
    x, y = make_multilabel_classification(n_samples=1500, n_features=20, n_classes=6,
                                          n_labels=2, random_state=106)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 6))
    train = DataLoader(TensorDataset(x[:1200], y[:1200]), batch_size=32, shuffle=True,
                       generator=torch.Generator().manual_seed(106))
    val = DataLoader(TensorDataset(x[1200:], y[1200:]), batch_size=300)
    return {
        "model": model,
        "train_data": train,
        "val_data": val,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "multilabel",
    }
