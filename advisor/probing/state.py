"""Nothing lost: the probe never trains the user's objects, and puts every global back.

The user's model and optimizer are deep-copied before anything runs (`advisor.experiments.recipe`),
the global RNG states (python, numpy,
torch, cuda, mps), the generators of the user's DataLoaders and a few torch switches are
snapshotted and restored in a `finally`, whatever the user's code raised.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class GlobalState:
    """Everything global the user's code or the probe may touch while it runs."""

    python: Any
    numpy: Any
    torch: torch.Tensor
    cuda: list[torch.Tensor] | None
    mps: torch.Tensor | None
    grad_enabled: bool
    anomaly: bool
    generators: list[tuple[torch.Generator, torch.Tensor]] = field(default_factory=list)

    @classmethod
    def capture(cls, *loaders: Any) -> GlobalState:
        cuda = None
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            cuda = torch.cuda.get_rng_state_all()
        mps = None
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            try:
                mps = torch.mps.get_rng_state()
            except Exception:  # pragma: no cover - MPS only
                mps = None
        gens = [(g, g.get_state()) for g in loader_generators(*loaders)]
        return cls(random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda, mps,
                   torch.is_grad_enabled(), torch.is_anomaly_enabled(), gens)

    def restore(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:  # None: CUDA was not in use before the probe
            torch.cuda.set_rng_state_all(self.cuda)
        if self.mps is not None:  # pragma: no cover - MPS only
            torch.mps.set_rng_state(self.mps)
        torch.set_grad_enabled(self.grad_enabled)
        torch.autograd.set_detect_anomaly(self.anomaly)
        for gen, state in self.generators:
            gen.set_state(state)


def loader_generators(*loaders: Any) -> Iterator[torch.Generator]:
    """The private generators a DataLoader (or its samplers) advance when iterated (restored
    after a run; the remedy trials reseed them per seed so that data order follows the seed)."""
    seen: set[int] = set()
    for loader in loaders:
        if loader is None:
            continue
        candidates = [getattr(loader, "generator", None)]
        sampler = getattr(loader, "sampler", None)
        batch_sampler = getattr(loader, "batch_sampler", None)
        candidates.append(getattr(sampler, "generator", None))
        candidates.append(getattr(getattr(batch_sampler, "sampler", None), "generator", None))
        for gen in candidates:
            if isinstance(gen, torch.Generator) and id(gen) not in seen:
                seen.add(id(gen))
                yield gen


def seed_everything(seed: int) -> None:
    """Fixed seeds per phase: the same setup and seed give the same observations."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@contextmanager
def preserved(*loaders: Any) -> Iterator[GlobalState]:
    """Snapshot the global state, and restore it however the block ends."""
    state = GlobalState.capture(*loaders)
    try:
        yield state
    finally:
        state.restore()
