"""Progress on stderr while the probe runs: a rich progress bar on a terminal, plain lines
otherwise (CI logs), nothing with --quiet. stdout stays clean for the summary."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class ProgressDisplay:
    """Callable as progress(phase, done, total); use as a context manager."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.rich = enabled and _isatty(self.stream)
        self._progress: Any = None
        self._task: Any = None
        self._phase: str | None = None
        self._last_line = 0.0

    def __enter__(self) -> ProgressDisplay:
        if self.rich:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(TextColumn("[bold]probe[/] {task.description}"),
                                      BarColumn(), MofNCompleteColumn(),
                                      console=Console(file=self.stream), transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, phase: str, done: int, total: int, loss: float | None = None) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            if phase != self._phase:
                if self._task is not None:
                    self._progress.remove_task(self._task)
                self._task = self._progress.add_task(phase, total=max(total, 1))
                self._phase = phase
            self._progress.update(self._task, completed=done, total=max(total, 1))
            return
        now = time.monotonic()
        if phase != self._phase or done >= total or now - self._last_line > 2.0:
            label = f"{done}/{total}" if total > 1 else ""
            print(f"probe: {phase} {label}".rstrip(), file=self.stream, flush=True)
            self._phase, self._last_line = phase, now

    __call__ = update


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
