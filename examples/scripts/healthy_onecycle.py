"""Train an MLP on scikit-learn's two moons with SGD and the OneCycleLR policy.

Healthy: OneCycleLR is a per-batch schedule (built with steps_per_epoch=len(train_loader)),
so `scheduler.step()` belongs inside the batch loop, after optimizer.step(); its LR rises
during the warm-up and then anneals to near zero at the last batch.
Expected diagnosis: none.
"""

import argparse

import torch
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5, help="peak learning rate")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser.parse_args()


def load_data(samples, seed):
    x, y = make_moons(n_samples=samples, noise=0.2, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=seed)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    return (
        TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train)),
        TensorDataset(torch.tensor(x_val, dtype=torch.float32), torch.tensor(y_val)),
    )


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
    train_set, val_set = load_data(args.samples, args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)

    model = nn.Sequential(
        nn.Linear(2, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, args.hidden), nn.ReLU(),
        nn.Linear(args.hidden, 2),
    ).to(args.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train_loader)
    )
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(args.device), yb.to(args.device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step()  # per batch: OneCycleLR counts batches
            running += loss.item()
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, args.device)
        print(f"epoch {epoch}/{args.epochs}  lr {scheduler.get_last_lr()[0]:.4f}  "
              f"train_loss {running / len(train_loader):.4f}  "
              f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}")
    print(f"final val_loss {val_loss:.4f} val_acc {val_acc:.4f}")


if __name__ == "__main__":
    main()
