"""Fit an MLP regressor to scikit-learn's Friedman #1 data with SGD + momentum and grad clipping.

Healthy: the gradient norm is clipped with `torch.nn.utils.clip_grad_norm_` between backward
and optimizer.step(), features and target standardised with training-split statistics, MSE
loss; the validation pass reports MSE (in standardised units) and R^2.
Expected diagnosis: none.
"""

import argparse

import torch
from sklearn.datasets import make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser.parse_args()


def load_data(samples, seed):
    x, y = make_friedman1(n_samples=samples, noise=0.5, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y.reshape(-1, 1), test_size=0.2, random_state=seed
    )
    x_scaler, y_scaler = StandardScaler().fit(x_train), StandardScaler().fit(y_train)
    x_train, x_val = x_scaler.transform(x_train), x_scaler.transform(x_val)
    y_train, y_val = y_scaler.transform(y_train), y_scaler.transform(y_val)

    def tensors(x, y):
        return TensorDataset(torch.tensor(x, dtype=torch.float32),
                             torch.tensor(y, dtype=torch.float32))

    return tensors(x_train, y_train), tensors(x_val, y_val)


def evaluate(model, loader, device):
    model.eval()
    squared_error, seen, targets = 0.0, 0, []
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            squared_error += ((model(xb) - yb) ** 2).sum().item()
            seen += len(yb)
            targets.append(yb)
    mse = squared_error / seen
    variance = torch.cat(targets).var(unbiased=False).item()
    return mse, 1.0 - mse / variance


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    train_set, val_set = load_data(args.samples, args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)

    model = nn.Sequential(
        nn.Linear(10, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, 1),
    ).to(args.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = nn.MSELoss()

    for epoch in range(1, args.epochs + 1):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(args.device), yb.to(args.device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=args.max_grad_norm)
            optimizer.step()
            running += loss.item()
        val_mse, val_r2 = evaluate(model, val_loader, args.device)
        print(f"epoch {epoch}/{args.epochs}  train_mse {running / len(train_loader):.4f}  "
              f"val_mse {val_mse:.4f}  val_r2 {val_r2:.4f}")
    print(f"final val_mse {val_mse:.4f} val_r2 {val_r2:.4f}")


if __name__ == "__main__":
    main()
