"""The Textual application: owns the knowledge base and moves between screens.

Startup is built around one promise: the home screen is on the terminal within a second. So
this module imports only Textual and the home screen; the knowledge base (YAML, networkx, the
engine) is loaded in a worker thread *after* the first paint, and every other screen module is
imported the first time it is shown. Actions that need the knowledge base before it is ready
are queued with `when_kb_ready` instead of failing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from advisor.tui import timing
from advisor.tui.screens.home import HomeScreen
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

if TYPE_CHECKING:
    from advisor.tui.probing import ProbeEvent, ProbeOutcome
    from advisor.tui.session import GuidedSession

    from advisor.engine import DiagnosisResult, Engine
    from advisor.kb import KnowledgeBase, Problem


def _run_probe(spec: str, progress: Callable[[ProbeEvent], None], cancel: threading.Event,
               options: dict[str, Any]) -> ProbeOutcome:
    from advisor.tui.probing import run_probe

    return run_probe(spec, progress, cancel, options)


ProbeRunner = Callable[[str, Callable[["ProbeEvent"], None], threading.Event, dict[str, Any]],
                       "ProbeOutcome"]


@dataclass(frozen=True)
class Start:
    """What `advisor tui TARGET` asked for: probe a setup, open a saved report, open a finished
    run's logs (a log folder or file), or watch a script (`advisor tui --watch SCRIPT.py
    ARGS...`; `target` is then the command line as after `python`)."""

    kind: Literal["probe", "report", "logs", "watch"]
    target: str


class AdvisorApp(App[int]):
    """advisor's TUI. `kb` may be passed in (tests share one loaded base); otherwise it is loaded
    from the built-in knowledge plus `kb_dirs`, the way `advisor diagnose --kb` does."""

    # One stylesheet per screen, all loaded up front: a screen's own CSS_PATH is not applied
    # to the default screen (Home), and loading them together keeps the cascade predictable.
    CSS_PATH = ["app.tcss", *(f"screens/{name}.tcss"
                              for name in ("home", "guided", "results", "kb_browser", "probe",
                                           "watch", "logs"))]
    TITLE = "advisor"
    SUB_TITLE = "deep-learning training troubleshooter"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    kb_version: reactive[int] = reactive(0, init=False)

    def __init__(self, kb_dirs: Sequence[str] = (), *, start: Start | None = None,
                 kb: KnowledgeBase | None = None, builtin: bool = True,
                 export_dir: str | Path | None = None,
                 probe_options: dict[str, Any] | None = None,
                 probe_runner: ProbeRunner | None = None,
                 watch_options: dict[str, Any] | None = None,
                 logs_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.kb_dirs = [str(d) for d in kb_dirs]
        self.start = start
        self.builtin = builtin
        self.export_dir = Path(export_dir) if export_dir is not None else Path.cwd()
        self.probe_options = dict(probe_options or {})  # steps, budget... (tests keep it short)
        self.probe_runner: ProbeRunner = probe_runner or _run_probe
        self.watch_options = dict(watch_options or {})  # steps, budget, follow, every_step
        self.logs_options = dict(logs_options or {})  # run, mapping (advisor tui --run, --map)
        self.kb: KnowledgeBase | None = None
        self.engine: Engine | None = None
        self.kb_problems: list[Problem] = []
        self.kb_loaded = False
        self.startup_seconds: float | None = None
        self._preloaded = kb
        self._pending: list[Callable[[], Any]] = []

    # ------------------------------------------------------------------ startup
    def get_default_screen(self) -> Screen:
        return HomeScreen()

    def first_screen_shown(self) -> None:
        """Called by the home screen after its first paint: log the startup time, then load."""
        if self.startup_seconds is not None:
            return
        self.startup_seconds = timing.seconds_since_process_start()
        timing.log_startup(self.startup_seconds)
        if timing.exit_when_ready():
            self.exit(0)
            return
        if self._preloaded is not None:
            self._set_kb(self._preloaded, [])
        else:
            self._load_kb()

    @work(thread=True, exclusive=True, group="kb", exit_on_error=False)
    def _load_kb(self) -> None:
        kb, problems = load_knowledge(self.kb_dirs, self.builtin)
        self.call_from_thread(self._set_kb, kb, problems)

    def _set_kb(self, kb: KnowledgeBase | None, problems: list[Problem]) -> None:
        from advisor.engine import Engine

        self.kb, self.kb_problems, self.kb_loaded = kb, list(problems), True
        self.engine = Engine(kb) if kb is not None else None
        self.kb_version += 1
        if problems:
            where = "Your knowledge directory" if kb is not None else "The knowledge base"
            self.notify(f"{where} has {len(problems)} problem(s); press k on the home screen "
                        "to see them.", title="Knowledge base", severity="error", timeout=8,
                        markup=False)
        pending, self._pending = self._pending, []
        for callback in pending:
            callback()
        if self.start is not None:
            start, self.start = self.start, None
            if start.kind == "report":
                self.open_report(start.target)

    def on_mount(self) -> None:
        if self.start is not None and self.start.kind in ("probe", "logs", "watch"):
            start, self.start = self.start, None
            if start.kind == "probe":
                self.start_probe(start.target)
            elif start.kind == "logs":
                self.open_logs(start.target, **self.logs_options)
            else:
                self.start_watch(start.target)

    def replace_kb(self, kb: KnowledgeBase, dirs: Sequence[str]) -> None:
        """Switch to a knowledge base the browser loaded with a user directory."""
        self.kb_dirs = [str(d) for d in dirs]
        self._set_kb(kb, [])

    def when_kb_ready(self, callback: Callable[[], Any]) -> None:
        """Run `callback` now if the knowledge base is loaded, else as soon as it is."""
        if self.kb_loaded:
            callback()
        else:
            self._pending.append(callback)
            self.notify("Loading the knowledge base…", timeout=2, markup=False)

    def _require_engine(self) -> bool:
        if self.engine is not None:
            return True
        text = "\n".join(str(p) for p in self.kb_problems) or "No knowledge base was loaded."
        self.show_message("The knowledge base cannot be used", text, error=True)
        return False

    # ------------------------------------------------------------------ navigation
    def go_home(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def show_message(self, title: str, text: str, *, error: bool = False) -> None:
        from advisor.tui.screens.dialogs import MessageScreen

        self.push_screen(MessageScreen(title, text, error=error))

    def start_guided(self, given: dict[str, Any] | None = None, *, source: str = "",
                     series: dict[str, list[float]] | None = None,
                     measured: Sequence[str] = (), **results: Any) -> None:
        """Open the interview; with `given` facts (a probe, a report) it skips the symptom.

        `measured`: facts the probe measured without getting a value; they are not asked
        either (the person could not see more than the probe did). `results`: what the
        results screen gets besides the diagnosis (`probe_spec`: the setup probed, which it
        can verify the remedies of; `trials`, `verification`: a verified report's)."""

        def go() -> None:
            if not self._require_engine():
                return
            from advisor.tui.screens.guided import GuidedScreen
            from advisor.tui.session import GuidedSession

            assert self.engine is not None
            session = GuidedSession(self.engine, given, measured)
            self.push_screen(GuidedScreen(session, source=source, series=series or {},
                                          results=results))

        self.when_kb_ready(go)

    def show_results(self, session: GuidedSession, *,
                     series: dict[str, list[float]] | None = None, **results: Any) -> None:
        """The diagnosis of the interview; `results` as for `start_guided`."""
        from advisor.tui.screens.results import ResultsScreen

        self.push_screen(ResultsScreen(session.result(), series=series or {}, **results))

    def show_result(self, result: DiagnosisResult) -> None:
        from advisor.tui.screens.results import ResultsScreen

        self.push_screen(ResultsScreen(result))

    def start_probe(self, spec: str) -> None:
        from advisor.tui.screens.probe import ProbeScreen

        self.push_screen(ProbeScreen(spec, self.probe_options))

    def start_watch(self, line: str) -> None:
        """Run the person's own script under `advisor watch` and follow it (`line`: as after
        `python`, e.g. "train.py --epochs 3" or "-m pkg.train")."""
        from advisor.tui.screens.watch import WatchScreen

        self.push_screen(WatchScreen(line, self.watch_options))

    def open_logs(self, path: str, *, run: str | None = None,
                  mapping: dict[str, str] | None = None) -> None:
        """Read a finished run's logs and show its diagnosis (the runs listed first when the
        folder holds several and `run` names none); reading waits for no knowledge base, the
        diagnosis does."""
        from advisor.tui.screens.logs import LogsScreen

        self.push_screen(LogsScreen(path, run=run, mapping=mapping))

    def browse_kb(self) -> None:
        def go() -> None:
            from advisor.tui.screens.kb_browser import KBBrowserScreen

            self.push_screen(KBBrowserScreen())

        self.when_kb_ready(go)

    def open_report(self, path: str) -> None:
        """Load a saved report and continue the diagnosis from its facts, or say what is wrong."""

        def go() -> None:
            if not self._require_engine():
                return
            from advisor.tui.reports import ReportError, load_report

            assert self.kb is not None
            try:
                report = load_report(path, self.kb)
            except ReportError as exc:
                self.show_message("Cannot open the report", str(exc), error=True)
                return
            if report.warning:
                self.notify(report.warning, title="Report", severity="warning", timeout=8,
                            markup=False)
            self.start_guided(report.facts, source=f"report {report.path.name}",
                              series=report.series, trials=report.trials,
                              verification=report.verification,
                              remedy_trials=report.remedy_trials)

        self.when_kb_ready(go)


def load_knowledge(dirs: Sequence[str], builtin: bool = True
                   ) -> tuple[KnowledgeBase | None, list[Problem]]:
    """The knowledge base to work with, and the problems to show.

    A broken user directory must not leave the person without a UI: its problems are returned
    and the built-in knowledge alone is used. User directories get full validation (their
    examples too); the built-in base is validated by its own tests, so startup skips that.
    """
    from advisor.kb import KBError, load_kb
    from advisor.kb.loader import user_dirs_from_env

    extra = bool(dirs) or bool(user_dirs_from_env())
    try:
        return load_kb(dirs, builtin=builtin, check_examples=extra), []
    except KBError as exc:
        problems = list(exc.problems)
    if not extra:
        return None, problems
    try:
        return load_kb((), builtin=builtin, use_env=False, check_examples=False), problems
    except KBError as exc:
        return None, problems + list(exc.problems)
