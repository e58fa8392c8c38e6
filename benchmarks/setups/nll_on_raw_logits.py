"""Fault: nn.NLLLoss on raw logits with no log_softmax, so the loss is just -logit[target] and is
driven towards -infinity.
"""

import torch
from sklearn.datasets import load_iris
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(21)
    x, y = load_iris(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(y, dtype=torch.long)
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(21))
    return {
        "model": model,
        "train_data": loader,
        "loss_fn": nn.NLLLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-2),
    }
