"""The PyTorch "Automatic Mixed Precision" recipe: a stack of Linear + ReLU layers trained with
MSELoss and plain SGD, the forward and loss under autocast, the loss scaled by a GradScaler,
gradients unscaled (scaler.unscale_) before clip_grad_norm_, then scaler.step and
scaler.update, with a fresh GradScaler per run.

Source: https://github.com/pytorch/tutorials, `recipes_source/recipes/amp_recipe.py`
(commit 00b83bfab7d1cd0cd7c53fbba59db65c2e021bb6), published as
https://pytorch.org/tutorials/recipes/recipes/amp_recipe.html

Kept from the original: make_model(in_size, out_size, num_layers=3) (Linear, ReLU, Linear,
ReLU, Linear), MSELoss, torch.optim.SGD without momentum, batch size 512, the step order of
the "Inspecting/modifying gradients (e.g., clipping)" section (autocast forward and loss,
scaler.scale(loss).backward(), scaler.unscale_(opt), clip_grad_norm_, scaler.step(opt),
scaler.update(), zero_grad), and the scaler handed over as a factory (the recipe: "each run
should use a dedicated fresh GradScaler instance").

Deliberate differences:
- Device and precision: the recipe needs CUDA and float16. On a CPU, autocast runs in
  bfloat16 (float16 autocast is a CUDA feature) and the GradScaler is torch.amp.GradScaler
  ("cpu"); with a CUDA device the step uses float16 and a CUDA GradScaler, as in the recipe.
- Data: the recipe trains on random inputs and random targets (a speed benchmark with nothing
  to learn). Here the targets are learnable: scikit-learn's make_regression (128 features, 32
  informative, 8 targets, noise 1.0), features and targets standardised; 8192 training and
  1024 validation samples.
- Sizes: in_size 128 and out_size 8 instead of 4096 and 4096.
- Learning rate 0.1 instead of 0.001 and max_norm 1.0 instead of 0.1: the recipe's values were
  chosen for 4096-wide layers on random targets; at width 128 the recipe's setting leaves the
  loss where it started within a few hundred steps (measured: 0.97 -> 0.99 in 200 steps), while
  0.1 / 1.0 trains it (0.97 -> 0.13). The recipe itself notes that the clipping threshold is
  the one you would use without scaling.
"""

import torch
from sklearn.datasets import make_regression
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://github.com/pytorch/tutorials",
    "path": "recipes_source/recipes/amp_recipe.py",
    "commit": "00b83bfab7d1cd0cd7c53fbba59db65c2e021bb6",
    "family": "mlp",
    "task": "regression",
    "notes": "3-layer Linear/ReLU MLP, MSE, SGD, batch 512, autocast + GradScaler with unscale_ "
             "before clip_grad_norm_; bfloat16 autocast and a CPU GradScaler on CPU (float16 on "
             "CUDA); learnable make_regression targets instead of random ones; width 128; lr 0.1 "
             "and max_norm 1.0 instead of 0.001 and 0.1.",
}

IN_SIZE, OUT_SIZE, NUM_LAYERS = 128, 8, 3
MAX_NORM = 1.0
LOSS = nn.MSELoss()
DEVICE_TYPE = "cuda" if torch.cuda.is_available() else "cpu"
AMP_DTYPE = torch.float16 if DEVICE_TYPE == "cuda" else torch.bfloat16


def make_model(in_size: int, out_size: int, num_layers: int) -> nn.Sequential:
    layers = []
    for _ in range(num_layers - 1):
        layers += [nn.Linear(in_size, in_size), nn.ReLU()]
    layers.append(nn.Linear(in_size, out_size))
    return nn.Sequential(*layers)


def train_step(model, batch, optimizer, scaler=None):
    """The recipe's clipping step: autocast forward, scaled backward, unscale, clip, step."""
    inputs, targets = batch
    with torch.autocast(device_type=inputs.device.type, dtype=AMP_DTYPE):
        output = model(inputs)
        loss = LOSS(output, targets)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=MAX_NORM)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return loss


def _regression_data():
    x, y = make_regression(n_samples=9216, n_features=IN_SIZE, n_informative=IN_SIZE // 4,
                           n_targets=OUT_SIZE, noise=1.0, random_state=0)
    n_train = 8192
    x = (x - x[:n_train].mean(0)) / x[:n_train].std(0)
    y = (y - y[:n_train].mean(0)) / y[:n_train].std(0)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    return TensorDataset(x[:n_train], y[:n_train]), TensorDataset(x[n_train:], y[n_train:])


def setup():
    torch.manual_seed(0)
    train, val = _regression_data()
    net = make_model(IN_SIZE, OUT_SIZE, NUM_LAYERS)
    return {
        "model": net,
        "train_data": DataLoader(train, batch_size=512, shuffle=True,
                                 generator=torch.Generator().manual_seed(0)),
        "val_data": DataLoader(val, batch_size=512),
        "loss_fn": LOSS,
        "optimizer": torch.optim.SGD(net.parameters(), lr=0.1),
        "scaler": lambda: torch.amp.GradScaler(DEVICE_TYPE),
        "train_step": train_step,
        "task": "regression",
    }
