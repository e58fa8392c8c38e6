"""Fault: SGD with weight_decay=0.5 (about 1000x a usual value), which shrinks the weights so hard
that the classifier cannot fit.
"""

import torch
from sklearn.datasets import load_breast_cancer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(36)
    x, y = load_breast_cancer(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    model = nn.Sequential(nn.Linear(30, 64), nn.ReLU(), nn.Linear(64, 1))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(36))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9,
                                     weight_decay=0.5),
    }
