"""Overhead of the probe's instrumentation, and the end-to-end time of `advisor demo`.

For an MLP and a CNN of about 1M parameters, the time per training step of a plain PyTorch loop
is compared with the same loop with the probe's instruments attached through hooks (per-step
gradient norms and step times; sampled activation statistics, update ratios and clipping) on
the same model, data and optimizer: the instruments never own the loop. Goal: ratio <= 1.3 for
the CNN. Then `advisor demo` is timed end to end (goal: < 20 s on two CPU cores).

Run: .venv/bin/python benchmarks/probe_overhead.py [--steps N] [--no-demo]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.instruments import (  # noqa: E402
    ActivationStats,
    ClippingDetector,
    DecayShare,
    GradientNorms,
    NumericMargins,
    StepClock,
    StepTimer,
    UpdateRatios,
)
from advisor.probing.trace import ForwardTrace  # noqa: E402


def mlp() -> tuple[nn.Module, DataLoader]:
    model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    x, y = torch.randn(4096, 256), torch.randint(0, 10, (4096,))
    return model, DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)


def cnn() -> tuple[nn.Module, DataLoader]:
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 4 * 4, 384), nn.ReLU(), nn.Linear(384, 10))
    x, y = torch.randn(2048, 3, 32, 32), torch.randint(0, 10, (2048,))
    return model, DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)


def plain_loop(model: nn.Module, loader: DataLoader, steps: int,
               opt: torch.optim.Optimizer | None = None,
               before_step: Callable[[int], None] | None = None) -> list[float]:
    opt = opt or torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    times: list[float] = []
    it = iter(loader)
    for step in range(steps):
        if before_step is not None:
            before_step(step)
        t0 = time.perf_counter()
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        times.append(time.perf_counter() - t0)
    return times


def probe_loop(model: nn.Module, loader: DataLoader, steps: int) -> list[float]:
    """The plain loop with every training instrument attached through hooks."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, _ = next(iter(loader))
    tracer = ForwardTrace()
    with tracer, torch.no_grad():
        model(x[:4])
    layouts = {k: layout for k, (_, _, layout) in enumerate(tracer.activation_sites())}
    clock = StepClock.for_steps(steps)
    instruments = [GradientNorms(clock), UpdateRatios(clock), ActivationStats(clock, layouts),
                   StepTimer(clock), ClippingDetector(clock), NumericMargins(clock),
                   DecayShare(clock)]
    for instrument in instruments:
        instrument.attach(model, opt)
    try:
        times = plain_loop(model, loader, steps, opt, clock.begin)
    finally:
        for instrument in instruments:
            instrument.detach()
    instruments[0].record.series()  # the norms are read back once, at the end
    return times


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this thread) of one call."""
    w, c = time.perf_counter(), time.thread_time()
    fn(*args)
    return time.perf_counter() - w, time.thread_time() - c


def compare(name: str, build, steps: int, repeats: int) -> float:
    """Plain and instrumented blocks alternate on the same model and data, so that load from
    other processes hits both alike. Reported per step: wall time and the CPU time of the
    training thread (with one torch thread all the work runs there, and CPU time is not
    inflated by other processes competing for the cores). The ratio uses CPU time of the
    fastest block of each kind; a block includes attaching and detaching the instruments,
    amortised over its steps."""
    torch.manual_seed(0)
    model, loader = build()
    params = sum(p.numel() for p in model.parameters())
    plain_loop(model, loader, 5)  # warm-up (allocator, kernels)
    rows = {"plain": [], "probe": []}
    for _ in range(repeats):
        rows["plain"].append(timed(plain_loop, model, loader, steps))
        rows["probe"].append(timed(probe_loop, model, loader, steps))
    # the fastest block of each kind is the least disturbed by other processes
    wall = {k: min(w for w, _ in v) / steps for k, v in rows.items()}
    cpu = {k: min(c for _, c in v) / steps for k, v in rows.items()}
    ratio = cpu["probe"] / cpu["plain"]
    print(f"{name:4} ({params / 1e6:.2f}M params): plain {1000 * cpu['plain']:7.2f} ms/step CPU "
          f"({1000 * wall['plain']:.2f} wall), instrumented {1000 * cpu['probe']:7.2f} ms/step "
          f"CPU ({1000 * wall['probe']:.2f} wall), ratio {ratio:.3f} "
          f"(wall ratio {wall['probe'] / wall['plain']:.3f})")
    return ratio


def demo_time() -> tuple[float, float]:
    """Wall time and CPU time (user + sys, children) of `advisor demo` in a fresh process."""
    before = os.times()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "advisor", "demo", "--quiet"], cwd=ROOT,
                   check=False, stdout=subprocess.DEVNULL)
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return time.perf_counter() - t0, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per block")
    parser.add_argument("--repeats", type=int, default=3, help="blocks of each kind")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 makes CPU time a fair measure)")
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.steps} steps x "
          f"{args.repeats} alternating blocks")
    compare("MLP", mlp, args.steps, args.repeats)
    ratio = compare("CNN", cnn, args.steps, args.repeats)
    print(f"CNN overhead goal <= 1.3: {'met' if ratio <= 1.3 else 'NOT met'}")
    if not args.no_demo:
        wall, cpu = demo_time()
        print(f"advisor demo end to end: {wall:.1f} s wall, {cpu:.1f} s CPU "
              f"(goal < 20 s on two cores): {'met' if wall < 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
