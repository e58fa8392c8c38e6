"""Watch: run the person's own training script under `advisor watch` and follow it live.

The script runs in a subprocess (advisor.tui.watching says why), driven from a thread worker so
the UI keeps drawing. The screen shows the steps watched against the steps planned, the training
loss as a sparkline as the watch reads it, and the script's own output in a log pane (followed by
the watch's text summary, which `advisor watch` prints at the end). When the
watch ends, its report's diagnoses open on the results screen; this screen stays underneath
(escape on the results comes back to the output, r opens the results again). `c` stops the
script as Ctrl-C would: the watch still reports what it saw, marked partial. As on the probe
screen, the worker keeps only the latest progress and has at most one message in flight; output
lines are queued until shown, never dropped.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import TYPE_CHECKING, Any

from advisor.tui.watching import WatchFailed, WatchOutcome, WatchProgress, parse_request, run_watch
from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, RichLog, Sparkline

from advisor.report import format as fmt

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

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


class WatchScreen(Screen):
    """Keys: c stop the script (while it runs), r the results (once there), escape back
    (stopping a running script first, and saying so)."""

    BINDINGS = [
        Binding("c", "cancel", "Stop"),
        Binding("r", "results", "Results"),
        Binding("escape", "back", "Back"),
    ]

    clock = staticmethod(time.monotonic)

    class Progress(Message):
        """New progress or output is waiting in `WatchScreen._pending`."""

    class Finished(Message):
        def __init__(self, outcome: WatchOutcome | None, error: str = "") -> None:
            super().__init__()
            self.outcome = outcome
            self.error = error

    def __init__(self, line: str, options: dict[str, Any] | None = None) -> None:
        """`line`: what follows `python` (SCRIPT.py ARGS... or -m MODULE ARGS...)."""
        super().__init__()
        self.line = line
        self.options = dict(options or {})
        self.cancel_event = threading.Event()
        self.state = "running"  # running | cancelling | done | failed
        self.phase = ""
        self.step = 0
        self.total: int | None = None
        self.losses: list[float] = []
        self.live_points = 0  # losses shown while the watch ran (before its report came)
        self.output: collections.deque[str] = collections.deque(maxlen=MAX_LOG_LINES)
        self.outcome: WatchOutcome | None = None
        self.error = ""
        self._started = self.clock()
        self._lock = threading.Lock()
        self._pending: tuple[WatchProgress | None, list[float]] | None = None
        self._pending_lines: list[str] = []  # output not yet shown (never dropped, unlike states)
        self._in_flight = False

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="watch-body"):
            yield Plain(Text.assemble(("Watching ", "bold"), self.line), id="watch-title")
            yield Plain("Starting Python and torch…", id="watch-phase")
            yield ProgressBar(total=None, show_eta=False, id="watch-progress")
            yield Plain("Training loss", classes="pane-title")
            yield Sparkline([], id="watch-loss")
            yield Plain(Text("The curve appears when the first losses are read.", style="dim"),
                        id="watch-loss-label")
            yield Plain("Output (your script's, then the watch's summary)",
                        classes="pane-title")
            yield RichLog(id="watch-log", wrap=True, markup=False, max_lines=MAX_LOG_LINES)
            yield Plain("", id="watch-status")
        yield Footer()

    def on_mount(self) -> None:
        self.phase = "starting"
        self.run_watch()

    def on_unmount(self) -> None:
        # leaving the screen, or quitting, stops the script (the app waits for its worker)
        self.cancel_event.set()

    # ------------------------------------------------------------------ the worker
    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def run_watch(self) -> None:
        losses: list[float] = []

        def post() -> None:
            # called on the worker's threads; with the lock held: one message in flight
            if self._in_flight:
                return
            self._in_flight = True
            self.post_message(self.Progress())

        def progress(event: WatchProgress) -> None:
            # the latest state replaces the one not yet shown (the losses accumulate in it)
            losses.extend(v for v in event.losses if v is not None and math.isfinite(v))
            with self._lock:
                self._pending = (event, losses[-MAX_POINTS:])
                post()

        def output(line: str) -> None:
            with self._lock:
                self._pending_lines.append(line)
                post()

        try:
            request = parse_request(self.line, self.options)
            outcome = run_watch(request, progress, output, self.cancel_event,
                                kb_dirs=self.advisor.kb_dirs)
        except WatchFailed as exc:
            self.post_message(self.Finished(None, error=str(exc)))
        except Exception as exc:  # a bug must not take the UI down with it
            self.post_message(self.Finished(None, error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Finished(outcome))

    # ------------------------------------------------------------------ progress
    def on_watch_screen_progress(self, message: Progress) -> None:
        with self._lock:
            pending, self._pending, self._in_flight = self._pending, None, False
            lines, self._pending_lines = self._pending_lines, []
        log = self.query_one("#watch-log", RichLog)
        for line in lines[-MAX_LOG_LINES:]:  # older ones would scroll out of the log at once
            self.output.append(line)
            log.write(line)
        if pending is None:
            return
        event, losses = pending
        self.step, self.total = event.step, event.total
        if self.state == "running":
            phase = "writing the report" if event.done else "training"
            if phase != self.phase:
                self.phase = phase
                self.query_one("#watch-phase", Plain).update(Text(
                    f"{phase[0].upper()}{phase[1:]}", style="bold"))
        bar = self.query_one("#watch-progress", ProgressBar)
        if event.total:
            bar.update(total=event.total, progress=min(event.step, event.total))
        if losses:
            self.losses = losses
            self.live_points = len(losses)
            self.query_one("#watch-loss", Sparkline).data = losses
        self._label()

    def _label(self) -> None:
        of = f"/{self.total}" if self.total else ""
        steps = f"step {self.step}{of}"
        if not self.losses:
            text = f"{steps}; the curve appears when the first losses are read"
        else:
            first, last = self.losses[0], self.losses[-1]
            text = f"loss {fmt.number(first)} → {fmt.number(last)} ({steps})"
        self.query_one("#watch-loss-label", Plain).update(Text(text, style="dim"))

    def on_watch_screen_finished(self, message: Finished) -> None:
        elapsed = self.clock() - self._started
        status = self.query_one("#watch-status", Plain)
        phase = self.query_one("#watch-phase", Plain)
        outcome = message.outcome
        if outcome is None:
            self.error = message.error
            self._end("failed")
            phase.update(Text("Failed", style="bold red"))
            status.update(Text(message.error + "\nescape: back", style="red"))
            return
        self.outcome = outcome
        self._end("done")
        title, style = ENDINGS.get(outcome.ending, ("Done", "bold green"))
        if outcome.cancelled:
            title, style = "Stopped by you (partial report)", "bold yellow"
        phase.update(Text(title, style=style))
        series = outcome.series()
        if series.get("loss"):
            self.losses = [v for v in series["loss"] if math.isfinite(v)][-MAX_POINTS:]
            self.query_one("#watch-loss", Sparkline).data = self.losses
        self.step = outcome.steps
        self._label()
        found = outcome.diagnosis().diagnoses
        text = Text(f"{outcome.steps} training steps watched in {elapsed:.1f} s; "
                    f"{len(found)} diagnosis(es). r: results  escape: back",
                    style="green" if outcome.ending in ("stopped", "finished") else "yellow")
        error = outcome.script_error
        if error:
            text = Text.assemble((f"{error}\n", "red"), text)
        status.update(text)
        if self.is_current:
            self.action_results()

    def _end(self, state: str) -> None:
        """The watch is over: the bar stops where it was and shows how it ended; Stop leaves
        the footer and Results joins it."""
        self.state = state
        bar = self.query_one("#watch-progress", ProgressBar)
        if bar.total is None:
            bar.update(total=1, progress=1 if state == "done" else 0)
        bar.add_class(state)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop is offered while the script runs, Results once there is a report."""
        if action == "cancel":
            return self.state == "running"
        if action == "results":
            return self.outcome is not None
        return True

    # ------------------------------------------------------------------ actions
    def action_cancel(self) -> None:
        if self.state != "running":
            return
        self.state = "cancelling"
        self.cancel_event.set()
        self.refresh_bindings()
        self.query_one("#watch-phase", Plain).update(Text(
            "Stopping the script (the report of what was seen comes next)…", style="bold yellow"))

    def action_results(self) -> None:
        if self.outcome is None:
            return
        from advisor.tui.screens.results import ResultsScreen

        self.app.push_screen(ResultsScreen(self.outcome.diagnosis(),
                                           series=self.outcome.series()))

    def action_back(self) -> None:
        """Leave the screen; a script still running is stopped, and the person is told so."""
        if self.state in ("running", "cancelling"):
            self.action_cancel()
            self.app.notify("Watch stopped: the script was interrupted.", title="Watch",
                            severity="warning", timeout=4, markup=False)
        self.app.pop_screen()
