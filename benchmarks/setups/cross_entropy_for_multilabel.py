"""Fault: multi-label task (several labels per sample, task=multilabel) trained with
CrossEntropyLoss on multi-hot targets, i.e. an implicit softmax over labels.
"""

import torch
from sklearn.datasets import make_multilabel_classification
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(23)
    x, y = make_multilabel_classification(n_samples=1200, n_features=16, n_classes=5,
                                          n_labels=2, allow_unlabeled=False, random_state=23)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.float32)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 5))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(23))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.CrossEntropyLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
        "task": "multilabel",
    }
