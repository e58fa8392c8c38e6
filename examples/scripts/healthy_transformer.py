"""Train a tiny Transformer encoder to classify generated token sequences, AdamW + LR warm-up.

Task: each sequence of --seq-len tokens holds filler tokens and two different "marker" tokens
(of --classes) at random positions; the label is the marker that comes first, so the model
needs both the tokens and their order. The model embeds
tokens and positions, runs a 2-layer nn.TransformerEncoder and mean-pools into a linear head.
Healthy: AdamW with a linear warm-up then linear decay implemented as a LambdaLR stepped once
per batch (the schedule counts optimizer steps, so per batch is right), gradient clipping.
Expected diagnosis: none.
"""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup-steps", type=int, default=40)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seq-len", type=int, default=12)
    parser.add_argument("--vocab", type=int, default=24)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--d-model", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser.parse_args()


def make_sequences(samples, seq_len, vocab, classes, generator):
    """Tokens 0..classes-1 are the markers, the rest filler; two markers per sequence."""
    tokens = torch.randint(classes, vocab, (samples, seq_len), generator=generator)
    markers = torch.stack([torch.randperm(classes, generator=generator)[:2]
                           for _ in range(samples)])
    places = torch.stack([torch.randperm(seq_len, generator=generator)[:2]
                          for _ in range(samples)])
    rows = torch.arange(samples)
    tokens[rows, places[:, 0]] = markers[:, 0]
    tokens[rows, places[:, 1]] = markers[:, 1]
    first = torch.where(places[:, 0] < places[:, 1], markers[:, 0], markers[:, 1])
    return tokens, first


class SequenceClassifier(nn.Module):
    def __init__(self, vocab, seq_len, classes, d_model=32, heads=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Parameter(torch.zeros(1, seq_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model,
                                           dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, classes)

    def forward(self, tokens):
        hidden = self.encoder(self.embed(tokens) + self.position)
        return self.head(hidden.mean(dim=1))


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
    data_generator = torch.Generator().manual_seed(args.seed)
    tokens, labels = make_sequences(args.samples, args.seq_len, args.vocab, args.classes,
                                    data_generator)
    split = int(0.8 * args.samples)
    train_set = TensorDataset(tokens[:split], labels[:split])
    val_set = TensorDataset(tokens[split:], labels[split:])
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              generator=generator)
    val_loader = DataLoader(val_set, batch_size=256)

    model = SequenceClassifier(args.vocab, args.seq_len, args.classes,
                               d_model=args.d_model).to(args.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    total_steps = args.epochs * len(train_loader)

    def warmup_then_decay(step):
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        return max(0.05, (total_steps - step) / (total_steps - args.warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_decay)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        model.train()
        running = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(args.device), yb.to(args.device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()  # per batch: the warm-up is counted in optimizer steps
            running += loss.item()
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, args.device)
        print(f"epoch {epoch}/{args.epochs}  lr {scheduler.get_last_lr()[0]:.5f}  "
              f"train_loss {running / len(train_loader):.4f}  "
              f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}")
    print(f"final val_loss {val_loss:.4f} val_acc {val_acc:.4f}")


if __name__ == "__main__":
    main()
