"""Fault: multi-hot (multi-label) targets but the model ends in softmax (outputs forced to sum to
1) before nn.BCELoss.
"""

import torch
from sklearn.datasets import make_multilabel_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(22)
    x, y = make_multilabel_classification(n_samples=1500, n_features=20, n_classes=6,
                                          n_labels=3, random_state=22)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 6), nn.Softmax(dim=1))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(22))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.BCELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
