"""Train a small MLP with DistributedDataParallel on the CPU (gloo backend).

Run it with `torchrun --nproc_per_node 2 ddp_healthy.py` (alone it runs as a single process).
Healthy: the model is wrapped in DDP and the loop calls the wrapper, so every backward averages
the gradients across ranks; each rank reads its own shard of the data through a
DistributedSampler (set_epoch every epoch); every replica holds the same parameters after every
step, and every rank runs the same number of steps.
Expected diagnosis under `advisor watch --nproc 2`: no replicas_diverged, no rank_step_mismatch.
"""

import argparse
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def init_distributed():
    # a single process without torchrun: a group of one
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29531")
    dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size()


def make_dataset(seed, n=512, features=20, classes=4):
    """Four Gaussian clusters: the same data on every rank (the sampler shards it)."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, features, generator=g) * 2
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, features, generator=g)
    return TensorDataset(x, y)


def main():
    args = parse_args()
    rank, world_size = init_distributed()
    torch.manual_seed(args.seed)
    dataset = make_dataset(args.seed)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)

    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
    ddp_model = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp_model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        ddp_model.train()
        running = torch.zeros(2)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(ddp_model(xb), yb)
            loss.backward()
            optimizer.step()
            running += torch.tensor([loss.item() * len(yb), len(yb)])
        dist.all_reduce(running)
        if rank == 0:
            print(f"epoch {epoch}/{args.epochs}  train_loss {running[0] / running[1]:.4f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
