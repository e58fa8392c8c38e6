"""The PyTorch time-sequence-prediction example: two stacked LSTMCells learn sine waves, L-BFGS.

Source: pytorch/examples, time_sequence_prediction/train.py (commit
e27e2585a5b6a557e3512c3f5bd742ff4850f364) and generate_sine_wave.py (commit
a78ba324e3c4b05d93f170a3e033008a2de250f8). Data: N=100 sine waves sin((t + shift) / T) with
T=20 and a random integer shift in [-4T, 4T), in float64; each wave predicts its next value
(input = wave[:-1], target = wave[1:]); waves 3.. train as ONE full batch, waves 0..2 test.
Model (Sequence): LSTMCell(1, 51) -> LSTMCell(51, 51) -> Linear(51, 1) unrolled over time in
Python, zero initial states, float64. Loss MSE; optimizer L-BFGS(lr=0.8) with its default
max_iter=20, stepped with a closure that re-evaluates the loss (train_step).

Deliberate differences from the original:
- Wave length L=40 instead of 1000 (a third of a period, 2*pi*T = 126 samples; the random
  shifts still place the windows all over the period): the cells are unrolled in Python, and
  one forward and backward over 97 waves of 1000 steps takes seconds on a CPU (L=100 made a
  probe run last three minutes).
- L-BFGS max_iter=1 instead of its default 20. The original calls optimizer.step(closure) 15
  times and each call runs up to 20 L-BFGS iterations (about 300 in all); the probe counts a
  training step per call and runs a few hundred of them, so one iteration per call keeps the
  same algorithm (L-BFGS keeps its curvature history and step state across calls) at a
  comparable total number of iterations. lr=0.8 and the other defaults are unchanged.
- The shifts come from numpy's default_rng(2) instead of the legacy np.random.seed(2).
- The original also predicts 1000 future values from the test waves and plots them; here the
  three test waves are the validation batch (next-value MSE, no free-running future).
"""

import numpy as np
import torch
from torch import nn

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "time_sequence_prediction/train.py",
    "commit": "e27e2585a5b6a557e3512c3f5bd742ff4850f364",
    "family": "timeseries",
    "task": "regression",
    "notes": "sine waves generated as in generate_sine_wave.py but L=40 instead of 1000; "
             "LBFGS(lr=0.8, max_iter=1 instead of 20) with a closure in train_step; float64",
}

T, L, N = 20, 40, 100
HIDDEN = 51


class Sequence(nn.Module):
    """Two LSTMCells and a Linear read unrolled over time; outputs one value per time step."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, HIDDEN)
        self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
        self.linear = nn.Linear(HIDDEN, 1)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        zeros = waves.new_zeros(waves.size(0), HIDDEN)
        h_t, c_t, h_t2, c_t2 = zeros, zeros, zeros, zeros
        outputs = []
        for input_t in waves.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            outputs.append(self.linear(h_t2))
        return torch.cat(outputs, dim=1)


def sine_waves() -> np.ndarray:
    """N waves of length L, sin(x / T) with x = t + a random shift, as generate_sine_wave.py."""
    shifts = np.random.default_rng(2).integers(-4 * T, 4 * T, N).reshape(N, 1)
    x = np.arange(L) + shifts
    return np.sin(x / 1.0 / T).astype("float64")


CRITERION = nn.MSELoss()


def train_step(model: Sequence, batch, optimizer: torch.optim.Optimizer) -> torch.Tensor:
    """One L-BFGS step; the closure re-evaluates the loss up to max_iter times."""
    waves, targets = batch

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = CRITERION(model(waves), targets)
        loss.backward()
        return loss

    return optimizer.step(closure)


def setup() -> dict:
    torch.manual_seed(0)
    data = torch.from_numpy(sine_waves())
    train = (data[3:, :-1], data[3:, 1:])
    test = (data[:3, :-1], data[:3, 1:])
    model = Sequence().double()
    return {
        "model": model,
        "train_data": [train],
        "val_data": [test],
        "loss_fn": CRITERION,
        "optimizer": torch.optim.LBFGS(model.parameters(), lr=0.8, max_iter=1),
        "train_step": train_step,
        "task": "regression",
    }
