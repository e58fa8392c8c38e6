"""A screen that follows a training run live: the part the probe and watch screens share.

Both screens start a long run (the probe's short training, the person's own script) in a thread
worker and show it as it goes: a phase line, a progress bar, the training loss as a sparkline, a
log and a status line, with `c` to stop the run and escape to leave. What makes that hard is
the same on both and lives here once:

- the hand-off from the worker thread to the UI thread. The worker may report every few
  milliseconds; it keeps only the latest progress (a newer state replaces one not yet shown)
  and has at most one message in flight, so the screen redraws as fast as it can, never falls
  behind, and always ends on the final state. Lines queued with `_queue_line` are the
  exception: each is shown, in order, never dropped. The lock makes the flag, the latest
  progress and the queue change together, so nothing the worker adds while the UI takes its
  share is stranded without a message on its way;
- the states (running, cancelling, then how the run ended), which decide what the footer
  offers and how the bar stands once the run is over;
- cancelling: `c`, escape (which says so) and leaving the screen by any other way, since the
  app cannot exit while the worker still runs.

Each screen keeps what is its own: what it runs, its phases, its outcome and what follows it.
The widget ids are the screen's own (`probe-phase`, `watch-phase`), so its stylesheet, tests
and snapshots address them as before.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, ProgressBar, RichLog, Sparkline

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

EventT = TypeVar("EventT")
OutcomeT = TypeVar("OutcomeT")
WidgetT = TypeVar("WidgetT", bound=Widget)


class LiveRunScreen(Screen, Generic[EventT, OutcomeT]):
    """The shared half of a live run's screen; a subclass sets the class attributes below,
    starts its worker on mount (reporting through `_offer_progress` and ending with
    `_follow`), and shows progress and the outcome in `_show_progress` and `_show_finished`."""

    ID_PREFIX: ClassVar[str]  # the widgets' ids: f"{ID_PREFIX}-phase", ...
    HEADING: ClassVar[str]  # bold, before the subject in the title
    STARTING: ClassVar[str]  # the phase line until the first progress
    CURVE_HINT: ClassVar[str]  # under the empty sparkline
    LOG_TITLE: ClassVar[str | None] = None  # a pane title above the log, if it needs one
    LOG_MAX_LINES: ClassVar[int | None] = None  # None: the log keeps every line
    CANCELLING: ClassVar[str]  # the phase line once a stop is asked for
    BACK_NOTICE: ClassVar[str]  # the notification when escape stops a running run
    NOTICE_TITLE: ClassVar[str]
    MAX_POINTS: ClassVar[int]  # the losses the sparkline gets (it summarises anyway)
    FAILURES: ClassVar[tuple[type[Exception], ...]] = ()  # errors whose message says enough

    clock = staticmethod(time.monotonic)  # elapsed times (snapshots fix it)

    class Progress(Message):
        """New progress or queued lines are waiting in the screen's hand-off."""

    class Finished(Message):
        """The run is over: its outcome, or why there is none."""

        def __init__(self, outcome: Any, error: str = "", cancelled: bool = False) -> None:
            super().__init__()
            self.outcome = outcome
            self.error = error
            self.cancelled = cancelled

    def __init__(self, subject: str, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.subject = subject
        self.options = dict(options or {})
        self.cancel_event = threading.Event()
        self.state = "running"  # running | cancelling | done | failed (| cancelled: the probe)
        self.phase = ""
        self.losses: list[float] = []
        self.outcome: OutcomeT | None = None
        self.error = ""
        self._started = self.clock()
        self._lock = threading.Lock()
        # the worker's side of the hand-off, read and written under the lock
        self._losses_read: list[float] = []  # every finite loss the worker has reported
        self._latest: tuple[EventT, list[float]] | None = None
        self._queued: list[str] = []
        self._in_flight = False

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    def _part(self, name: str, kind: type[WidgetT]) -> WidgetT:
        """The screen's widget `name` (ids carry the screen's prefix)."""
        return self.query_one(f"#{self.ID_PREFIX}-{name}", kind)

    def compose(self) -> ComposeResult:
        prefix = self.ID_PREFIX
        yield Header()
        with Vertical(id=f"{prefix}-body"):
            yield Plain(Text.assemble((self.HEADING, "bold"), self.subject), id=f"{prefix}-title")
            yield Plain(self.STARTING, id=f"{prefix}-phase")
            yield ProgressBar(total=None, show_eta=False, id=f"{prefix}-progress")
            yield Plain("Training loss", classes="pane-title")
            yield Sparkline([], id=f"{prefix}-loss")
            yield Plain(Text(self.CURVE_HINT, style="dim"), id=f"{prefix}-loss-label")
            if self.LOG_TITLE:
                yield Plain(self.LOG_TITLE, classes="pane-title")
            yield RichLog(id=f"{prefix}-log", wrap=True, markup=False,
                          max_lines=self.LOG_MAX_LINES)
            yield Plain("", id=f"{prefix}-status")
        yield Footer()

    def on_unmount(self) -> None:
        # Leaving the screen, or quitting, stops the run: the app cannot exit while a worker
        # thread is still training.
        self.cancel_event.set()

    # ------------------------------------------------------------------ the worker's side
    def _follow(self, run: Callable[[], OutcomeT]) -> None:
        """Call `run` (on the worker's thread) and post how it ended. Any exception ends it
        as a failure shown on the screen: a bug must not take the UI down with it."""
        try:
            outcome = run()
        except Exception as exc:
            self.post_message(self._failure(exc))
        else:
            self.post_message(self.Finished(outcome))

    def _failure(self, exc: Exception) -> Finished:
        """How a run that raised ended: an expected failure says it in its own words, anything
        else (a bug) with its type, so it can be reported."""
        if isinstance(exc, self.FAILURES):
            return self.Finished(None, error=str(exc))
        return self.Finished(None, error=f"{type(exc).__name__}: {exc}")

    def _offer_progress(self, event: EventT, losses: Iterable[float | None] = ()) -> None:
        """Worker thread: `event` replaces the progress not yet shown; `losses`, the losses
        read since the last event, join the curve (non-finite ones cannot be drawn)."""
        with self._lock:
            self._losses_read.extend(v for v in losses if v is not None and math.isfinite(v))
            self._latest = (event, self._losses_read[-self.MAX_POINTS:])
            post = self._claim_message()
        if post:
            self.post_message(self.Progress())

    def _queue_line(self, line: str) -> None:
        """Worker thread: `line` is shown in its turn; unlike progress, never dropped."""
        with self._lock:
            self._queued.append(line)
            post = self._claim_message()
        if post:
            self.post_message(self.Progress())

    def _claim_message(self) -> bool:
        """With the lock held: whether a Progress message must be posted (none is in flight)."""
        if self._in_flight:
            return False
        self._in_flight = True
        return True

    # ------------------------------------------------------------------ the UI's side
    def on_live_run_screen_progress(self, message: Progress) -> None:
        """Take the worker's share in one go under the lock (and clear the flag, so the next
        report posts again), then draw it without the lock: the worker never waits on a
        redraw."""
        with self._lock:
            latest, self._latest, self._in_flight = self._latest, None, False
            lines, self._queued = self._queued, []
        if lines:
            self._show_lines(lines)
        if latest is not None:
            self._show_progress(*latest)

    def _show_lines(self, lines: list[str]) -> None:
        """Show lines the worker queued, oldest first, in the log."""
        log = self._part("log", RichLog)
        for line in lines:
            log.write(line)

    def _show_progress(self, event: EventT, losses: list[float]) -> None:
        """Show the latest progress; `losses`: the curve so far, at most MAX_POINTS."""
        raise NotImplementedError

    def _show_curve(self, losses: list[float]) -> None:
        """Draw `losses`; kept in `losses` too, for what follows the run (the probe's guided
        diagnosis gets them when its report has no series)."""
        self.losses = losses
        self._part("loss", Sparkline).data = losses

    def on_live_run_screen_finished(self, message: Finished) -> None:
        """A failure looks the same on every screen; an outcome is the screen's own."""
        elapsed = self.clock() - self._started
        if message.outcome is None and not message.cancelled:
            self._show_failure(message.error)
        else:
            self._show_finished(message, elapsed)

    def _show_failure(self, error: str) -> None:
        """The run failed: why, in red, where the outcome would have been."""
        self.error = error
        self._end("failed")
        self._part("phase", Plain).update(Text("Failed", style="bold red"))
        self._part("status", Plain).update(Text(error + "\nescape: back", style="red"))

    def _show_finished(self, message: Finished, elapsed: float) -> None:
        """The run ended with an outcome (or, for a screen that posts one, was cancelled)."""
        raise NotImplementedError

    def _end(self, state: str) -> None:
        """The run is over: the bar stops where it was (an indeterminate bar would keep
        pulsing as if work went on), shows how it ended, and the footer changes with the
        state (the stop key leaves it)."""
        self.state = state
        bar = self._part("progress", ProgressBar)
        if bar.total is None:
            bar.update(total=1, progress=1 if state == "done" else 0)
        bar.add_class(state)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The stop key is offered only while the run goes on."""
        if action == "cancel":
            return self.state == "running"
        return True

    # ------------------------------------------------------------------ actions
    def action_cancel(self) -> None:
        """Ask the worker to stop (it checks the event between steps); what it made of the
        run so far arrives as its Finished message."""
        if self.state != "running":
            return
        self.state = "cancelling"
        self.cancel_event.set()
        self.refresh_bindings()
        self._part("phase", Plain).update(Text(self.CANCELLING, style="bold yellow"))
        self._cancel_requested()

    def _cancel_requested(self) -> None:
        """After a stop was asked for: a screen that keeps a log of its own notes it here."""

    def action_back(self) -> None:
        """Leave the screen; a run still going on is stopped, and the person is told so
        (leaving silently made a stopped run look like one still going on elsewhere)."""
        if self.state in ("running", "cancelling"):
            self.action_cancel()
            self.app.notify(self.BACK_NOTICE, title=self.NOTICE_TITLE, severity="warning",
                            timeout=4, markup=False)
        self.app.pop_screen()
