"""Logs: open a finished run's logs (`advisor tui LOG_PATH`) on the results screen.

Listing the runs under the path and reading the one picked happen in thread workers (a log of a
million points takes seconds to read; the screen keeps drawing and says what it reads). A path
holding one run (or the run named with `--run`) opens its results directly, in place of this
screen; a folder of several runs lists them first, and this list stays under the results, so
escape comes back to it to open another. Anything wrong with the logs (no log there, a tag named
with --map that the run does not have, a broken file) is shown in a message, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from advisor.tui.logs import (
    LogRun,
    analyse,
    check_run,
    find_runs,
    loss_series,
    run_label,
)
from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList
from textual.widgets.option_list import Option

from advisor.logs.errors import LogsError

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

    from advisor.kb.model import KnowledgeBase
    from advisor.report.probe import ProbeReport

CANNOT_OPEN = "Cannot open the logs"


class LogsScreen(Screen):
    """Keys: enter open the highlighted run, escape back."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, path: str, *, run: str | None = None,
                 mapping: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.path = path
        self.run_name = run
        self.mapping = dict(mapping or {})
        self.runs: list[LogRun] = []
        self.stage = "listing"  # then picking, reading, done or failed
        self.report: ProbeReport | None = None

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    @property
    def picking(self) -> bool:
        """Whether the person picks the run here (several runs and no --run)."""
        return len(self.runs) > 1 and self.run_name is None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(Text.assemble(("Logs of ", "bold"), self.path), id="logs-title")
        yield Plain(Text("Looking for runs…", style="dim"), id="logs-status")
        yield OptionList(id="logs-runs")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#logs-runs", OptionList).display = False
        self.list_runs()

    # ------------------------------------------------------------------ finding the runs
    @work(thread=True, exclusive=True, group="logs", exit_on_error=False)
    def list_runs(self) -> None:
        try:
            runs = find_runs(self.path, self.mapping)
            if self.run_name is not None:
                check_run(runs, self.run_name, self.path)
        except LogsError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except Exception as exc:  # an unforeseen reader problem: said, not a crash
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._found, runs)

    def _found(self, runs: list[LogRun]) -> None:
        self.runs = runs
        if not self.picking:
            self._open(self.run_name)
            return
        self.stage = "picking"
        self._status(Text(f"{len(runs)} runs found: pick one (enter opens it, escape goes "
                          "back)", style="bold"))
        options = self.query_one("#logs-runs", OptionList)
        from advisor.tui.screens.results import styled

        options.add_options(Option(styled(run_label(r)), id=r.name) for r in runs)
        options.display = True
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.stage == "picking" and event.option_id is not None:
            self._open(event.option_id)

    # ------------------------------------------------------------------ reading one run
    def _open(self, run: str | None) -> None:
        """Read and diagnose `run` (None: the only one) once the knowledge base is there."""
        self.stage = "reading"
        self._status(Text(f"Reading {run or self.path}…", style="bold"))

        def go() -> None:
            if self not in self.app.screen_stack:
                return
            if not self.advisor._require_engine():  # it says why, in a message
                self.stage = "failed"
                self._status(Text("The knowledge base cannot be used: nothing to diagnose "
                                  "with.", style="red"))
                return
            assert self.advisor.kb is not None
            self.analyse_run(run, self.advisor.kb)

        self.advisor.when_kb_ready(go)

    @work(thread=True, exclusive=True, group="logs", exit_on_error=False)
    def analyse_run(self, run: str | None, kb: KnowledgeBase) -> None:
        try:
            report = analyse(self.path, run, self.mapping, kb)
        except LogsError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except Exception as exc:
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._analysed, report)

    def _analysed(self, report: ProbeReport) -> None:
        if self not in self.app.screen_stack:  # left while reading: nothing to show it on
            return
        from advisor.tui.screens.results import ResultsScreen

        self.report = report
        results = ResultsScreen(report.diagnosis(), series=loss_series(report), log_report=report)
        if self.picking:  # the list stays underneath: escape comes back to pick another
            self.stage = "picking"
            self._status(Text(f"{len(self.runs)} runs found: pick one (enter opens it, escape "
                              "goes back)", style="bold"))
            self.app.push_screen(results)
        else:
            self.stage = "done"
            if self.is_current:
                self.app.switch_screen(results)
            else:
                self.app.push_screen(results)

    def _failed(self, message: str) -> None:
        """The message over the list when a picked run fails; else in place of this screen."""
        if self not in self.app.screen_stack:
            return
        from advisor.tui.screens.dialogs import MessageScreen

        box = MessageScreen(CANNOT_OPEN, message, error=True)
        if self.picking:
            self.stage = "picking"
            self._status(Text(f"{len(self.runs)} runs found: pick one", style="bold"))
            self.app.push_screen(box)
            return
        self.stage = "failed"
        self._status(Text(message, style="red"))
        if self.is_current:  # closing the message leads back to where the logs were asked
            self.app.switch_screen(box)
        else:
            self.app.push_screen(box)

    def _status(self, text: Text) -> None:
        self.query_one("#logs-status", Plain).update(text)

    def action_back(self) -> None:
        self.app.pop_screen()

