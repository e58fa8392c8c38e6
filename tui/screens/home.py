"""Home: the five ways in (probe, symptoms, watch a script, a saved report, the knowledge base).

This is the first screen, so it imports nothing beyond Textual: the startup budget is spent
here. Each entry has a one-letter key shown in the footer and the menu; the menu also works
with arrows, enter and the mouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

MENU = (
    ("probe", "p", "Probe a training setup",
     "train your model briefly, instrumented, and measure what goes wrong"),
    ("symptoms", "s", "Describe what you see",
     "pick a symptom; advisor asks questions and ranks the causes"),
    ("watch", "w", "Watch your training script",
     "run your own script as is: its loss live, then its loop diagnosed"),
    ("open_report", "o", "Open a saved report",
     "continue from the facts of a probe report (.json)"),
    ("browse", "k", "Browse the knowledge base",
     "search rules, remedies and sources; load your own rules"),
    ("quit", "q", "Quit", ""),
)

INTRO = ("Why is my training failing? advisor measures your training run (or asks you), "
         "reasons over a knowledge base of known failure modes, and tells you the likely "
         "causes with concrete remedies.")



class HomeScreen(Screen):
    """The menu. Keys: p probe, s symptoms, w watch a script, o open a report, k knowledge
    base, q quit."""

    BINDINGS = [
        Binding("p", "probe", "Probe"),
        Binding("s", "symptoms", "Symptoms"),
        Binding("w", "watch", "Watch"),
        Binding("o", "open_report", "Open report"),
        Binding("k", "browse", "Knowledge"),
        Binding("q", "quit", "Quit"),
    ]

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="home-body"):
            yield Plain(INTRO, id="home-intro")
            yield OptionList(*self._menu(), id="home-menu")
            yield Plain("Loading the knowledge base…", id="home-kb")
        yield Footer()

    @staticmethod
    def _menu() -> list[Option]:
        options = []
        for action, key, title, detail in MENU:
            prompt = Text.assemble((f" {key} ", "bold reverse"), "  ", (title, "bold"))
            if detail:
                prompt.append(f"\n      {detail}", style="dim")
            options.append(Option(prompt, id=action))
        return options

    def on_mount(self) -> None:
        self.watch(self.app, "kb_version", self._show_kb_status, init=False)
        self.call_after_refresh(self.advisor.first_screen_shown)

    def _show_kb_status(self, _version: int = 0) -> None:
        app = self.advisor
        status = self.query_one("#home-kb", Plain)
        if app.kb is None:
            status.update(Text(f"The knowledge base has {len(app.kb_problems)} problem(s) and "
                               "cannot be used: press k to see them.", style="bold red"))
            return
        rules = len(app.kb.diagnoses)
        symptoms = sum(1 for f in app.kb.facts if f.startswith("symptom."))
        text = Text(f"Knowledge base: {rules} diagnoses, {len(app.kb.rules)} rules, "
                    f"{len(app.kb.facts)} facts, {symptoms} symptoms.", style="dim")
        if app.kb_problems:
            text.append(f"\nYour knowledge directory has {len(app.kb_problems)} problem(s) and "
                        "was not loaded: press k to see them.", style="bold red")
        status.update(text)

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_id:
            await self.run_action(event.option_id)

    # ------------------------------------------------------------------ actions
    def action_probe(self) -> None:
        from advisor.tui.screens.dialogs import PromptScreen

        def chosen(spec: str | None) -> None:
            if spec:
                self.advisor.start_probe(spec)

        self.app.push_screen(PromptScreen(
            "Probe a training setup",
            help="A Python file (or module) with a function returning model, train_data and "
                 "loss_fn: path/file.py[:func] or package.module:func.",
            placeholder="examples/my_setup.py:setup"), chosen)

    def action_symptoms(self) -> None:
        self.advisor.start_guided()

    def action_watch(self) -> None:
        from advisor.tui.screens.dialogs import PromptScreen
        from advisor.tui.watching import problem_with

        def chosen(line: str | None) -> None:
            if line:
                self.advisor.start_watch(line)

        self.app.push_screen(PromptScreen(
            "Watch your training script",
            help="Your script and its arguments, as after `python` (or -m package.module ARGS). "
                 "It runs unchanged from the current folder; advisor watches its loop for the "
                 "first training steps, then stops it and diagnoses what it saw.",
            placeholder="train.py --epochs 3", check=problem_with), chosen)

    def action_open_report(self) -> None:
        from advisor.tui.screens.dialogs import PromptScreen

        def chosen(path: str | None) -> None:
            from advisor.tui.logs import is_log_path

            if path and is_log_path(path):
                self.advisor.open_logs(path)
            elif path:
                self.advisor.open_report(path)

        self.app.push_screen(PromptScreen(
            "Open a saved report",
            help="A JSON report with a 'facts' mapping, as written by `advisor probe --json` or "
                 "exported from the results screen; or a finished run's training log (a log "
                 "folder or file, as `advisor logs` reads).",
            placeholder="advisor-report.json"), chosen)

    def action_browse(self) -> None:
        self.advisor.browse_kb()

    async def action_quit(self) -> None:
        self.app.exit(0)
