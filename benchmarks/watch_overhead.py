"""Overhead of watching a training loop: time per step of a plain loop vs the same loop under
the watch, with sampled statistics (the default of `advisor watch` and `advisor.watch`) and
with every-step statistics (`--every-step`).

Two models: a CNN of about 1M parameters (batch 32 x 3x32x32) and a small Transformer encoder
(2 layers, d_model 128, sequence 64). The watch is the one `advisor watch SCRIPT` runs: no
model or optimizer named, every module and optimizer found through the global hooks, then
hooks on the roots only (`--follow`, so it never stops the loop). The loop is the user's: the
same seeded model, optimizer and batches in every mode.

Timing: process CPU time (`time.process_time`) with torch on a fixed number of threads
(default 1), so that other programs on a loaded machine do not count; each block of steps
starts after a warm-up (the watch's discovery of the model at its first step included), and
its time per step is the block's total over its steps (the sampled statistics' cost falls on
one step in `cadence`, a per-step median would hide it). Short blocks, modes interleaved and
rotated in each repetition; the ratio is the median over repetitions of each watched block
over the plain block next to it (load that drifts cancels out). Goals (issue 10): <= 1.05x
sampled, <= 1.3x every step. A second figure, robust to load, is the share of a profiled
block spent inside the watcher's hooks.

Run: .venv/bin/python benchmarks/watch_overhead.py [--steps N] [--reps R] [--threads T]
     .venv/bin/python benchmarks/watch_overhead.py --quick       (tiny sizes: a smoke run)
     .venv/bin/python benchmarks/watch_overhead.py --profile cnn:sampled   (cProfile of a mode)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.watching.options import WatchOptions  # noqa: E402
from advisor.watching.session import Watch  # noqa: E402

MODES = ("plain", "sampled", "every_step")
GOALS = {"sampled": 1.05, "every_step": 1.3}
CLOCK = "process CPU time (time.process_time)"


@dataclass
class Workload:
    """A model, its optimizer and its batches, all made from one seed."""

    name: str
    build: Callable[[], tuple[nn.Module, torch.optim.Optimizer]]
    batches: list[tuple[torch.Tensor, torch.Tensor]]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cnn(quick: bool) -> Workload:
    """About 1.0M parameters at full size (conv 32-64-128, BatchNorm, a 2048->448 layer)."""
    width = 4 if quick else 32
    hidden = 16 if quick else 448
    batch = 4 if quick else 32

    def build() -> tuple[nn.Module, torch.optim.Optimizer]:
        w = width
        model = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4 * w * 4 * 4, hidden), nn.ReLU(), nn.Linear(hidden, 10))
        return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(batch, 3, 32, 32, generator=g),
                torch.randint(0, 10, (batch,), generator=g)) for _ in range(8)]
    return Workload("cnn", build, batches, nn.functional.cross_entropy)


class TinyTransformer(nn.Module):
    """A token model: embedding + positions, a TransformerEncoder, a vocabulary head."""

    def __init__(self, vocab: int, d_model: int, layers: int, seq: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.zeros(seq, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=4 * d_model,
                                           dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens) + self.pos[: tokens.shape[1]]))


def transformer(quick: bool) -> Workload:
    """2 layers, d_model 128, sequence 64, batch 16, vocabulary 1000 (about 0.66M
    parameters); predicts the next token."""
    d_model, seq, batch, vocab = (16, 8, 2, 50) if quick else (128, 64, 16, 1000)

    def build() -> tuple[nn.Module, torch.optim.Optimizer]:
        model = TinyTransformer(vocab, d_model, 2, seq)
        return model, torch.optim.AdamW(model.parameters(), lr=3e-4)

    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(8):
        tokens = torch.randint(0, vocab, (batch, seq + 1), generator=g)
        batches.append((tokens[:, :-1], tokens[:, 1:]))

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))

    return Workload("transformer", build, batches, loss)


def train_steps(model: nn.Module, opt: torch.optim.Optimizer, work: Workload, steps: int,
                offset: int) -> None:
    """The user's loop: zero_grad, forward, loss, backward, step."""
    for i in range(steps):
        x, y = work.batches[(offset + i) % len(work.batches)]
        opt.zero_grad(set_to_none=True)
        loss = work.loss(model(x), y)
        loss.backward()
        opt.step()


def block(work: Workload, mode: str, steps: int, warmup: int, watched_steps: int) -> float:
    """Seconds of CPU per step over `steps` steps after `warmup` steps, in one mode."""
    torch.manual_seed(0)
    model, opt = work.build()
    watch = None
    if mode != "plain":
        options = WatchOptions(steps=watched_steps, budget=1e9, follow=True,
                               every_step=mode == "every_step")
        watch = Watch(options=options, name=work.name)
        watch.start()
    try:
        train_steps(model, opt, work, warmup, 0)
        start = time.process_time()
        train_steps(model, opt, work, steps, warmup)
        spent = time.process_time() - start
    finally:
        if watch is not None:
            watch.close()
    return spent / steps


