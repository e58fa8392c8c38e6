"""The hooks that watch a training loop advisor did not write, and the counts they keep.

Public hooks only, plus one thin wrapper:
- global optimizer step pre/post hooks (`torch.optim.optimizer.register_optimizer_step_*`):
  every optimizer the script creates is seen at its steps, with no handle on it;
- global module forward pre/post hooks (`register_module_forward_*`), until the first optimizer
  step: they find the modules the script calls directly (models and losses) and then give way to
  hooks on those modules only, so a deep model pays for two hook calls per step, not two per
  layer;
- `torch.autograd.backward`, wrapped for the watch and put back after (`loss.backward()` calls
  it): the only place where the loss tensor and each backward pass can be seen;
- `torch.amp.GradScaler.scale/step`, wrapped likewise: the unscaled loss, and steps skipped on
  inf/NaN gradients (a skipped step fires no optimizer hook).

A gradient left over from before an optimizer step is recognised without reading any value: the
same `.grad` tensor with the same version counter at the next backward means nobody reset it
(`zero_grad(set_to_none=False)` bumps the version, `set_to_none=True` removes it).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.optim.optimizer as optim_hooks
from torch import nn

from advisor.facts.loop import LoopMeasurements
from advisor.instruments.base import step_closure
from advisor.report.user_warnings import WarningTally
from advisor.watching.models import (
    RootModule,
    describe_root,
    first_lr,
    grad_state_changed,
    loss_value,
    optimizer_params,
    representatives,
)
from advisor.watching.options import WatchOptions
from advisor.watching.statistics import LossLog, StepStatistics

SCALED_GRAD_FNS = ("DivBackward0", "MulBackward0")
FIRST_CHECKS = 3   # grad reach is checked on the first steps and on sampled ones


class WatchStopped(BaseException):
    """Raised inside the user's script by the watcher to end it: the watched steps are done, a
    NaN was located, or the budget is spent. A BaseException, so that the script's own
    `except Exception` does not swallow it; the script runner catches it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class OptimizerState:
    """What the watcher tracks per optimizer between its steps."""

    optimizer: torch.optim.Optimizer
    name: str
    steps: int = 0
    reps: list[tuple[torch.Tensor, int, int]] = field(default_factory=list)
    reset_since_step: bool = False     # its gradient was reset since its last step
    eval_contribution: bool = False    # an eval-mode backward added to its gradient since
    grad_seen: set[int] = field(default_factory=set)
    params: list[torch.Tensor] = field(default_factory=list)

    def refresh(self) -> list[torch.Tensor]:
        """The optimizer's trainable tensors, read again (param groups can be added)."""
        self.params = optimizer_params(self.optimizer)
        return self.params


