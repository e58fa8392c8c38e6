"""Train a small MLP on scikit-learn's digits with SGD + momentum and cosine warm restarts.

Healthy: CosineAnnealingWarmRestarts(T_0=--restart-epochs) stepped every batch with the
fractional epoch, `scheduler.step(epoch + i / len(train_loader))`, as its documentation
shows: the LR follows a cosine over 2 epochs and jumps back to its maximum in one step at each
restart. That jump is intended and is not an epoch schedule run past its end.
Expected diagnosis: none.
"""

import argparse

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--restart-epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser.parse_args()


def load_data(seed):
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return TensorDataset(x_train, y_train), TensorDataset(x_val, y_val)


def evaluate(model, loader, loss_fn, device):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            total_loss += loss_fn(logits, yb).item() * len(yb)
            correct += (logits.argmax(dim=1) == yb).sum().item()
            seen += len(yb)
    return total_loss / seen, correct / seen


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    train_set, val_set = load_data(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)

    model = nn.Sequential(
        nn.Linear(64, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, 10),
    ).to(args.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=args.restart_epochs, eta_min=1e-4
    )
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        model.train()
        running = 0.0
        for i, (xb, yb) in enumerate(train_loader):
            xb, yb = xb.to(args.device), yb.to(args.device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step(epoch - 1 + (i + 1) / len(train_loader))  # fractional epoch
            running += loss.item()
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, args.device)
        print(f"epoch {epoch}/{args.epochs}  lr {optimizer.param_groups[0]['lr']:.5f}  "
              f"train_loss {running / len(train_loader):.4f}  "
              f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}")
    print(f"final val_loss {val_loss:.4f} val_acc {val_acc:.4f}")


if __name__ == "__main__":
    main()
