"""Results: the diagnoses by severity and, for the selected one, what to do and why.

The list on the left is the engine's order (errors first, then by certainty). The tabs on the
right answer the three questions a person has about a diagnosis: what do I do (remedies in
order, with their sources), what made you think so (the evidence), and how exactly was it
concluded (the explanation tree: each rule that fired, its premise, nested conclusions). The
report exports to Markdown and JSON with an atomic write, and the path is shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.tui.reports import loss_curve
from advisor.tui.session import format_value
from advisor.tui.widgets.hypotheses import SEVERITY_MARK, SEVERITY_STYLE
from advisor.tui.widgets.plain import Plain, reflow
from rich.text import Text
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
    Tree,
)
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from advisor.engine import Conclusion, DiagnosisResult, Explanation
from advisor.engine.evaluate import Trace
from advisor.engine.result import SEVERITY_RANK
from advisor.report import render_json, render_markdown, write_atomic

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

NOTHING = ("Nothing in the knowledge base fired on these observations.\n\n"
           "Press escape to answer more questions, or probe your setup from the home screen: "
           "measured facts reach causes a person cannot easily check.")


def _cf(x: float | None) -> str:
    return "unknown" if x is None else f"{x:+.2f}"


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

    def __init__(self, result: DiagnosisResult, *,
                 series: dict[str, list[float]] | None = None) -> None:
        super().__init__()
        self.result = result
        # listed grouped by severity for the eye; within a group the engine's order (root
        # causes before the symptoms they explain) is kept, since the sort is stable. The
        # result itself, and so every export, keeps the engine's order.
        self.diagnoses = sorted(result.diagnoses, key=lambda c: SEVERITY_RANK[c.severity])
        self.series = series or {}
        self.selected: Conclusion | None = self.diagnoses[0] if self.diagnoses else None
        self.exported: dict[str, Path] = {}

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(self._summary(), id="results-summary")
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
                with TabPane("How", id="how"):
                    yield Tree("how", id="how-tree")
        yield Plain("", id="results-status")
        yield Footer()

    def on_mount(self) -> None:
        self._show(self.selected)
        self.query_one("#diagnoses", OptionList).focus()

    def _summary(self) -> Text:
        counts = {s: len(self.result.by_severity(s)) for s in ("error", "warning", "info")}
        text = Text("Diagnosis: ", style="bold")
        text.append(f"{counts['error']} error(s)", style=SEVERITY_STYLE["error"])
        text.append(", ")
        text.append(f"{counts['warning']} warning(s)", style=SEVERITY_STYLE["warning"])
        text.append(", ")
        text.append(f"{counts['info']} tip(s)", style=SEVERITY_STYLE["info"])
        text.append(f"   from {len(self.result.facts)} facts", style="dim")
        return text

    def _options(self) -> list[Option]:
        options = []
        for c in self.diagnoses:
            style = SEVERITY_STYLE.get(c.severity, "")
            prompt = Text.assemble((f"{SEVERITY_MARK.get(c.severity, '?')} ", style),
                                   (f"{c.certainty:.2f} ", "dim"), c.title)
            options.append(Option(prompt, id=c.id))
        return options

    # ------------------------------------------------------------------ detail
    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id:
            self._show(self.result.get(event.option_id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_tab("remedies")

    def _show(self, c: Conclusion | None) -> None:
        self.selected = c
        remedies = self.query_one("#remedies-text", Plain)
        evidence = self.query_one("#evidence-text", Plain)
        tree: Tree[Any] = self.query_one("#how-tree", Tree)
        tree.clear()
        if c is None:
            remedies.update(NOTHING)
            evidence.update(NOTHING)
            tree.root.set_label("no diagnosis")
            return
        remedies.update(remedies_text(c))
        evidence.update(evidence_text(c))
        fill_tree(tree, c.explanation)

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
            help="The file is written atomically: a reader never sees half a report."), chosen)

    def export(self, kind: str, path: str | Path) -> Path | None:
        """Write the report; the path (or the reason it failed) is shown on the screen."""
        target = Path(path).expanduser()
        if not target.is_absolute():
            target = self.advisor.export_dir / target
        text = render_markdown(self.result) if kind == "md" else self._json()
        status = self.query_one("#results-status", Plain)
        try:
            written = write_atomic(target, text).resolve()
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
        data = json.loads(render_json(self.result))
        data["series"] = self.series  # so that reopening the report draws the curve again
        return json.dumps(data, indent=2, default=str) + "\n"

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_home(self) -> None:
        self.advisor.go_home()


def remedies_text(c: Conclusion) -> Text:
    style = SEVERITY_STYLE.get(c.severity, "")
    out = Text()
    out.append(c.title, style="bold")
    out.append(f"\n{c.severity} · certainty {c.certainty:.2f} · {c.id}\n", style=style)
    out.append(f"\n{reflow(c.rule.explanation)}\n")
    if c.rule.contested:
        out.append("\nContested: ", style="bold yellow")
        out.append(reflow(c.rule.contested) + "\n")
    if c.remedies:
        out.append("\nRemedies, in order\n", style="bold")
        for i, r in enumerate(c.remedies, 1):
            out.append(f"{i}. ", style="bold")
            out.append(r.action + "\n")
            if r.detail:
                out.append(f"   {reflow(r.detail)}\n", style="dim")
            for s in r.sources:
                out.append(f"   source: {s}\n", style="italic dim")
    if c.sources:
        out.append("\nSources\n", style="bold")
        for s in c.sources:
            out.append(f"- {s}\n")
    return out


def evidence_text(c: Conclusion) -> Text:
    out = Text("What spoke for it\n", style="bold")
    if not c.evidence:
        out.append("Only other conclusions; see the How tab.\n", style="dim")
    for e in c.evidence:
        out.append(f"- {e['test']}", style="bold")
        out.append(f"  observed {format_value(e['value'])}")
        if e.get("certainty", 1.0) < 1.0:
            out.append(f" (certainty {e['certainty']:.2f})", style="dim")
        out.append("\n")
    out.append("\nRules that fired\n", style="bold")
    for f in c.explanation.firings:
        out.append(f"- {f.rule.id}: {f.rule.title}\n")
        out.append(f"  premise {f.premise:.2f} × rule cf {f.rule.cf:+.2f} = "
                   f"{f.contribution:+.2f}\n", style="dim")
    return out


def fill_tree(tree: Tree[Any], expl: Explanation) -> None:
    tree.root.set_label(Text(f"{expl.conclusion}: certainty {expl.certainty:.2f}", style="bold"))
    _add_explanation(tree.root, expl)
    tree.root.expand_all()


def _add_explanation(node: TreeNode[Any], expl: Explanation) -> None:
    for f in expl.firings:
        child = node.add(Text.assemble(("rule ", "dim"), (f.rule.id, "bold"),
                                       f"  premise {f.premise:.2f} × cf {f.rule.cf:+.2f} "
                                       f"= {f.contribution:+.2f}"))
        _add_trace(child, f.trace)
    for sub in expl.supports.values():
        where = node.add(Text.assemble(("where ", "dim"), (sub.conclusion, "bold"),
                                       f": certainty {sub.certainty:.2f}"))
        _add_explanation(where, sub)


def _add_trace(node: TreeNode[Any], t: Trace) -> None:
    if t.kind == "fact":
        seen = "unknown" if t.value is None else format_value(t.value)
        node.add_leaf(Text.assemble(t.label, (f"  observed {seen}", "dim"),
                                    f" [{_cf(t.certainty)}]"))
    elif t.kind == "rule":
        node.add_leaf(Text.assemble(("conclusion ", "dim"), t.label, f" [{_cf(t.certainty)}]"))
    else:
        child = node.add(Text(f"{t.kind} [{_cf(t.certainty)}]"))
        for c in t.children:
            _add_trace(child, c)