class LoopObserver:
    """Installs the hooks, keeps the counts, and (for a script) stops it when told to.

    `models` / `optimizers` restrict the watch to those objects (`advisor.watch(model, opt)`);
    without them every module and optimizer the code creates is watched. `stop` makes the hooks
    raise WatchStopped once the watched steps are done (a script); a notebook's loop is never
    interrupted."""

    def __init__(self, options: WatchOptions, models: Iterable[nn.Module] = (),
                 optimizers: Iterable[torch.optim.Optimizer] = (), stop: bool = False) -> None:
        self.options = options
        self._cadence = options.cadence
        self._explicit_models = list(models)
        self.explicit_optimizers = list(optimizers)
        self.only_optimizers = {id(o) for o in self.explicit_optimizers}
        self.scheduler_warned = False
        self.grad_seen: set[int] = set()   # model tensors seen holding a gradient
        self.warnings = WarningTally()   # the user's warnings, read as they pass
        self.stop_on_done = stop
        # counted as the hooks fire, in the record's own terms; the report fills the rest
        self.counts = LoopMeasurements()
        self.stats = StepStatistics()
        self.losses = LossLog()
        self.roots: dict[int, RootModule] = {}
        self.optimizers: dict[int, OptimizerState] = {}
        self.primary: OptimizerState | None = None
        self.step = 0                   # training steps so far (primary optimizer, or backwards)
        self.stop_reason: str | None = None
        self.capped = False
        self.started = 0.0
        self.val_points: list[tuple[int, float]] = []
        self._val_values: list[torch.Tensor] = []
        self._handles: list[Any] = []
        self._restore: list[Callable[[], None]] = []
        self._global_modules = False
        self._module_handles: list[Any] = []
        self._depth = 0
        self._in_step = 0
        self._window_losses: list[tuple[torch.Tensor, bool]] = []
        self._window_scaled: list[bool] = []
        self._window_train_backwards = 0
        self._repeated = False
        self._closure_stats: list[torch.Tensor] | None = None
        self._window_backwards = 0
        self._last_forward: RootModule | None = None
        self._last_forward_training = True
        self._forward_backwards = 0
        self._last_backward: Any = None
        self._module_loss: torch.Tensor | None = None
        self._scaled: dict[int, torch.Tensor] = {}
        self._manual_reps: list[tuple[torch.Tensor, int, int]] = []
        self._fingerprint: torch.Tensor | None = None
        self._first_fingerprint: torch.Tensor | None = None
        self._nan_hooks: list[Any] = []

    # ------------------------------------------------------------------ install / remove
    def start(self) -> None:
        """Install every hook and wrapper; `stop_hooks` removes them all."""
        self.started = time.perf_counter()
        self._handles.append(optim_hooks.register_optimizer_step_pre_hook(self._step_pre))
        self._handles.append(optim_hooks.register_optimizer_step_post_hook(self._step_post))
        if self._explicit_models:
            for m in self._explicit_models:
                self._hook_explicit(m)
        else:
            mm = nn.modules.module
            self._module_handles = [
                mm.register_module_forward_pre_hook(self._global_pre),
                mm.register_module_forward_hook(self._global_post, always_call=True)]
            self._global_modules = True
        self._wrap(torch.autograd, "backward", self._backward_wrapper)
        scaler = torch.amp.grad_scaler.GradScaler
        self._wrap(scaler, "scale", self._scale_wrapper)
        self._wrap(scaler, "step", self._scaler_step_wrapper)

    def stop_hooks(self) -> None:
        """Remove every hook and put every wrapped function back (safe to call twice)."""
        self._drop_global_module_hooks()
        for h in self._handles + self._nan_hooks:
            h.remove()
        self._handles.clear()
        self._nan_hooks.clear()
        while self._restore:
            self._restore.pop()()

    def _wrap(self, owner: Any, name: str, make: Callable[[Callable[..., Any]], Any]) -> None:
        original = owner.__dict__[name] if name in owner.__dict__ else getattr(owner, name)
        setattr(owner, name, make(original))
        self._restore.append(lambda: setattr(owner, name, original))

    def _drop_global_module_hooks(self) -> None:
        if self._global_modules:
            for h in self._module_handles:
                h.remove()
            self._global_modules = False

    # ------------------------------------------------------------------ modules
    def _global_pre(self, module: nn.Module, args: Any) -> None:
        self._entry_pre(module, args)

    def _global_post(self, module: nn.Module, args: Any, output: Any) -> None:
        self._entry_post(module, args, output)

    def _hook_root(self, module: nn.Module) -> None:
        self._handles.append(module.register_forward_pre_hook(self._root_pre))
        self._handles.append(module.register_forward_hook(self._root_post, always_call=True))

    def _hook_explicit(self, model: nn.Module) -> None:
        """A named model, and its direct children that hold parameters: a framework's step may
        call `self.net(x)` rather than the model itself (Lightning's training_step). A child
        called from outside the model's forward counts as a forward of the model."""
        children = [c for c in model.children() if any(p.requires_grad for p in c.parameters())]
        for target in [model, *children]:
            self._handles.append(target.register_forward_pre_hook(
                lambda _m, args, model=model: self._entry_pre(model, args)))
            self._handles.append(target.register_forward_hook(
                lambda _m, args, out, model=model: self._entry_post(model, args, out),
                always_call=True))

    def _entry_pre(self, model: nn.Module, args: Any) -> None:
        self._depth += 1
        if self._depth == 1:
            try:
                self._root_pre(model, args)
            except BaseException:
                self._depth = 0
                raise

    def _entry_post(self, model: nn.Module, args: Any, output: Any) -> None:
        self._depth = max(0, self._depth - 1)
        if self._depth == 0:
            self._root_post(model, args, output)

    def _root(self, module: nn.Module) -> RootModule | None:
        root = self.roots.get(id(module))
        if root is None:
            root = describe_root(module, {r.name for r in self.roots.values()})
            self.roots[id(module)] = root
            if root.kind == "model":
                for name, p in module.named_parameters():
                    self.stats.names.setdefault(id(p), name)
        return root

    def _root_pre(self, module: nn.Module, args: Any) -> None:
        self._raise_if_done()
        root = self._root(module)
        if root is None or root.kind != "model":
            return
        if root.training and not module.training:
            self.counts.eval_switch_steps.append(self.step)
        elif not root.training and module.training:
            self._close_validation()
        root.training = module.training
        if torch.is_grad_enabled():
            self.counts.grad_forwards += 1
            self._last_forward = root
            self._last_forward_training = module.training
            self._forward_backwards = 0
            self._module_loss = None
            self._last_backward = None

    def _root_post(self, module: nn.Module, args: Any, output: Any) -> None:
        root = self.roots.get(id(module))
        if root is None:
            return
        value = loss_value(output) if root.kind == "loss" or not isinstance(output, torch.Tensor) \
            else None
        if value is None:
            return
        value = value.detach()
        if torch.is_grad_enabled():
            self._module_loss = value
        elif any(not r.training for r in self.roots.values() if r.kind == "model"):
            self._val_values.append(value)

    def _close_validation(self) -> None:
        """An eval -> train switch ends a validation pass: its mean loss is one val point."""
        if self._val_values:
            with torch.no_grad():
                mean = float(torch.stack([v.float().reshape(()) for v in self._val_values])
                             .mean())
            self.val_points.append((self.step, mean))
            self._val_values.clear()

    # ------------------------------------------------------------------ backward
    def _backward_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        observer = self

        def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
            observer._raise_if_done()
            loss = tensors if isinstance(tensors, torch.Tensor) else None
            observer._before_backward(loss)
            result = original(tensors, *args, **kwargs)
            observer._after_backward(loss)
            return result

        backward.__wrapped__ = original  # type: ignore[attr-defined]
        backward.__doc__ = original.__doc__
        return backward

    def _before_backward(self, loss: torch.Tensor | None) -> None:
        c = self.counts
        self._repeated = loss is not None and self._last_backward is not None \
            and self._last_backward() is loss
        if self._repeated:
            c.repeated_backwards += 1
        if self._last_forward is not None and self._forward_backwards == 0:
            if self._last_forward_training:
                c.train_mode_backwards += 1
            else:
                c.eval_mode_backwards += 1
        if self._in_step:
            return  # a closure's backward inside optimizer.step (LBFGS): part of that step
        for state in self.optimizers.values():
            if not state.reps or grad_state_changed(state.reps):
                state.reset_since_step = True
                state.eval_contribution = False
        if self._manual_mode() and self._manual_check():
            self._manual_step()

    def _after_backward(self, loss: torch.Tensor | None) -> None:
        c = self.counts
        c.backward_passes += 1
        self._forward_backwards += 1
        self._window_backwards += 1
        evaluating = self._last_forward is not None and not self._last_forward_training
        if evaluating:
            c.eval_backwards += 1
        elif not self._repeated:
            self._window_train_backwards += 1
        if loss is not None:
            self._last_backward = weakref.ref(loss)
            self._record_loss(loss, counts_for_accumulation=not (evaluating or self._repeated))
        for state in self.optimizers.values():
            state.reps = representatives(state.params)
            if evaluating:
                state.eval_contribution = True
        if c.backward_passes <= FIRST_CHECKS or self._sampled():
            self.grad_seen.update(id(p) for r in self.roots.values() for p in r.params
                                  if p.grad is not None)
        if self._in_step and self._closure_stats is not None:
            self.stats.before_step(self.step, self._closure_stats)
        if self._manual_mode():
            self._manual_after()
            if c.backward_passes >= self.options.steps and not self.options.follow:
                self._finish("steps")  # backward passes and no update at all: enough seen

    def _record_loss(self, loss: torch.Tensor, counts_for_accumulation: bool) -> None:
        unscaled = self._scaled.pop(id(loss), None)
        self._scaled.clear()
        tensor = unscaled if unscaled is not None else loss
        grad_fn = type(tensor.grad_fn).__name__ if tensor.grad_fn is not None else ""
        scaled = grad_fn in SCALED_GRAD_FNS
        if self._module_loss is not None:
            value, scaled_value = self._module_loss, False
        else:
            value, scaled_value = tensor.detach(), scaled
        self._window_losses.append((value, scaled_value))
        if counts_for_accumulation:
            self._window_scaled.append(scaled)

    # ------------------------------------------------------------------ no optimizer
    def _manual_params(self) -> list[torch.Tensor]:
        return [p for r in self.roots.values() if r.kind == "model" for p in r.params]

    def _fingerprint_now(self) -> torch.Tensor | None:
        params = [p.detach() for p in self._manual_params() if not p.is_sparse]
        if not params:
            return None
        with torch.no_grad():
            return torch.stack(torch._foreach_norm(params)).float()

    def _manual_mode(self) -> bool:
        """No optimizer has stepped yet (and none was named): parameters may be updated by
        hand, which only a change of their values between backward passes shows."""
        return self.primary is None and not self.explicit_optimizers

    def _manual_check(self) -> bool:
        """Before a backward in a loop without optimizer steps: did the parameters change since
        the previous backward (a manual update: one training step), and was the gradient reset
        since? Accumulating backward passes change no parameter."""
        if self._fingerprint is None:
            return False
        now = self._fingerprint_now()
        if now is None or now.shape != self._fingerprint.shape \
                or torch.equal(now, self._fingerprint):
            return False
        self.counts.manual_updates += 1
        self.counts.params_changed = True
        if self._manual_reps and not grad_state_changed(self._manual_reps):
            self.counts.manual_stale_updates += 1
        return True

    def _manual_after(self) -> None:
        self._manual_reps = representatives(self._manual_params())
        self._fingerprint = self._fingerprint_now()
        if self._first_fingerprint is None:
            self._first_fingerprint = self._fingerprint

    def _manual_step(self) -> None:
        """No optimizer has stepped: a training step is a backward pass, ended when the next
        one starts (by then an optimizer step would have shown itself)."""
        self._end_window(self.step + 1)
        self.step += 1
        self._after_training_step()

    # ------------------------------------------------------------------ optimizer steps
    def _optimizer(self, opt: torch.optim.Optimizer) -> OptimizerState | None:
        state = self.optimizers.get(id(opt))
        if state is None:
            if self.only_optimizers and id(opt) not in self.only_optimizers:
                return None
            name = type(opt).__name__
            state = OptimizerState(optimizer=opt, name=name)
            state.refresh()
            self.optimizers[id(opt)] = state
        return state

    def _step_pre(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._raise_if_done()
        state = self._optimizer(opt)
        if state is None:
            return
        self._in_step += 1
        if self.primary is None:
            self.primary = state
            self._drop_global_module_hooks_after_discovery()
        params = state.refresh() if self._sampled() else state.params
        closure = step_closure(args, kwargs) is not None
        # gradients set by hand (torch.autograd.grad, no backward since the last step) are
        # no evidence either way
        if state.steps > 0 and not closure and self._window_backwards:
            self.counts.stale_checked_steps += state is self.primary
            if not state.reset_since_step and state is self.primary:
                self.counts.stale_grad_steps += 1
        if state.eval_contribution and self._window_train_backwards and not closure \
                and state is self.primary:
            self.counts.eval_backward_leaks += 1
        if state.steps < FIRST_CHECKS or self._sampled():
            state.grad_seen.update(id(p) for p in params if p.grad is not None)
        if state is not self.primary:
            return
        lr = first_lr(opt)
        if lr is not None:
            self.counts.lrs.append(lr)
        if self._sampled():
            if closure:  # the gradients appear inside step(): read them after its backward
                self._closure_stats = params
            else:
                self.stats.before_step(self.step, params)

    def _step_post(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        state = self.optimizers.get(id(opt))
        if state is None:
            return
        self._in_step = max(0, self._in_step - 1)
        state.steps += 1
        state.reps = representatives(state.params)
        state.reset_since_step = False
        state.eval_contribution = False
        if state is not self.primary:
            return
        if step_closure(args, kwargs) is not None:
            state.grad_seen.update(id(p) for p in state.params if p.grad is not None)
        self._closure_stats = None
        self.stats.after_step()
        self._end_window(self.step + 1)
        self.step += 1
        self._after_training_step()

    def _end_window(self, step: int) -> None:
        """A training step ends: its backward count, its accumulation scaling, its loss."""
        c = self.counts
        k = self._window_backwards
        c.backwards_per_step.append(k)
        scaled_flags = self._window_scaled
        if len(scaled_flags) > 1:
            c.accumulation_scaled_backwards += sum(scaled_flags)
            c.accumulation_unscaled_backwards += len(scaled_flags) - sum(scaled_flags)
        if self._window_losses:
            values = [v.float().reshape(()) for v, _ in self._window_losses]
            summed = any(s for _, s in self._window_losses) and len(values) > 1
            loss = values[0] if len(values) == 1 else (
                torch.stack(values).sum() if summed else torch.stack(values).mean())
            self.losses.add(step - 1, loss)
        self._window_losses = []
        self._window_scaled = []
        self._window_backwards = 0
        self._window_train_backwards = 0

    def _after_training_step(self) -> None:
        """Every training step: read the losses on sampled steps (one sync), look for the first
        non-finite one, and decide whether the watch is done."""
        if self._sampled() or self.step >= self.options.steps:
            bad = self.losses.flush()
            if bad is not None and self.counts.nonfinite_step is None:
                self.counts.nonfinite_step = bad
                self._arm_nan_locator()
        if self.step >= self.options.steps and not self.options.follow:
            self._finish("steps")
        elif time.perf_counter() - self.started > self.options.budget:
            self.capped = True
            self._finish("budget")

    def _sampled(self) -> bool:
        return self.step % self._cadence == 0 or self.step == self.options.steps - 1

    def _drop_global_module_hooks_after_discovery(self) -> None:
        """The first optimizer step ends discovery: the roots found so far keep hooks of their
        own, the global module hooks go (they fire for every layer)."""
        if not self._global_modules:
            return
        self._drop_global_module_hooks()
        self._depth = 0
        for root in self.roots.values():
            self._hook_root(root.module)

    # ------------------------------------------------------------------ AMP
    def _scale_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        observer = self

        def scale(scaler: Any, outputs: Any) -> Any:
            result = original(scaler, outputs)
            if isinstance(outputs, torch.Tensor) and isinstance(result, torch.Tensor):
                observer._scaled[id(result)] = outputs
            return result

        scale.__wrapped__ = original  # type: ignore[attr-defined]
        return scale

    def _scaler_step_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        observer = self

        def step(scaler: Any, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
            state = observer.optimizers.get(id(optimizer))
            before = state.steps if state is not None else 0
            result = original(scaler, optimizer, *args, **kwargs)
            state = observer.optimizers.get(id(optimizer))
            after = state.steps if state is not None else 0
            if after == before and getattr(scaler, "is_enabled", lambda: True)():
                observer.counts.amp_skipped_steps += 1
                observer._window_losses = []
                observer._window_scaled = []
                observer._window_backwards = 0
                observer._window_train_backwards = 0
            return result

        step.__wrapped__ = original  # type: ignore[attr-defined]
        return step

    # ------------------------------------------------------------------ NaN origin
    def _arm_nan_locator(self) -> None:
        """After the first non-finite loss: hooks on every layer of the watched models report
        the first one whose output is not finite at the next forward; then the watch stops."""
        for root in self.roots.values():
            if root.kind != "model":
                continue
            for name, sub in root.module.named_modules():
                # a compiled model's layers sit under _orig_mod: the user knows them without it
                shown = name.replace("_orig_mod.", "").replace("_orig_mod", "") or root.name
                self._nan_hooks.append(sub.register_forward_hook(self._nan_hook(shown)))
        if not self._nan_hooks:
            self._finish("nan")

    def _nan_hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if self.counts.nonfinite_module is not None:
                return
            if isinstance(output, torch.Tensor) and output.is_floating_point() \
                    and not bool(torch.isfinite(output.detach()).all()):
                self.counts.nonfinite_module = name
                for h in self._nan_hooks:
                    h.remove()
                self._nan_hooks.clear()
                self._finish("nan")
        return hook

    # ------------------------------------------------------------------ stopping
    def _finish(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def _raise_if_done(self) -> None:
        if self.stop_reason is not None and self.stop_on_done:
            raise WatchStopped(self.stop_reason)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started if self.started else 0.0

    def budget_spent(self) -> None:
        """The budget ran out while the script was outside every hook (the timer's call)."""
        self.capped = True
        self._finish("budget")

    # ------------------------------------------------------------------ at the end
    def finish_manual(self) -> None:
        """At the end: whether the parameters changed at all in a loop without optimizer
        steps (a first and a last fingerprint)."""
        if self.primary is not None:
            self.counts.params_changed = True
            self._close_validation()
            return
        if self._window_backwards:
            self._end_window(self.step + 1)
            self.step += 1
        if self.counts.params_changed:
            return
        if self._first_fingerprint is not None:
            now = self._fingerprint_now()
            if now is not None and now.shape == self._first_fingerprint.shape:
                self.counts.params_changed = not torch.equal(now, self._first_fingerprint)
        self._close_validation()
