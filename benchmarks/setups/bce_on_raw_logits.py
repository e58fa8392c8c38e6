"""Fault: nn.BCELoss (which expects probabilities) applied to raw, unbounded logits; PyTorch raises
because inputs fall outside [0, 1].
"""

import torch
from sklearn.datasets import load_breast_cancer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(19)
    x, y = load_breast_cancer(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 1))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(19))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.BCELoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
