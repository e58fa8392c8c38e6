"""Shared data for the examples: sklearn's bundled digits (8x8 images, 10 classes), never
downloaded. Files starting with an underscore are helpers, not setups."""

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset


def digits(standardize: bool = True, seed: int = 0):
    """(train, val) TensorDatasets of flattened digits, 75/25 split, standardized by default."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n = int(0.75 * len(x))
    if standardize:
        mean, std = x[:n].mean(0), x[:n].std(0) + 1e-6
        x = (x - mean) / std
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y)
    return TensorDataset(x[:n], y[:n]), TensorDataset(x[n:], y[n:])
