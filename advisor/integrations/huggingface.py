"""Watch a Hugging Face `Trainer` run: `Trainer(..., callbacks=[AdvisorCallback()])`.

    from advisor.integrations.huggingface import AdvisorCallback
    trainer = transformers.Trainer(model=model, args=args, train_dataset=ds,
                                   callbacks=[AdvisorCallback()])

The watch starts in `on_train_begin` over the Trainer's model and the `torch.optim` optimizer
inside accelerate's `AcceleratedOptimizer`; when the Trainer has not created its optimizer yet
at that point, the watch starts at the first `on_step_begin` instead, before the first forward.
It ends in `on_train_end`. The report is printed at the end (`print_report=False` to keep
quiet), written to `json_path` / `markdown_path` / `html_path` when given, and returned by
`callback.report()`.

The Trainer has no event for a failed run: when `trainer.train()` raises, call
`callback.close(error)` in your `except` (the next `train()` closes a watch left open too).
Needs `pip install 'advisor[hf]'` (transformers and accelerate).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from advisor.integrations.framework_watch import FrameworkWatch, require
from advisor.report.probe import ProbeReport
from advisor.watching.session import Watch

transformers = require("transformers", "hf", "advisor.integrations.huggingface")


class AdvisorCallback(transformers.TrainerCallback):  # type: ignore[misc, name-defined]
    """A Hugging Face TrainerCallback that watches training and diagnoses it like
    `advisor watch`.

    `json_path`, `markdown_path`, `html_path`: report files written when training ends (their
    folders must exist; checked now). `print_report`: print the text report at the end.
    `every_step`: gradient and update statistics at every step instead of about 25 sampled
    steps. `kb_dirs`: extra knowledge-base folders. Only the main process writes and prints."""

    def __init__(self, *, json_path: str | Path | None = None,
                 markdown_path: str | Path | None = None, html_path: str | Path | None = None,
                 print_report: bool = True, every_step: bool = False,
                 kb_dirs: Sequence[str] = ()) -> None:
        self._session = FrameworkWatch("Hugging Face", every_step=every_step, kb_dirs=kb_dirs,
                                       json_path=json_path, markdown_path=markdown_path,
                                       html_path=html_path, print_report=print_report)
        self._waiting_model: Any = None
        self._main_process = True

    @property
    def watch(self) -> Watch | None:
        """The current (or last) watch, None before the first training run."""
        return self._session.watch

    def report(self, diagnose: bool = True) -> ProbeReport:
        """The report of the last training run (during training: what was seen so far)."""
        return self._session.report(diagnose)

    def close(self, error: BaseException | None = None) -> ProbeReport | None:
        """End the watch by hand, e.g. with the error when `trainer.train()` raised (the
        Trainer tells callbacks nothing then): hooks removed, report diagnosed and written."""
        self._waiting_model = None
        return self._session.finish(error, main_process=self._main_process)

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       optimizer: Any = None, **kwargs: Any) -> None:
        self._main_process = bool(getattr(state, "is_world_process_zero", True))
        self._session.end_stale()
        if optimizer is None:
            self._waiting_model = model  # created lazily: attach at the first step
            return
        self._start(state, model, optimizer)

    def on_step_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                      optimizer: Any = None, **kwargs: Any) -> None:
        if self._waiting_model is not None:
            model, self._waiting_model = self._waiting_model, None
            self._start(state, model, optimizer)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._waiting_model = None
        self._session.finish(main_process=self._main_process)

    def _start(self, state: Any, model: Any, optimizer: Any) -> None:
        # without an optimizer object the watch takes every optimizer that steps
        self._session.start([model] if model is not None else [],
                            [optimizer] if optimizer is not None else [],
                            getattr(state, "max_steps", None),
                            name=f"transformers: {type(model).__name__}")
