"""Nothing lost: the probe never trains the user's objects, and puts every global back.

The user's model and optimizer are deep-copied before anything runs (the optimizer is rebuilt on
the copy from its class, param_groups and state_dict), the global RNG states (python, numpy,
torch, cuda, mps), the generators of the user's DataLoaders and a few torch switches are
snapshotted and restored in a `finally`, whatever the user's code raised.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from advisor.probing.setup import ProbeSetupError


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
        gens = [(g, g.get_state()) for g in _loader_generators(*loaders)]
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


def _loader_generators(*loaders: Any) -> Iterator[torch.Generator]:
    """The private generators a DataLoader (or its samplers) advance when iterated."""
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


# ------------------------------------------------------------------------------ model copies
def copy_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A deep copy on `device`; the user's module is never trained."""
    try:
        clone = copy.deepcopy(model)
    except Exception as exc:
        raise ProbeSetupError(
            f"the model cannot be deep-copied ({type(exc).__name__}: {exc}); the probe trains a "
            "copy so that your model is left untouched. Keep non-copyable objects (open files, "
            "locks, loggers) out of the module's attributes.") from None
    return clone.to(device)


@dataclass
class OptimizerRecipe:
    """How to rebuild the user's optimizer on a copy of the model.

    kind: 'instance' (the user built one), 'factory' (a callable taking the parameters) or
    'default' (none given: Adam at 3e-4).
    """

    kind: str
    cls: type | None
    groups: list[dict[str, Any]]          # hyperparameters per group, params as model indices
    state: dict[str, Any] | None           # the user's optimizer state_dict (copied)
    defaults: dict[str, Any]
    factory: Callable[..., Any] | None = None
    foreign: dict[int, torch.Tensor] = field(default_factory=dict)  # params not in the model

    DEFAULT_LR = 3e-4

    @classmethod
    def from_setup(cls, optimizer: Any, model: torch.nn.Module) -> OptimizerRecipe:
        if optimizer is None:
            return cls("default", torch.optim.Adam, [], None, {"lr": cls.DEFAULT_LR})
        if isinstance(optimizer, torch.optim.Optimizer):
            index = {id(p): i for i, p in enumerate(model.parameters())}
            groups, foreign = [], {}
            for g in optimizer.param_groups:
                refs = []
                for p in g["params"]:
                    if id(p) in index:
                        refs.append(("model", index[id(p)]))
                    else:  # a tensor of another model: train a detached copy, never the original
                        copy_ = p.detach().clone().requires_grad_(p.requires_grad)
                        foreign.setdefault(id(p), copy_)
                        refs.append(("foreign", id(p)))
                groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": refs})
            state = copy.deepcopy(optimizer.state_dict())
            return cls("instance", type(optimizer), groups, state, dict(optimizer.defaults),
                       foreign=foreign)
        if isinstance(optimizer, type) or callable(optimizer):
            return cls("factory", None, [], None, {}, factory=optimizer)
        raise ProbeSetupError(f"optimizer {optimizer!r} is neither an optimizer nor a callable")

    def build(self, model: torch.nn.Module, lr: float | None = None,
              with_state: bool = True) -> torch.optim.Optimizer:
        """A new optimizer on `model` (a copy), optionally at another learning rate."""
        if self.kind == "default":
            opt = torch.optim.Adam(model.parameters(), lr=self.DEFAULT_LR)
        elif self.kind == "factory":
            opt = self._call_factory(model)
        else:
            opt = self._rebuild(model, with_state)
        if lr is not None:
            for g in opt.param_groups:
                g["lr"] = _like(g["lr"], lr)
        return opt

    def _call_factory(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        try:
            opt = self.factory(model.parameters())
        except Exception as exc:
            raise ProbeSetupError(f"the optimizer callable raised {type(exc).__name__}: {exc} "
                                  "when given model.parameters(); expected a callable taking the "
                                  "parameters and returning a torch.optim.Optimizer") from None
        if not isinstance(opt, torch.optim.Optimizer):
            raise ProbeSetupError(f"the optimizer callable returned {type(opt).__name__}; "
                                  "expected a torch.optim.Optimizer")
        return opt

    def _rebuild(self, model: torch.nn.Module, with_state: bool) -> torch.optim.Optimizer:
        params = list(model.parameters())
        device = params[0].device if params else torch.device("cpu")
        foreign = {k: v.detach().clone().to(device).requires_grad_(v.requires_grad)
                   for k, v in self.foreign.items()}
        groups = []
        for g in self.groups:
            mapped = [params[i] if where == "model" else foreign[i] for where, i in g["params"]]
            groups.append({**copy.deepcopy({k: v for k, v in g.items() if k != "params"}),
                           "params": mapped})
        try:
            opt = self.cls(groups, **self.defaults)
        except TypeError:
            opt = self.cls(groups)
        if with_state and self.state is not None:
            # state that does not fit the groups (e.g. another model's): start without it
            with contextlib.suppress(ValueError, KeyError, RuntimeError):
                opt.load_state_dict(copy.deepcopy(self.state))
        return opt


def _like(old: Any, value: float) -> Any:
    """Set a learning rate keeping its type (some optimizers hold it as a tensor)."""
    if isinstance(old, torch.Tensor):
        return torch.tensor(value, dtype=old.dtype, device=old.device)
    return value
