"""Probe: run the short instrumented training in a worker thread and watch it live.

The probe takes seconds to minutes and imports torch, so it runs in a thread worker; the UI keeps
drawing, shows the phase, a progress bar and the training loss as a sparkline, and `c` cancels
it (the probe checks a threading.Event between steps). How progress crosses from the probe's
thread to the screen without flooding it is shared with the watch screen (LiveRunScreen); what
is the probe's own is here: its phases, a log of them with elapsed times, a cancelled probe
(which measured nothing), and what follows a finished one: the guided diagnosis opens with the
measured facts, asking only what could not be measured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from advisor.tui.probing import ProbeCancelled, ProbeEvent, ProbeFailed, ProbeOutcome
from advisor.tui.screens.live_run import LiveRunScreen
from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.widgets import ProgressBar, RichLog

from advisor.report import format as fmt

MAX_POINTS = 400  # the sparkline summarises anyway; keep the message small


class ProbeScreen(LiveRunScreen[ProbeEvent, ProbeOutcome]):
    """Keys: c cancel (while the probe runs), escape back (cancelling a running probe first,
    and saying so)."""

    BINDINGS = [
        Binding("c", "cancel", "Cancel"),
        Binding("escape", "back", "Back"),
    ]

    ID_PREFIX = "probe"
    HEADING = "Probing "
    STARTING = "Starting…"
    CURVE_HINT = "The curve appears when training starts."
    CANCELLING = "Cancelling…"
    BACK_NOTICE = "Probe cancelled: nothing was measured."
    NOTICE_TITLE = "Probe"
    MAX_POINTS = MAX_POINTS
    FAILURES = (ProbeFailed,)

    def __init__(self, spec: str, options: dict[str, Any] | None = None, *,
                 on_done: Callable[[ProbeOutcome], None] | None = None,
                 heading: str | None = None) -> None:
        """`on_done`: what follows a finished probe instead of the guided diagnosis (the
        results screen's "Verify remedies" shows the verdicts); `heading`: the title's
        first words, when the probe is run for something else than a diagnosis."""
        super().__init__(spec, options)
        self.spec = spec
        self.on_done = on_done
        if heading is not None:
            self.HEADING = heading

    def on_mount(self) -> None:
        self._log(f"probe of {self.spec} started")
        self.run_probe()

    # ------------------------------------------------------------------ the worker
    @work(thread=True, exclusive=True, group="probe", exit_on_error=False)
    def run_probe(self) -> None:
        # the UI diagnoses the measured facts with its own engine: the probe only measures
        options = {"diagnose": False, **self.options}
        self._follow(lambda: self.advisor.probe_runner(
            self.spec, self._on_probe_event, self.cancel_event, options))

    def _on_probe_event(self, event: ProbeEvent) -> None:
        """Called on the probe's thread, possibly every few milliseconds."""
        self._offer_progress(event, [event.loss])

    def _failure(self, exc: Exception) -> LiveRunScreen.Finished:
        """A cancelled probe is no failure: it ends as cancelled, with nothing measured."""
        if isinstance(exc, ProbeCancelled):
            return self.Finished(None, cancelled=True)
        return super()._failure(exc)

    # ------------------------------------------------------------------ progress
    def _show_progress(self, event: ProbeEvent, losses: list[float]) -> None:
        if event.phase != self.phase:
            self.phase = event.phase
            self._log(event.phase)
        if self.state == "running":
            self._part("phase", Plain).update(Text(event.phase, style="bold"))
        bar = self._part("progress", ProgressBar)
        if event.total:
            bar.update(total=event.total, progress=min(event.step, event.total))
        else:
            bar.update(total=None)
        if not losses and event.phase == "training":
            self._part("loss-label", Plain).update(Text(
                "This probe reports no live loss; the curve comes with its report.",
                style="dim"))
        if losses:
            self._show_curve(losses)
            first, last = losses[0], losses[-1]
            steps = f" (step {event.step}/{event.total})" if event.total else ""
            self._part("loss-label", Plain).update(
                Text(f"loss {fmt.number(first)} → {fmt.number(last)}{steps}", style="dim"))

    def _show_failure(self, error: str) -> None:
        super()._show_failure(error)
        self._log("failed: " + error)

    def _show_finished(self, message: LiveRunScreen.Finished, elapsed: float) -> None:
        if message.cancelled:
            self._end("cancelled")
            self._part("phase", Plain).update(Text("Cancelled", style="bold yellow"))
            self._part("status", Plain).update(
                Text("The probe was cancelled. escape: back", style="yellow"))
            self._log(f"cancelled after {elapsed:.1f} s")
            return
        outcome: ProbeOutcome = message.outcome
        self.outcome = outcome
        self._end("done")
        self._log(f"done in {elapsed:.1f} s: {len(outcome.facts)} facts measured")
        self._part("phase", Plain).update(Text("Done", style="bold green"))
        bar = self._part("progress", ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        facts = {k: v for k, v in outcome.facts.items() if v is not None}
        series = outcome.series or ({"loss": self.losses} if self.losses else {})
        self.app.pop_screen()
        if self.on_done is not None:
            self.on_done(outcome)
            return
        self.advisor.start_guided(facts, source="probe", series=series,
                                  measured=[*outcome.measured, *facts], probe_spec=self.spec)

    def _log(self, text: str) -> None:
        """A line in the probe's log, with the time since the probe started."""
        elapsed = self.clock() - self._started
        self._part("log", RichLog).write(f"{elapsed:6.1f}s  {text}")

    def _cancel_requested(self) -> None:
        self._log("cancel requested")
