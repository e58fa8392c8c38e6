"""Fault: a binary data set with 99% negatives and 1% positives trained with an unweighted loss, so
the model just predicts the majority class.
"""

import torch
from sklearn.datasets import make_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(39)
    x, y = make_classification(n_samples=3000, n_features=12, n_informative=4,
                               weights=[0.99, 0.01], flip_y=0.0, class_sep=0.5,
                               random_state=39)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.long)
    model = nn.Sequential(nn.Linear(12, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(39))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
