"""A three-layer MLP regressor trained with L1 loss on unscaled targets, re-implemented from
MachineCurve's "How to create a neural network for regression with PyTorch" (Christian
Versloot, 2021), as published in christianversloot/machine-learning-articles,
`how-to-create-a-neural-network-for-regression-with-pytorch.md` (commit
509a60dcca67c135bb0bb4fca8bc68ccb826716b).

What is kept: MLP = Linear(n_features, 64) -> ReLU -> Linear(64, 32) -> ReLU -> Linear(32, 1);
nn.L1Loss (mean absolute error); Adam lr 1e-4; batch size 10 with shuffling; seed 42; the
inputs standardised with a StandardScaler fitted on the whole table (as the article's
`BostonDataset(scale_data=True)` does); targets reshaped to (N, 1). Target scaling: NONE, as in
the article, whose targets are raw house prices in $1000s (mean 22.5); here they are raw
diabetes progression scores (mean 152, std 77, range 25..346).

Deliberate differences:
- Data: scikit-learn's bundled diabetes table (442 patients, 10 features) instead of the Boston
  housing table (506 houses, 13 features), which scikit-learn no longer ships (`load_boston` was
  removed in 1.2). The input width follows the data (10 instead of 13).
- The article trains on all rows and has no validation; here the last 20 % of a seeded
  permutation validate (the scaler still sees the whole table, as in the article).
- Inputs and targets are float32 tensors from the start (the article converts each batch with
  `.float()` inside the loop).
"""

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/christianversloot/machine-learning-articles",
    "path": "how-to-create-a-neural-network-for-regression-with-pytorch.md",
    "commit": "509a60dcca67c135bb0bb4fca8bc68ccb826716b",
    "family": "tabular",
    "task": "regression",
    "notes": "64-32 ReLU MLP, L1Loss, Adam 1e-4, batch 10; sklearn diabetes instead of Boston "
             "housing; inputs standardised on the whole table, targets NOT scaled (raw, mean "
             "152) as in the article; a 20 % validation split added",
}


class MLP(nn.Module):
    """Multilayer perceptron for regression: two ReLU hidden layers, one linear output."""

    def __init__(self, n_features: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, 64), nn.ReLU(),
            nn.Linear(64, 32), nn.ReLU(),
            nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def setup():
    torch.manual_seed(42)
    x, y = load_diabetes(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    order = np.random.default_rng(42).permutation(len(x))
    x = torch.tensor(x[order], dtype=torch.float32)
    y = torch.tensor(y[order], dtype=torch.float32).reshape(-1, 1)
    n_train = int(0.8 * len(x))
    model = MLP(x.shape[1])
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(x[:n_train], y[:n_train]), batch_size=10,
                                 shuffle=True, generator=torch.Generator().manual_seed(42)),
        "val_data": DataLoader(TensorDataset(x[n_train:], y[n_train:]), batch_size=10),
        "loss_fn": nn.L1Loss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-4),
        "task": "regression",
    }
