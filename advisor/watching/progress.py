"""Live progress of a watch, as JSON lines another process can follow (the TUI's watch screen).

`advisor tui` runs `advisor watch` in a subprocess (the user's script prints to stdout, calls
sys.exit and may need the main thread for signals: none of that can happen inside the UI's
process). With ADVISOR_WATCH_PROGRESS=FILE in its environment, `advisor watch` appends one line to
FILE every few training steps:

    {"step": 12, "total": 40, "losses": [0.71, 0.69, 0.66, 0.64]}

`step` is the training steps watched so far, `total` the steps the watch will watch (null with
--follow), `losses` the losses read since the previous line. A last line with `"done": true`
comes from the finished report. The file is a stream, appended to and flushed line by line; a
reader keeps a trailing partial line until its newline arrives.

The numbers are the running watch's own: one more global optimizer step post-hook reads
`observer.step` and the losses the observer has already read (it reads them in one batch at its
sampled steps), so the progress never forces a device sync of its own. A loop without an
optimizer (manual updates) fires no optimizer hook: it gets only the final line.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import torch.optim.optimizer as optim_hooks

from advisor.report.probe import ProbeReport
from advisor.watching.observer import LoopObserver
from advisor.watching.options import WatchOptions
from advisor.watching.session import Watch

ENV = "ADVISOR_WATCH_PROGRESS"
MIN_INTERVAL = 0.2  # seconds between lines that bring no new loss (steps only)


class ProgressWriter:
    """Appends progress lines to a file while a watch runs (see the module docstring)."""

    def __init__(self, stream: IO[str], options: WatchOptions) -> None:
        self.stream = stream
        self.total = None if options.follow else options.steps
        self.observer: LoopObserver | None = None
        self.sent_losses = 0
        self.sent_step = -1
        self._last_write = 0.0
        self._handle: Any = None

    def start(self) -> None:
        self._handle = optim_hooks.register_optimizer_step_post_hook(self._after_step)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        """A global optimizer step post-hook: never raises into the user's training."""
        try:
            self._report_running()
        except Exception:  # a progress line is never worth the user's run
            self.stop()

    def attach(self, watch: Watch) -> None:
        """`watch_script`'s on_start: the watch whose steps and losses are reported."""
        self.observer = watch.observer

    def _report_running(self) -> None:
        observer = self.observer
        if observer is None:
            return
        values = observer.losses.values
        fresh = values[self.sent_losses:]
        now = time.monotonic()
        if not fresh and (observer.step == self.sent_step or now - self._last_write < MIN_INTERVAL):
            return
        self.sent_losses = len(values)
        self._write({"step": observer.step, "total": self.total, "losses": _finite(fresh)})

    def finish(self, report: ProbeReport) -> None:
        """The last line, from the finished report: every step watched and the losses not yet
        sent (the report read the last ones)."""
        losses = report.series.get("loss") or []
        watched = report.details.get("watch", {}).get("steps_watched", self.sent_step)
        self._write({"step": watched, "total": self.total,
                     "losses": _finite(list(losses)[self.sent_losses:]), "done": True})
        self.sent_losses = len(losses)

    def _write(self, line: dict[str, Any]) -> None:
        self.stream.write(json.dumps(line, allow_nan=False) + "\n")
        self.stream.flush()
        self.sent_step = int(line["step"])
        self._last_write = time.monotonic()


class NoProgress:
    """Stands in for ProgressWriter when nobody asked for progress."""

    def attach(self, watch: Watch) -> None:
        return None

    def finish(self, report: ProbeReport) -> None:
        return None


@contextmanager
def progress_from_env(options: WatchOptions) -> Iterator[ProgressWriter | NoProgress]:
    """A ProgressWriter on the file named by ADVISOR_WATCH_PROGRESS, hooked while the block
    runs; a NoProgress when the variable is unset or empty."""
    path = os.environ.get(ENV, "").strip()
    if not path:
        yield NoProgress()
        return
    with open(path, "a", encoding="utf-8") as stream:
        writer = ProgressWriter(stream, options)
        writer.start()
        try:
            yield writer
        finally:
            writer.stop()


def _finite(values: list[Any]) -> list[float | None]:
    """JSON has no NaN: a non-finite loss travels as null (the report keeps the real value)."""
    out: list[float | None] = []
    for v in values:
        try:
            number = float(v)
        except (TypeError, ValueError):
            out.append(None)
            continue
        out.append(number if math.isfinite(number) else None)
    return out
