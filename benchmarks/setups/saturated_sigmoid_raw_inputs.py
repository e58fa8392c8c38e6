"""Fault: sigmoid hidden layers fed unscaled features in the hundreds to thousands, so the sigmoid
units saturate at 0 or 1.
"""

import numpy as np
import torch
from sklearn.datasets import make_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(11)
    x, y = make_classification(n_samples=1500, n_features=10, n_informative=6,
                               n_classes=2, random_state=11)
    scale = np.logspace(2, 3.5, 10)  # 100 .. ~3000
    x = x * scale + 0.5 * scale
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    model = nn.Sequential(nn.Linear(10, 32), nn.Sigmoid(), nn.Linear(32, 32), nn.Sigmoid(),
                          nn.Linear(32, 1))
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(11))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