def measure(work: Workload, steps: int, reps: int, warmup: int,
            watched_steps: int) -> dict[str, list[float]]:
    """Interleaved repetitions, the order of the modes rotated each time."""
    times: dict[str, list[float]] = {m: [] for m in MODES}
    for rep in range(reps):
        order = MODES[rep % len(MODES):] + MODES[:rep % len(MODES)]
        for mode in order:
            times[mode].append(block(work, mode, steps, warmup, watched_steps))
    return times


def report(work: Workload, times: dict[str, list[float]], cadence: int) -> list[str]:
    params = sum(p.numel() for p in work.build()[0].parameters())
    plain = statistics.median(times["plain"])
    lines = [f"{work.name}: {params / 1e6:.2f}M parameters, "
             f"{len(times['plain'])} interleaved repetitions, median ms per step "
             f"(sampled statistics every {cadence} steps)"]
    for mode in MODES:
        med = statistics.median(times[mode])
        spread = max(times[mode]) - min(times[mode])
        lines.append(f"  {mode:<11} {1000 * med:8.3f} ms/step  (spread {1000 * spread:.3f})")
    for mode in ("sampled", "every_step"):
        ratio = statistics.median(times[mode]) / plain
        paired = statistics.median(w / p for w, p in zip(times[mode], times["plain"],
                                                         strict=True))
        verdict = "ok" if paired <= GOALS[mode] else "ABOVE GOAL"
        lines.append(f"ratio {work.name} {mode}: {paired:.3f}x (median of paired blocks; "
                     f"ratio of medians {ratio:.3f}x; goal <= {GOALS[mode]}x: {verdict})")
    return lines


# The watcher's entry points (observer.py): each hook's cumulative time includes the statistics
# it computes, and excludes the user's code (the wrapped backward itself is not among them).
HOOKS = ("_step_pre", "_step_post", "_root_pre", "_root_post", "_global_pre", "_global_post",
         "_before_backward", "_after_backward", "_nan_hook")


def attribute(work: Workload, mode: str, steps: int, warmup: int,
              watched_steps: int) -> tuple[float, dict[str, float]]:
    """The share of a profiled block spent inside the watcher's hooks, and each hook's time:
    a figure the machine's load barely moves (cProfile slows Python calls more than torch's
    kernels, so the share is an upper estimate)."""
    profiler = cProfile.Profile()
    profiler.enable()
    block(work, mode, steps, warmup, watched_steps)
    profiler.disable()
    stats = pstats.Stats(profiler)
    parts: dict[str, float] = {}
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith("observer.py") and function in HOOKS:
            parts[function] = parts.get(function, 0.0) + row[3]
    return sum(parts.values()) / stats.total_tt, parts  # type: ignore[attr-defined]


def profile(work: Workload, mode: str, steps: int, warmup: int, watched_steps: int) -> None:
    """cProfile of one block: where the watch's time goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    block(work, mode, steps, warmup, watched_steps)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=16,
                        help="timed steps per block (a multiple of the cadence, 8)")
    parser.add_argument("--warmup", type=int, default=4, help="untimed steps before a block")
    parser.add_argument("--reps", type=int, default=21, help="interleaved repetitions")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--watched-steps", type=int, default=200,
                        help="the watch's --steps (sets the sampling cadence; default 200 "
                             "as `advisor watch`)")
    parser.add_argument("--models", default="cnn,transformer")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--profile", metavar="MODEL:MODE",
                        help="print a cProfile of one block instead of the benchmark")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.reps = 8, 2, 3
    torch.set_num_threads(args.threads)
    makers = {"cnn": cnn, "transformer": transformer}
    cadence = WatchOptions(steps=args.watched_steps).cadence
    if args.profile:
        name, mode = args.profile.split(":")
        profile(makers[name](args.quick), mode, args.steps, args.warmup, args.watched_steps)
        return 0
    print(f"watch overhead: clock = {CLOCK}; torch threads = {args.threads}; "
          f"{args.steps} timed steps per block after {args.warmup} warm-up steps; "
          f"torch {torch.__version__}")
    for name in args.models.split(","):
        work = makers[name](args.quick)
        times = measure(work, args.steps, args.reps, args.warmup, args.watched_steps)
        print("\n".join(report(work, times, cadence)), flush=True)
        for mode in ("sampled", "every_step"):
            share, parts = attribute(work, mode, args.steps, args.warmup, args.watched_steps)
            top = ", ".join(f"{k} {100 * v / sum(parts.values()):.0f}%" for k, v in
                            sorted(parts.items(), key=lambda kv: -kv[1])[:3])
            print(f"attributed {work.name} {mode}: {100 * share:.1f}% of the step inside the "
                  f"watcher's hooks (cProfile; {top})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
