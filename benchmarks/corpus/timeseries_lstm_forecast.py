"""An LSTM forecaster for a univariate monthly series (the classic airline-passengers problem),
re-implemented from Jason Brownlee's "LSTM for Time Series Prediction in PyTorch"
(https://machinelearningmastery.com/lstm-for-time-series-prediction-in-pytorch/, March 2023;
mirrored at https://tech-gate.org/2023/03/28/lstm-for-time-series-prediction-in-pytorch/).

What is kept: windows of lookback=4 consecutive values whose target is the same window shifted
one step ahead (the model predicts the next value at every position of the window); AirModel =
nn.LSTM(input_size=1, hidden_size=50, num_layers=1, batch_first=True) followed by
nn.Linear(50, 1) on every time step; nn.MSELoss; Adam with its default settings (lr 1e-3);
DataLoader(batch_size=8, shuffle=True); the first 67 % of the series for training, the rest
(later months) for testing, here the validation data.

Deliberate differences:
- Data: the airline-passengers CSV is downloaded by the original; here a synthetic series of the
  same shape: 144 monthly values (12 years), a linear trend from about 110 to about 520, a yearly
  multiplicative seasonality whose amplitude grows with the level (peaks in summer) and 3 %
  noise, seeded.
- Scaling: the PyTorch tutorial feeds raw passenger counts (100..600); this port min-max scales
  the series to [0, 1] as the author's Keras version of the same tutorial does ("Time Series
  Prediction with LSTM Recurrent Neural Networks in Python with Keras"), because the raw scale
  needs the tutorial's 2000 epochs to fit, far beyond a short run.
"""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CORPUS = {
    "source": "https://machinelearningmastery.com/lstm-for-time-series-prediction-in-pytorch/",
    "path": None,
    "commit": None,
    "family": "timeseries",
    "task": "regression",
    "notes": "AirModel LSTM(1->50)+Linear on synthetic airline-like series (trend + growing "
             "seasonality), min-max scaled; lookback 4, sequence-to-sequence targets shifted by "
             "one; batch 8, Adam, MSE; validation = the later 33 % of the months",
}

LOOKBACK = 4


class AirModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=50, num_layers=1, batch_first=True)
        self.linear = nn.Linear(50, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.lstm(x)
        return self.linear(x)


def synthetic_passengers(seed: int = 7) -> np.ndarray:
    """144 monthly values: trend times (1 + seasonal swing) plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(144)
    level = 110 + 2.9 * t
    season = 0.22 * np.sin(2 * np.pi * (t - 3) / 12) + 0.08 * np.sin(4 * np.pi * t / 12)
    return (level * (1 + season) * (1 + 0.03 * rng.standard_normal(144))).astype(np.float32)


def create_dataset(series: np.ndarray, lookback: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Window i: values i..i+lookback as (lookback, 1) features, targets shifted one step."""
    x = [series[i:i + lookback] for i in range(len(series) - lookback)]
    y = [series[i + 1:i + lookback + 1] for i in range(len(series) - lookback)]
    return (torch.tensor(np.array(x)).unsqueeze(-1), torch.tensor(np.array(y)).unsqueeze(-1))


def setup():
    torch.manual_seed(7)
    series = synthetic_passengers()
    series = (series - series.min()) / (series.max() - series.min())
    train_size = int(len(series) * 0.67)
    x_train, y_train = create_dataset(series[:train_size], LOOKBACK)
    x_test, y_test = create_dataset(series[train_size:], LOOKBACK)
    model = AirModel()
    return {
        "model": model,
        "train_data": DataLoader(TensorDataset(x_train, y_train), batch_size=8, shuffle=True,
                                 generator=torch.Generator().manual_seed(7)),
        "val_data": DataLoader(TensorDataset(x_test, y_test), batch_size=64),
        "loss_fn": nn.MSELoss(),
        "optimizer": torch.optim.Adam(model.parameters()),
        "task": "regression",
    }
