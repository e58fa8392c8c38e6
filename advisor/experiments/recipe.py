"""How every experiment gets its own fresh copy of the user's model, optimizer, scheduler and
gradient scaler, so that the user's objects are never trained.

The model and the user's optimizer are deep-copied *together* (one `copy.deepcopy` of the pair),
so the copied optimizer holds the copied parameters and keeps its class, its constructor
arguments, its param groups and its state exactly: an optimizer subclass with its own
constructor, per-group settings and tensors that live outside the model all survive, and the
probe never has to call `cls(groups, **defaults)`. A scheduler or GradScaler is never copied
from the user: the setup hands over a factory of the optimizer (or of nothing, for the scaler)
and each experiment builds its own on its own optimizer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from advisor.probing.setup import ProbeSetupError

DEFAULT_LR = 3e-4


@dataclass
class Trainee:
    """One experiment's objects: trained, then thrown away."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any = None
    scaler: Any = None


@dataclass
class Recipe:
    """The pristine copies every experiment starts from.

    kind: 'instance' (the user built an optimizer), 'factory' (a callable taking the
    parameters) or 'default' (none given: Adam at 3e-4).
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer | None
    kind: str
    factory: Callable[..., Any] | None = None
    scheduler_factory: Callable[..., Any] | None = None
    scaler_factory: Callable[..., Any] | None = None

    @classmethod
    def from_user(cls, model: torch.nn.Module, optimizer: Any, device: torch.device,
                  scheduler: Callable[..., Any] | None = None,
                  scaler: Callable[..., Any] | None = None) -> Recipe:
        """Copy the user's model (and optimizer, when one was built) onto `device`."""
        if isinstance(optimizer, torch.optim.Optimizer):
            pristine, opt = _guarded(copy_pair, model, optimizer)
            pristine.to(device)
            _state_to(opt, device)
            kind, factory = "instance", None
        else:
            pristine, opt = _guarded(copy.deepcopy, model).to(device), None
            kind, factory = ("factory", optimizer) if callable(optimizer) else ("default", None)
        return cls(pristine, opt, kind, factory, scheduler, scaler)

    def fresh_model(self) -> torch.nn.Module:
        """A new copy of the model as handed over, in training mode."""
        model = copy.deepcopy(self.model)
        model.train()
        return model

    def build(self, lr: float | None = None, with_state: bool = True,
              default_lr: float = DEFAULT_LR, amp: bool = False,
              device: torch.device | None = None, adam: bool = False,
              scheduler: bool = True) -> Trainee:
        """Fresh copies for one experiment, optionally at another learning rate, without the
        optimizer's accumulated state (momentum buffers, Adam moments), or with Adam in place
        of the user's optimizer (`adam`, the overfit test's fallback)."""
        if adam:
            model = copy.deepcopy(self.model)
            opt = torch.optim.Adam(model.parameters(), lr=default_lr)
        elif self.kind == "instance":
            model, opt = copy_pair(self.model, self.optimizer)
            if not with_state:
                opt.state.clear()
        else:
            model = copy.deepcopy(self.model)
            opt = (self._call_factory(model) if self.kind == "factory"
                   else torch.optim.Adam(model.parameters(), lr=default_lr))
        model.train()
        if lr is not None:
            set_lr(opt, lr)
        # a scheduler changes the rate as it is built (warmup, OneCycleLR): tests that set
        # their own rate build none
        built = self.scheduler_for(opt) if scheduler else None
        scaler = None
        if self.scaler_factory is not None:
            scaler = self._call("scaler", self.scaler_factory)
        elif amp:
            scaler = torch.amp.GradScaler((device or torch.device("cpu")).type)
        return Trainee(model, opt, built, scaler)

    def scheduler_for(self, opt: torch.optim.Optimizer) -> Any:
        """The setup's scheduler built on `opt` (None when the setup has none): built last, on
        the optimizer that trains, so it schedules the rate that optimizer was given."""
        if self.scheduler_factory is None:
            return None
        return self._call("scheduler", self.scheduler_factory, opt)

    def _call_factory(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        opt = self._call("optimizer", self.factory, model.parameters())
        if not isinstance(opt, torch.optim.Optimizer):
            raise ProbeSetupError(f"the optimizer callable returned {type(opt).__name__}; "
                                  "expected a torch.optim.Optimizer")
        return opt

    @staticmethod
    def _call(what: str, factory: Callable[..., Any] | None, *args: Any) -> Any:
        try:
            return factory(*args)  # type: ignore[misc]
        except Exception as exc:
            given = "the optimizer" if what == "scheduler" else \
                "model.parameters()" if what == "optimizer" else "no arguments"
            raise ProbeSetupError(
                f"the {what} callable raised {type(exc).__name__}: {exc} when given {given}; "
                f"expected a callable that builds a fresh {what} for the probe's copy") from None


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Set every group's learning rate, keeping its type (some optimizers hold a tensor)."""
    for group in opt.param_groups:
        old = group["lr"]
        if isinstance(old, torch.Tensor):
            old.fill_(float(lr))
        else:
            group["lr"] = float(lr)


def copy_pair(model: torch.nn.Module,
              optimizer: torch.optim.Optimizer) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """Deep copies of a model and its optimizer that share one memo, so the copied optimizer
    holds the copied parameters (and any tensor outside the model is copied once).

    The optimizer is copied attribute by attribute: `Optimizer.__getstate__` keeps only
    defaults, state and param_groups, so a plain deepcopy would lose what subclasses and
    L-BFGS keep on the instance (`_params`, a subclass's own settings)."""
    memo: dict[int, Any] = {}
    model_copy = copy.deepcopy(model, memo)
    opt_copy = optimizer.__class__.__new__(optimizer.__class__)
    memo[id(optimizer)] = opt_copy
    opt_copy.__dict__.update(copy.deepcopy(optimizer.__dict__, memo))
    _unpatch(opt_copy)
    return model_copy, opt_copy


def _guarded(copier: Callable[..., Any], *objs: Any) -> Any:
    """A copy, or a ProbeSetupError that says why the model cannot be copied."""
    obj = objs if len(objs) > 1 else objs[0]
    try:
        return copier(*objs)
    except (MemoryError, torch.OutOfMemoryError) as exc:
        raise ProbeSetupError(_too_big(obj, exc)) from None
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower() or "can't allocate" in str(exc).lower():
            raise ProbeSetupError(_too_big(obj, exc)) from None
        raise ProbeSetupError(_not_copyable(exc)) from None
    except Exception as exc:
        raise ProbeSetupError(_not_copyable(exc)) from None


def _not_copyable(exc: BaseException) -> str:
    return (f"the model cannot be deep-copied ({type(exc).__name__}: {exc}); the probe trains a "
            "copy so that your model is left untouched. Keep non-copyable objects (open files, "
            "locks, loggers, generators) out of the module's attributes, or hand them over "
            "through the setup instead.")


def model_megabytes(obj: Any) -> float:
    """Memory held by the parameters and buffers of the model in `obj` (a model or a pair)."""
    model = obj[0] if isinstance(obj, tuple) else obj
    total = 0
    for t in list(model.parameters()) + list(model.buffers()):
        total += t.numel() * t.element_size()
    return total / 2**20


def _too_big(obj: Any, exc: BaseException) -> str:
    size = model_megabytes(obj)
    return (f"there is not enough memory for a copy of the model ({size:,.0f} MB of parameters "
            f"and buffers, plus the optimizer's state; {type(exc).__name__}). The probe trains "
            "copies so that your model is left untouched, so it needs that much free memory "
            "again. Probe a smaller configuration of the same model (fewer layers or a "
            "narrower width keep the same faults), or free memory first.")


def _unpatch(opt: torch.optim.Optimizer | None) -> None:
    """Drop an instance-level `step` wrapper on a copied optimizer.

    An LRScheduler wraps `optimizer.step` on the instance, and that wrapper calls the step of
    the optimizer it was made for through a weak reference: copied as it is, the copy's `step`
    would update the user's parameters. The class's own step is the right one for the copy."""
    if opt is not None and hasattr(opt.__dict__.get("step"), "_wrapped_by_lr_sched"):
        del opt.__dict__["step"]
        opt.__dict__.pop("_opt_called", None)


def _state_to(opt: torch.optim.Optimizer, device: torch.device) -> None:
    """Move the optimizer state's tensors next to their parameters after `model.to(device)`."""
    for state in opt.state.values():
        for key, value in list(state.items()):
            if isinstance(value, torch.Tensor) and value.device != device and key != "step":
                state[key] = value.to(device)
