"""Watch: run the person's own training script under `advisor watch` and follow it live.

The script runs in a subprocess (advisor.tui.watching says why), driven from a thread worker so
the UI keeps drawing. The screen shows the steps watched against the steps planned, the training
loss as a sparkline as the watch reads it, and the script's own output in a log pane (followed by
the watch's text summary, which `advisor watch` prints at the end). When the
watch ends, its report's diagnoses open on the results screen; this screen stays underneath
(escape on the results comes back to the output, r opens the results again). `c` stops the
script as Ctrl-C would: the watch still reports what it saw, marked partial. As on the probe
screen (the hand-off is LiveRunScreen's), the worker keeps only the latest progress and has at
most one message in flight; output lines are queued until shown, never dropped.
"""

from __future__ import annotations

import collections
import math
from typing import Any

from advisor.tui.screens.live_run import LiveRunScreen
from advisor.tui.watching import WatchFailed, WatchOutcome, WatchProgress, parse_request, run_watch
from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import ProgressBar

from advisor.report import format as fmt

MAX_POINTS = 2000   # the sparkline summarises anyway; the report keeps every loss
MAX_LOG_LINES = 5000  # the output kept (the log pane and `output`)
ENDINGS = {
    "stopped": ("Done", "bold green"),
    "finished": ("Done: the script ran to its end", "bold green"),
    "capped": ("Done: the budget ran out (partial report)", "bold yellow"),
    "interrupted": ("Stopped (partial report)", "bold yellow"),
    "crashed": ("The script stopped with an error", "bold red"),
    "exited": ("The script exited with an error", "bold red"),
}


class WatchScreen(LiveRunScreen[WatchProgress, WatchOutcome]):
    """Keys: c stop the script (while it runs), r the results (once there), escape back
    (stopping a running script first, and saying so)."""

    BINDINGS = [
        Binding("c", "cancel", "Stop"),
        Binding("r", "results", "Results"),
        Binding("escape", "back", "Back"),
    ]

    ID_PREFIX = "watch"
    HEADING = "Watching "
    STARTING = "Starting Python and torch…"
    CURVE_HINT = "The curve appears when the first losses are read."
    LOG_TITLE = "Output (your script's, then the watch's summary)"
    LOG_MAX_LINES = MAX_LOG_LINES
    CANCELLING = "Stopping the script (the report of what was seen comes next)…"
    BACK_NOTICE = "Watch stopped: the script was interrupted."
    NOTICE_TITLE = "Watch"
    MAX_POINTS = MAX_POINTS
    FAILURES = (WatchFailed,)

    def __init__(self, line: str, options: dict[str, Any] | None = None) -> None:
        """`line`: what follows `python` (SCRIPT.py ARGS... or -m MODULE ARGS...)."""
        super().__init__(line, options)
        self.line = line
        self.step = 0
        self.total: int | None = None
        self.live_points = 0  # losses shown while the watch ran (before its report came)
        self.output: collections.deque[str] = collections.deque(maxlen=MAX_LOG_LINES)

    def on_mount(self) -> None:
        self.phase = "starting"
        self.run_watch()

    # ------------------------------------------------------------------ the worker
    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def run_watch(self) -> None:
        def progress(event: WatchProgress) -> None:
            # the latest state replaces the one not yet shown (the losses accumulate in it)
            self._offer_progress(event, event.losses)

        def watch() -> WatchOutcome:
            request = parse_request(self.line, self.options)
            return run_watch(request, progress, self._queue_line, self.cancel_event,
                             kb_dirs=self.advisor.kb_dirs)

        self._follow(watch)

    # ------------------------------------------------------------------ progress
    def _show_lines(self, lines: list[str]) -> None:
        """The script's output: kept in `output` as well as shown."""
        lines = lines[-MAX_LOG_LINES:]  # older ones would scroll out of the log at once
        self.output.extend(lines)
        super()._show_lines(lines)

    def _show_progress(self, event: WatchProgress, losses: list[float]) -> None:
        self.step, self.total = event.step, event.total
        if self.state == "running":
            phase = "writing the report" if event.done else "training"
            if phase != self.phase:
                self.phase = phase
                self._part("phase", Plain).update(Text(
                    f"{phase[0].upper()}{phase[1:]}", style="bold"))
        bar = self._part("progress", ProgressBar)
        if event.total:
            bar.update(total=event.total, progress=min(event.step, event.total))
        if losses:
            self._show_curve(losses)
            self.live_points = len(losses)
        self._label()

    def _label(self) -> None:
        of = f"/{self.total}" if self.total else ""
        steps = f"step {self.step}{of}"
        if not self.losses:
            text = f"{steps}; the curve appears when the first losses are read"
        else:
            first, last = self.losses[0], self.losses[-1]
            text = f"loss {fmt.number(first)} → {fmt.number(last)} ({steps})"
        self._part("loss-label", Plain).update(Text(text, style="dim"))

    def _show_finished(self, message: LiveRunScreen.Finished, elapsed: float) -> None:
        outcome: WatchOutcome = message.outcome
        self.outcome = outcome
        self._end("done")
        title, style = ENDINGS.get(outcome.ending, ("Done", "bold green"))
        if outcome.cancelled:
            title, style = "Stopped by you (partial report)", "bold yellow"
        self._part("phase", Plain).update(Text(title, style=style))
        series = outcome.series()
        if series.get("loss"):
            self._show_curve([v for v in series["loss"] if math.isfinite(v)][-MAX_POINTS:])
        self.step = outcome.steps
        self._label()
        found = outcome.diagnosis().diagnoses
        text = Text(f"{outcome.steps} training steps watched in {elapsed:.1f} s; "
                    f"{len(found)} diagnosis(es). r: results  escape: back",
                    style="green" if outcome.ending in ("stopped", "finished") else "yellow")
        error = outcome.script_error
        if error:
            text = Text.assemble((f"{error}\n", "red"), text)
        self._part("status", Plain).update(text)
        if self.is_current:
            self.action_results()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop is offered while the script runs, Results once there is a report."""
        if action == "results":
            return self.outcome is not None
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------ actions
    def action_results(self) -> None:
        if self.outcome is None:
            return
        from advisor.tui.screens.results import ResultsScreen

        self.app.push_screen(ResultsScreen(self.outcome.diagnosis(),
                                           series=self.outcome.series()))
