"""The PyTorch regression example: fit a degree-4 polynomial with one Linear layer.

Source: pytorch/examples, regression/main.py (commit 1877b870cc42e8e50014fac432bf1e183f530b33).
A random target polynomial y = W.x + b with W ~ 5 * N(0, 1) (4 coefficients) and b ~ 5 * N(0, 1);
features [x, x^2, x^3, x^4] of x ~ N(0, 1) (not normalized), batches of 32; model
Linear(4, 1); loss F.smooth_l1_loss; the parameters are updated by hand, p += -0.1 * grad,
without torch.optim, until the loss falls below 1e-3.

Deliberate differences from the original:
- The original draws a fresh random batch for every step, forever; here 200 batches of 32
  (6400 samples) are drawn once with a seeded generator and shuffled each epoch, plus 20
  validation batches from the same distribution. No stopping criterion (the probe decides the
  number of steps).
- The hand-written update `param.add_(-0.1 * param.grad)` is given as torch.optim.SGD(lr=0.1)
  without momentum or weight decay, which performs exactly the same update and lets the probe
  vary the learning rate.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "regression/main.py",
    "commit": "1877b870cc42e8e50014fac432bf1e183f530b33",
    "family": "tabular",
    "task": "regression",
    "notes": "fixed seeded sample of the original's infinite random batches; manual "
             "p -= 0.1*grad as SGD(lr=0.1); unnormalized polynomial features as the original",
}

POLY_DEGREE = 4
BATCH_SIZE = 32


def make_features(x: torch.Tensor) -> torch.Tensor:
    """Columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def polynomial_data(gen: torch.Generator, count: int, w: torch.Tensor, b: torch.Tensor):
    features = make_features(torch.randn(count, generator=gen))
    return TensorDataset(features, features.mm(w) + b)


def smooth_l1(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.smooth_l1_loss(outputs, targets)


def setup() -> dict:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    w_target = torch.randn(POLY_DEGREE, 1, generator=gen) * 5
    b_target = torch.randn(1, generator=gen) * 5
    model = nn.Linear(POLY_DEGREE, 1)
    return {
        "model": model,
        "train_data": DataLoader(polynomial_data(gen, 200 * BATCH_SIZE, w_target, b_target),
                                 batch_size=BATCH_SIZE, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(polynomial_data(gen, 20 * BATCH_SIZE, w_target, b_target),
                               batch_size=BATCH_SIZE),
        "loss_fn": smooth_l1,
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
        "task": "regression",
    }
