"""Fault: features scaled by 1e3-1e4 with large offsets (e.g. raw sensor units) fed straight into a
ReLU MLP.
"""

import numpy as np
import torch
from sklearn.datasets import make_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(15)
    x, y = make_classification(n_samples=2000, n_features=8, n_informative=5, n_classes=4,
                               n_clusters_per_class=1, random_state=15)
    rng = np.random.default_rng(15)
    scale = rng.uniform(1e3, 1e4, size=8)
    offset = rng.uniform(-5e4, 5e4, size=8)
    x = x * scale + offset
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 4))
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(15))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
