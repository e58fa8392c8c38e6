"""Results: the diagnoses by severity and, for the selected one, what to do and why.

The list on the left is the engine's order (errors first, then by certainty). The tabs on the
right answer the three questions a person has about a diagnosis: what do I do (remedies in
order, with their sources), what made you think so (the evidence), and how exactly was it
concluded (the explanation tree: each rule that fired, its premise, nested conclusions). The
report exports to Markdown and JSON with an atomic write, and the path is shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.tui.widgets.hypotheses import SEVERITY_STYLE
from advisor.tui.widgets.plain import Plain
from rich.text import Text
from rich.tree import Tree as RichTree
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Footer,
    Header,
    OptionList,
    Sparkline,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from advisor.errors import AdvisorError
from advisor.report import Diagnosis, Finding, panes, render_json, render_markdown, write_atomic
from advisor.report.diagnosis import SEVERITY_RANK, as_diagnosis
from advisor.report.reader import loss_curve

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

NOTHING = panes.NOTHING
ROLE_STYLE = {"title": "bold", "heading": "bold", "body": "", "dim": "dim",
              "source": "italic dim", "warning": "bold yellow",
              **{f"severity:{s}": style for s, style in SEVERITY_STYLE.items()}}


def styled(segments: list[panes.Segment]) -> Text:
    """The shared content (advisor.report.panes) in the TUI's colours."""
    return Text.assemble(*((text, ROLE_STYLE.get(role, "")) for text, role in segments))


class ResultsScreen(Screen):
    """Keys: 1/2/3 remedies/evidence/how, m Markdown, j JSON, escape back, h home."""

    BINDINGS = [
        Binding("1", "tab('remedies')", "Remedies"),
        Binding("2", "tab('evidence')", "Evidence"),
        Binding("3", "tab('how')", "How"),
        Binding("m", "export('md')", "Markdown"),
        Binding("j", "export('json')", "JSON"),
        Binding("escape", "back", "Back"),
        Binding("h", "home", "Home"),
    ]

    def __init__(self, result: Any, *, series: dict[str, list[float]] | None = None) -> None:
        """`result`: the engine's DiagnosisResult or a Diagnosis (e.g. read from a report)."""
        super().__init__()
        self.result: Diagnosis = as_diagnosis(result)
        # listed grouped by severity for the eye; within a group the engine's order (root
        # causes before the symptoms they explain) is kept, since the sort is stable. The
        # result itself, and so every export, keeps the engine's order.
        self.diagnoses = sorted(self.result.diagnoses, key=lambda f: SEVERITY_RANK[f.severity])
        self.series = series or {}
        self.selected: Finding | None = self.diagnoses[0] if self.diagnoses else None
        self.exported: dict[str, Path] = {}

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(styled(panes.summary(self.result)), id="results-summary")
        curve = loss_curve(self.series)
        if len(curve) > 1:
            yield Sparkline(curve, id="results-loss")
        with Horizontal(id="results-body"):
            yield OptionList(*self._options(), id="diagnoses")
            with TabbedContent(id="detail", initial="remedies"):
                with TabPane("Remedies", id="remedies"), VerticalScroll():
                    yield Plain("", id="remedies-text")
                with TabPane("Evidence", id="evidence"), VerticalScroll():
                    yield Plain("", id="evidence-text")
                with TabPane("How", id="how"), VerticalScroll():
                    # a Rich tree in a Static: its labels wrap under their guides, where a
                    # Textual Tree cuts every line at the right edge
                    yield Plain("", id="how-tree")
        yield Plain("", id="results-status")
        yield Footer()

    def on_mount(self) -> None:
        self._show(self.selected)
        self.query_one("#diagnoses", OptionList).focus()

    def _options(self) -> list[Option]:
        # an option's prompt wraps in the list: the whole title is always readable
        return [Option(styled(panes.list_entry(f)), id=f.id) for f in self.diagnoses]

    # ------------------------------------------------------------------ detail
    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id:
            self._show(self.result.get(event.option_id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_tab("remedies")

    def _show(self, f: Finding | None) -> None:
        self.selected = f
        remedies = self.query_one("#remedies-text", Plain)
        evidence = self.query_one("#evidence-text", Plain)
        how = self.query_one("#how-tree", Plain)
        if f is None:
            remedies.update(NOTHING)
            evidence.update(NOTHING)
            how.update("no diagnosis")
            return
        remedies.update(styled(panes.remedies_pane(f)))
        evidence.update(styled(panes.evidence_pane(f)))
        how.update(how_tree(f))

    # ------------------------------------------------------------------ actions
    def action_tab(self, pane: str) -> None:
        self.query_one("#detail", TabbedContent).active = pane

    def action_export(self, kind: str) -> None:
        from advisor.tui.screens.dialogs import PromptScreen

        default = self.advisor.export_dir / f"advisor-report.{kind}"

        def chosen(path: str | None) -> None:
            if path:
                self.export(kind, path)

        label = "Markdown" if kind == "md" else "JSON"
        self.app.push_screen(PromptScreen(
            f"Export the report as {label}", value=str(default),
            help="The folder must exist. The file is written atomically: a reader never sees "
                 "half a report."), chosen)

    def export(self, kind: str, path: str | Path) -> Path | None:
        """Write the report; the path (or the reason it failed) is shown on the screen.

        The rule of `advisor probe --json`: a folder that does not exist is refused, never
        created."""
        target = Path(path).expanduser()
        if not target.is_absolute():
            target = self.advisor.export_dir / target
        text = render_markdown(self.result) if kind == "md" else self._json()
        status = self.query_one("#results-status", Plain)
        try:
            written = write_atomic(target, text).resolve()
        except AdvisorError as exc:
            status.update(Text(f"Could not write {target}: {exc}", style="red"))
            return None
        except OSError as exc:
            status.update(Text(f"Could not write {target}: {exc.strerror or exc}", style="red"))
            return None
        self.exported[kind] = written
        status.update(Text(f"Saved to {written}", style="green"))
        self.notify(f"Saved to {written}", title="Export", timeout=6, markup=False)
        return written

    def _json(self) -> str:
        if not self.series:
            return render_json(self.result)
        return render_json(self.result, series=self.series)  # reopening draws the curve again

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_home(self) -> None:
        self.advisor.go_home()


def how_tree(f: Finding) -> RichTree | Text:
    """The explanation as a tree whose long labels wrap under their guide lines."""
    if f.how is None:
        return Text("No explanation was stored with this diagnosis.", style="dim")
    outline = panes.how_outline(f.how)
    tree = RichTree(styled(outline.label), guide_style="dim")
    _add(tree, outline)
    return tree


def _add(node: RichTree, outline: panes.Outline) -> None:
    for child in outline.children:
        _add(node.add(styled(child.label)), child)
