"""Broken: raw breast-cancer measurements (areas around 650, smoothness around 0.1) fed straight
to a ReLU MLP: features on scales a thousand times apart make the loss surface badly conditioned,
the first loss is far from chance and training is erratic.
Expected: unnormalized_inputs."""

import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def setup():
    torch.manual_seed(26)
    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, random_state=26, stratify=y)

    def data(a, b):
        return TensorDataset(torch.tensor(a, dtype=torch.float32),
                             torch.tensor(b, dtype=torch.float32).unsqueeze(1))

    model = nn.Sequential(nn.Linear(30, 64), nn.ReLU(), nn.Linear(64, 1))
    return {
        "model": model,
        "train_data": DataLoader(data(x_tr, y_tr), batch_size=32, shuffle=True),
        "val_data": DataLoader(data(x_va, y_va), batch_size=128),
        "loss_fn": nn.BCEWithLogitsLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
    }
