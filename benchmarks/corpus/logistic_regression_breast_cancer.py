"""Logistic regression on the Wisconsin breast cancer data set, as in Patrick Loeber's
"PyTorch Tutorial 08 - Logistic Regression" (Python Engineer): one nn.Linear layer, binary
cross-entropy, plain SGD at lr 0.01 on the full (standardised) training set each step.

Source: https://github.com/patrickloeber/pytorchTutorial, `08_logistic_regression.py`
(commit 322eeb4aa4b83498ab13a3707e29a538f45883a8).

Kept from the original: scikit-learn's load_breast_cancer, an 80/20 split with
random_state=1234, StandardScaler fitted on the training split and applied to the test split,
nn.Linear(30, 1), SGD lr 0.01 without momentum, full-batch steps (the original has no
DataLoader: each step is the whole training set, 455 samples).

Deliberate differences:
- The original applies torch.sigmoid in forward and uses nn.BCELoss; here the model returns
  the logit and the loss is nn.BCEWithLogitsLoss, the numerically stable equivalent (same
  loss values and gradients).
- The test split is handed over as validation data.
"""

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/patrickloeber/pytorchTutorial",
    "path": "08_logistic_regression.py",
    "commit": "322eeb4aa4b83498ab13a3707e29a538f45883a8",
    "family": "tabular",
    "task": "binary",
    "notes": "nn.Linear(30, 1) + BCEWithLogitsLoss (original: sigmoid + BCELoss), SGD lr 0.01, "
             "full-batch steps on standardised breast_cancer.",
}


class Model(nn.Module):
    """f = wx + b; the sigmoid lives in the loss."""

    def __init__(self, n_input_features: int):
        super().__init__()
        self.linear = nn.Linear(n_input_features, 1)

    def forward(self, x):
        return self.linear(x)


def setup():
    torch.manual_seed(0)
    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=1234)
    scaler = StandardScaler()
    x_tr, x_te = scaler.fit_transform(x_tr), scaler.transform(x_te)

    def data(a, b):
        return TensorDataset(torch.from_numpy(a.astype(np.float32)),
                             torch.from_numpy(b.astype(np.float32)).view(-1, 1))

    model = Model(x.shape[1])
    return {
        "model": model,
        "train_data": DataLoader(data(x_tr, y_tr), batch_size=len(x_tr)),
        "val_data": DataLoader(data(x_te, y_te), batch_size=len(x_te)),
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.01),
        "task": "binary",
    }
