"""`Watch`: one watch of a training loop, as a context manager.

    with advisor.watch(model, optimizer) as w:
        for xb, yb in loader:
            ...                      # the user's own loop, unchanged
    print(w.report().text())

Without a model and optimizer, every module and optimizer created inside the block is watched
(this is how `advisor watch train.py` runs a script). The user's warnings still show as
before: the watch only reads them as they pass (PyTorch's own "lr_scheduler.step() before
optimizer.step()" warning is evidence).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from advisor.report.probe import ProbeReport
from advisor.watching.observer import LoopObserver
from advisor.watching.options import DEFAULT_BUDGET, DEFAULT_STEPS, WatchOptions
from advisor.watching.report import Ending, build_report

SCHEDULER_ORDER_WARNING = "lr_scheduler.step()` before `optimizer.step()`"
# warnings the watch itself causes (torch.compile sees the watch's global module hooks): not
# the user's, neither shown nor counted
OWN_WARNINGS = ("Using `torch.compile(module)` when there are global hooks on modules",)


class Watch:
    """A watch of the loop that runs inside its `with` block (see the module docstring)."""

    def __init__(self, models: Iterable[torch.nn.Module] = (),
                 optimizers: Iterable[torch.optim.Optimizer] = (),
                 options: WatchOptions | None = None, name: str = "watch",
                 stop: bool = False) -> None:
        self.options = options or WatchOptions()
        self.name = name
        self.observer = LoopObserver(self.options, models, optimizers, stop=stop)
        self.ending = Ending()
        self._showwarning: Any = None
        self._active = False

    def __enter__(self) -> Watch:
        self.start()
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        self.close()

    def start(self) -> None:
        if self._active:
            return
        self.observer.start()
        self._showwarning = warnings.showwarning
        warnings.showwarning = self._seen_warning
        self._active = True

    def close(self) -> None:
        """Remove every hook and wrapper; the user's objects are as they were."""
        if not self._active:
            return
        self.observer.stop_hooks()
        if warnings.showwarning is self._seen_warning:
            warnings.showwarning = self._showwarning
        self._active = False

    def _seen_warning(self, message: Any, category: type[Warning], filename: str, lineno: int,
                      file: Any = None, line: str | None = None) -> None:
        text = str(message)
        if any(own in text for own in OWN_WARNINGS):
            return
        if SCHEDULER_ORDER_WARNING in text:
            self.observer.scheduler_warned = True
        self.observer.warnings.add(category, message, filename, lineno)
        self._showwarning(message, category, filename, lineno, file, line)

    @property
    def steps(self) -> int:
        """Training steps watched so far."""
        return self.observer.step

    def report(self, diagnose: bool = True) -> ProbeReport:
        """The report of what was seen so far (the same type as `advisor.probe`'s)."""
        return build_report(self.observer, self.ending, self.name, self.options.kb_dirs,
                            with_diagnosis=diagnose)


def watch(model: torch.nn.Module | Sequence[torch.nn.Module] | None = None,
          optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer] | None = None, *,
          steps: int = DEFAULT_STEPS, every_step: bool = False,
          kb_dirs: Sequence[str] = (), name: str = "watch") -> Watch:
    """Watch a training loop of your own: `with advisor.watch(model, optimizer) as w: ...`.

    `model` and `optimizer` (one or several) restrict the watch to them; without them every
    module and optimizer used inside the block is watched. `steps` sets how statistics are
    sampled (about 25 sampled steps over that many); the loop is never interrupted.
    `w.report()` gives the same report object as `advisor.probe`.
    """
    models = _as_list(model, torch.nn.Module, "model")
    optimizers = _as_list(optimizer, torch.optim.Optimizer, "optimizer")
    options = WatchOptions(steps=steps, budget=DEFAULT_BUDGET * 1e6, follow=True,
                           every_step=every_step, kb_dirs=tuple(kb_dirs))
    return Watch(models, optimizers, options, name=name)


def _as_list(obj: Any, kind: type, what: str) -> list[Any]:
    from advisor.watching.errors import WatchError

    if obj is None:
        return []
    items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    for item in items:
        if not isinstance(item, kind):
            raise WatchError(f"advisor.watch(): {what} must be a {kind.__module__}."
                             f"{kind.__qualname__} (or a list of them), not "
                             f"{type(item).__name__}")
    return items
