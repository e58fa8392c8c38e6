"""Train a small MLP on scikit-learn's digits with Adam -- the optimizer holds an old model.

Bug: the script builds the model and the optimizer first, then re-creates the model once the
data tells it the number of classes (`model = build_model(..., num_classes)`), but the
optimizer still holds the parameters of the first model: it steps tensors that never get a
gradient and the model that is trained and evaluated never changes. A common forum report is
"my weights don't update" after re-assigning `model` (or a layer) after building the
optimizer; the answer is to create the optimizer after the final model.
Expected diagnosis: untrained_parameters.
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
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=128)
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


def build_model(hidden, num_classes):
    return nn.Sequential(
        nn.Linear(64, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, num_classes),
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
    train_set, val_set = load_data(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)

    model = build_model(args.hidden, num_classes=10).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    # The head is sized from the labels (added when the script was reused for another data
    # set). BUG: the model is rebuilt after the optimizer was created over the first one.
    num_classes = int(train_set.tensors[1].max()) + 1
    model = build_model(args.hidden, num_classes).to(args.device)
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
            running += loss.item()
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, args.device)
        print(f"epoch {epoch}/{args.epochs}  train_loss {running / len(train_loader):.4f}  "
              f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}")
    print(f"final val_loss {val_loss:.4f} val_acc {val_acc:.4f}")


if __name__ == "__main__":
    main()
