"""Train a small MLP on scikit-learn's digits with mixed precision: torch.autocast + GradScaler.

Healthy: the forward pass and the loss run under torch.autocast (bfloat16 on the CPU, float16
on a GPU; the device is picked at run time), the loss is scaled by a torch.amp.GradScaler
before backward, `scaler.unscale_()` brings the gradients back to their true scale before
clipping, `scaler.step()` skips the step if they hold inf/NaN, `scaler.update()` adapts the
scale. On the CPU with bfloat16 a scaler is not needed (bfloat16 has float32's range) but it
works there too, so the same script runs unchanged on both.
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
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--max-grad-norm", type=float, default=5.0)
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


def evaluate(model, loader, loss_fn, device, amp_dtype):
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    with torch.no_grad(), torch.autocast(device_type=device, dtype=amp_dtype):
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
    device = torch.device(args.device).type  # "cuda" or "cpu", as autocast wants it
    amp_dtype = torch.float16 if device == "cuda" else torch.bfloat16
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
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    scaler = torch.amp.GradScaler(device)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(args.device), yb.to(args.device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device, dtype=amp_dtype):
                loss = loss_fn(model(xb), yb)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            running += loss.item()
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, device, amp_dtype)
        print(f"epoch {epoch}/{args.epochs}  scale {scaler.get_scale():.0f}  "
              f"train_loss {running / len(train_loader):.4f}  "
              f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}")
    print(f"final val_loss {val_loss:.4f} val_acc {val_acc:.4f}")


if __name__ == "__main__":
    main()
