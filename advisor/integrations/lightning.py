"""Watch a Lightning training run: `trainer = Trainer(..., callbacks=[AdvisorCallback()])`.

    from advisor.integrations.lightning import AdvisorCallback
    trainer = lightning.pytorch.Trainer(max_epochs=3, callbacks=[AdvisorCallback()])

The watch starts in `on_fit_start` over the LightningModule and the `torch.optim` optimizers
inside Lightning's wrappers (`trainer.optimizers`), and ends in `on_fit_end`, or in
`on_exception` when fit fails (the error becomes part of the report). The report is printed at
the end (`print_report=False` to keep quiet), written to `json_path` / `markdown_path` /
`html_path` when given, and returned by `callback.report()`.

Lightning steps the optimizer with a closure (forward, zero_grad and backward run inside
`optimizer.step`), so the watch sees each step's backward pass inside the step. The train and
eval mode of the model is read at the LightningModule's own forward (`self(x)` in
`training_step`). Needs `pip install 'advisor[lightning]'`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from advisor.integrations.framework_watch import FrameworkWatch, MissingExtraError, require
from advisor.report.probe import ProbeReport
from advisor.watching.session import Watch


def _lightning() -> Any:
    """`lightning.pytorch` (the `lightning` package), else the older `pytorch_lightning`."""
    try:
        return require("lightning.pytorch", "lightning", "advisor.integrations.lightning")
    except MissingExtraError:
        try:
            return require("pytorch_lightning", "lightning", "advisor.integrations.lightning")
        except MissingExtraError:
            pass
        raise


pl = _lightning()


class AdvisorCallback(pl.Callback):  # type: ignore[misc, name-defined]
    """A Lightning callback that watches the fit and diagnoses it like `advisor watch`.

    `json_path`, `markdown_path`, `html_path`: report files written when fit ends (their
    folders must exist; checked now). `print_report`: print the text report at the end.
    `every_step`: gradient and update statistics at every step instead of about 25 sampled
    steps. `kb_dirs`: extra knowledge-base folders. Only global rank 0 writes and prints."""

    def __init__(self, *, json_path: str | Path | None = None,
                 markdown_path: str | Path | None = None, html_path: str | Path | None = None,
                 print_report: bool = True, every_step: bool = False,
                 kb_dirs: Sequence[str] = ()) -> None:
        super().__init__()
        self._session = FrameworkWatch("Lightning", every_step=every_step, kb_dirs=kb_dirs,
                                       json_path=json_path, markdown_path=markdown_path,
                                       html_path=html_path, print_report=print_report)

    @property
    def watch(self) -> Watch | None:
        """The current (or last) watch, None before the first fit."""
        return self._session.watch

    def report(self, diagnose: bool = True) -> ProbeReport:
        """The report of the last fit (during fit: what was seen so far)."""
        return self._session.report(diagnose)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._session.start([pl_module], list(trainer.optimizers), _planned_steps(trainer),
                            name=f"lightning: {type(pl_module).__name__}")

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._session.finish(main_process=bool(trainer.is_global_zero))

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._session.finish(exception, main_process=bool(trainer.is_global_zero))


def _planned_steps(trainer: Any) -> int | None:
    """The optimizer steps Lightning plans for this fit (None when unbounded or unknown)."""
    try:
        steps = trainer.estimated_stepping_batches
    except Exception:  # Lightning raises for some loaders without a length
        return None
    if isinstance(steps, (int, float)) and math.isfinite(steps) and steps > 0:
        return int(steps)
    return None
