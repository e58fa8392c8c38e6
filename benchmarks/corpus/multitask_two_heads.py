"""Hard-parameter-sharing multi-task network (MTLnet) from hosseinshn/Basic-Multi-task-Learning:
a shared layer (Linear 100->64, ReLU, Dropout) feeding two towers (Linear 64->32, ReLU,
Dropout, Linear 32->16, ReLU, Dropout, Linear 16->1), trained with Adam (lr 0.001) on the
average of the two task losses, loss = (l1 + l2) / 2, minibatches of 100, on synthetic data
whose two tasks are correlated: Y_t = X w_t + sin(X w_t) with w2 = c (p u1 + sqrt(1 - p^2) u2),
w1 = c u1 (c = 0.5, p = 0.9), X ~ N(0, 1) of shape (10 000, 100), an 8000/1000/1000 split.

Source: https://github.com/hosseinshn/Basic-Multi-task-Learning, `MTL-Pytorch.ipynb`
(commit 9984ec5caa1ad75284a0ee10074eb3f1d49016ba).

Deliberate differences:
- Task 1 is made a classification task (is Y1 > 0?) with BCEWithLogitsLoss instead of an MSE
  regression, so that the program has one classification head and one regression head; task 2
  stays a regression on Y2 with MSELoss. The total is still the equal-weight average of the two.
- The original draws the data with unseeded numpy; here it is seeded. Its per-task noise is a
  single scalar draw (eps = np.random.normal(0, 0.01), a constant offset); kept as such.
- The 1000-sample validation split is handed over as validation data (the test split is unused).
- Batches are triples (x, y1, y2) as the notebook's random_mini_batches yields them (through a
  shuffled DataLoader over a TensorDataset instead of the notebook's own minibatch function);
  the model returns the two heads' outputs as a tuple; `step` pairs them with the two targets,
  `loss_fn` takes both pairs, and `train_step` is the notebook's step.
"""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/hosseinshn/Basic-Multi-task-Learning",
    "path": "MTL-Pytorch.ipynb",
    "commit": "9984ec5caa1ad75284a0ee10074eb3f1d49016ba",
    "family": "multitask",
    "task": "other",
    "notes": "MTLnet (shared Linear+ReLU+Dropout, two 3-layer towers with Dropout), Adam 1e-3, "
             "batch 100, loss (l1 + l2) / 2; task 1 made binary (Y1 > 0, BCEWithLogits), task 2 "
             "regression (MSE); synthetic correlated tasks as in the notebook.",
}

N, M = 10000, 100
C, P = 0.5, 0.9
SHARED, TOWER_H1, TOWER_H2 = 64, 32, 16
TASK_WEIGHTS = (0.5, 0.5)


class MTLnet(nn.Module):
    def __init__(self, feature_size: int = M):
        super().__init__()
        self.sharedlayer = nn.Sequential(nn.Linear(feature_size, SHARED), nn.ReLU(), nn.Dropout())
        self.tower1 = self._tower()
        self.tower2 = self._tower()

    @staticmethod
    def _tower() -> nn.Sequential:
        return nn.Sequential(nn.Linear(SHARED, TOWER_H1), nn.ReLU(), nn.Dropout(),
                             nn.Linear(TOWER_H1, TOWER_H2), nn.ReLU(), nn.Dropout(),
                             nn.Linear(TOWER_H2, 1))

    def forward(self, x):
        h_shared = self.sharedlayer(x)
        return self.tower1(h_shared), self.tower2(h_shared)


CLASSIFICATION_LOSS = nn.BCEWithLogitsLoss()
REGRESSION_LOSS = nn.MSELoss()


def multitask_loss(outputs, targets):
    """Weighted sum of the two task losses: classification logit vs label, value vs target."""
    (logit, value), (label, target) = outputs, targets
    l1 = CLASSIFICATION_LOSS(logit, label)
    l2 = REGRESSION_LOSS(value, target)
    return TASK_WEIGHTS[0] * l1 + TASK_WEIGHTS[1] * l2


def step(model, batch):
    """((logit, value), (label, target)) for a batch (x, y1, y2)."""
    x, y1, y2 = batch
    return model(x), (y1, y2)


def train_step(model, batch, optimizer):
    """The notebook's step: both heads, both losses, their average, one backward."""
    loss = multitask_loss(*step(model, batch))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _correlated_tasks(seed: int = 0):
    rng = np.random.default_rng(seed)
    k = rng.standard_normal(M)
    u1 = rng.standard_normal(M)
    u1 -= u1.dot(k) * k / np.linalg.norm(k) ** 2
    u1 /= np.linalg.norm(u1)
    k /= np.linalg.norm(k)
    w1 = C * u1
    w2 = C * (P * u1 + np.sqrt(1 - P ** 2) * k)
    x = rng.normal(0, 1, (N, M))
    eps1, eps2 = rng.normal(0, 0.01), rng.normal(0, 0.01)
    y1 = x @ w1 + np.sin(x @ w1) + eps1
    y2 = x @ w2 + np.sin(x @ w2) + eps2
    split = rng.permutation(N)
    x_t = torch.tensor(x, dtype=torch.float32)
    labels = torch.tensor(y1 > 0, dtype=torch.float32).view(-1, 1)
    values = torch.tensor(y2, dtype=torch.float32).view(-1, 1)
    train, val = split[:8000], split[8000:9000]
    return (TensorDataset(x_t[train], labels[train], values[train]),
            TensorDataset(x_t[val], labels[val], values[val]))


def setup():
    torch.manual_seed(0)
    train, val = _correlated_tasks()
    model = MTLnet()
    return {
        "model": model,
        "train_data": DataLoader(train, batch_size=100, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(val, batch_size=100),
        "loss_fn": multitask_loss,
        "optimizer": torch.optim.Adam(model.parameters(), lr=0.001),
        "step": step,
        "train_step": train_step,
    }
