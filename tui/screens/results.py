"""Results: the diagnoses by severity and, for the selected one, what to do and why.

The list on the left is the engine's order (errors first, then by certainty). The tabs on the
right answer the three questions a person has about a diagnosis: what do I do (remedies in
order, with their sources), what made you think so (the evidence), and how exactly was it
concluded (the explanation tree: each rule that fired, its premise, nested conclusions). The
report exports to Markdown and JSON with an atomic write, and the path is shown.

A finished run's logs (`advisor tui LOG_PATH`, advisor.tui.screens.logs) open here too: above the
diagnoses, the run's headline, the series read (their tags, points and steps) and the events found
(the first NaN, spikes, divergence, overfitting onset), with the logged training loss drawn on its
step axis; the exports (and H, HTML) write the log report itself, the document `advisor logs
--json/--markdown/--html` writes.

After a probe, "Verify remedies" (v) probes the setup again with `verify=True`: the remedies of
the top diagnoses are tried on copies in short matched runs, and the results come back with
each tried remedy's verdict under it and a "Verified" tab (the trials, the noise check, what
separated competing causes, the cost). The verdicts are evidence for their causes, so the
diagnosis is recomputed with the trial facts the probe measured.
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
    Button,
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
from advisor.report.diagnosis import SEVERITY_RANK, as_diagnosis, trials_by_remedy
from advisor.report.reader import loss_curve

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

    from advisor.report.probe import ProbeReport

NOTHING = panes.NOTHING
ROLE_STYLE = {"title": "bold", "heading": "bold", "body": "", "dim": "dim",
              "source": "italic dim", "warning": "bold yellow",
              "trial:helps": "bold green", "trial:no_effect": "yellow", "trial:hurts": "bold red",
              "trial:not_run": "dim",
              **{f"severity:{s}": style for s, style in SEVERITY_STYLE.items()}}
VERIFY_HEADING = "Verifying the remedies of "
LOG_NOTHING = ("Nothing in the knowledge base fired on the facts of this log.\n\n"
               "Logs hold the run's logged scalars only: `advisor watch train.py` observes what "
               "they cannot show (per-layer statistics, data checks, the loop's wiring).")
NO_SETUP = ("Verifying remedies needs a setup to try them on: probe your setup from the home "
            "screen, then verify from its results.")


def styled(segments: list[panes.Segment]) -> Text:
    """The shared content (advisor.report.panes) in the TUI's colours."""
    return Text.assemble(*((text, ROLE_STYLE.get(role, "")) for text, role in segments))


class ResultsScreen(Screen):
    """Keys: 1/2/3(/4) remedies/evidence/how(/verified), v verify remedies (after a probe),
    m Markdown, j JSON, H HTML (of a log report), escape back, h home."""

    BINDINGS = [
        Binding("1", "tab('remedies')", "Remedies"),
        Binding("2", "tab('evidence')", "Evidence"),
        Binding("3", "tab('how')", "How"),
        Binding("4", "tab('trials')", "Verified"),
        Binding("v", "verify", "Verify remedies"),
        Binding("m", "export('md')", "Markdown"),
        Binding("j", "export('json')", "JSON"),
        Binding("H", "export('html')", "HTML"),
        Binding("escape", "back", "Back"),
        Binding("h", "home", "Home"),
    ]

    def __init__(self, result: Any, *, series: dict[str, list[float]] | None = None,
                 probe_spec: str | None = None, trials: list[dict[str, Any]] | None = None,
                 verification: dict[str, Any] | None = None,
                 remedy_trials: dict[tuple[str, str], dict[str, Any]] | None = None,
                 log_report: ProbeReport | None = None) -> None:
        """`result`: the engine's DiagnosisResult or a Diagnosis (e.g. read from a report).
        `log_report`: the report of a run's logs these diagnoses are of (what was read and
        the events are shown, and the exports write it);
        `probe_spec`: the setup the facts were probed from (its remedies can be verified);
        `trials`, `verification`: what a verification measured, attached to the remedies
        (`remedy_trials`: the verified report's, by diagnosis and action, for remedies whose
        trial this knowledge base does not declare)."""
        super().__init__()
        self.result: Diagnosis = as_diagnosis(result)
        if verification is not None or trials:
            self.result = self.result.with_trials(list(trials or []), verification,
                                                  remedy_trials)
        self.probe_spec = probe_spec
        self.log_report = log_report
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
        if self.log_report is not None:
            from advisor.tui.logs import log_lines

            yield Plain(styled(log_lines(self.log_report)), id="results-log")
        curve = loss_curve(self.series)
        if len(curve) > 1:
            yield Sparkline(curve, id="results-loss")
            if self.log_report is not None:
                from advisor.tui.logs import loss_caption

                yield Plain(Text(loss_caption(self.log_report), style="dim"),
                            id="results-loss-caption")
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
                if self.verified:
                    with TabPane("Verified", id="trials"), VerticalScroll():
                        yield Plain(styled(panes.trials_pane(self.result)), id="trials-text")
        if self.probe_spec:
            with Horizontal(id="results-actions"):
                yield Button("Verify remedies" if not self.verified else "Verify again",
                             id="verify-remedies", compact=True)
                yield Plain(Text("try the top remedies on copies of your setup, in short "
                                 "matched runs (v)", style="dim"), id="verify-hint")
        yield Plain("", id="results-status")
        yield Footer()

    @property
    def verified(self) -> bool:
        return self.result.verification is not None

    def on_mount(self) -> None:
        self._show(self.selected)
        self.query_one("#diagnoses", OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The Verified tab's key only with a verification, and v only after a probe."""
        if action == "tab" and parameters == ("trials",):
            return self.verified
        if action == "verify":
            return self.probe_spec is not None
        if action == "export" and parameters == ("html",):
            return self.log_report is not None
        return True

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
            nothing = NOTHING if self.log_report is None else LOG_NOTHING
            remedies.update(nothing)
            evidence.update(nothing)
            how.update("no diagnosis")
            return
        remedies.update(styled(panes.remedies_pane(f, self.result)))
        evidence.update(styled(panes.evidence_pane(f)))
        how.update(how_tree(f))

    # ------------------------------------------------------------------ actions
    def action_tab(self, pane: str) -> None:
        self.query_one("#detail", TabbedContent).active = pane

    def action_export(self, kind: str) -> None:
        from advisor.tui.screens.dialogs import PromptScreen

        stem = "advisor-report" if self.log_report is None else "advisor-logs"
        default = self.advisor.export_dir / f"{stem}.{kind}"

        def chosen(path: str | None) -> None:
            if path:
                self.export(kind, path)

        label = {"md": "Markdown", "html": "HTML"}.get(kind, "JSON")
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
        text = self._text(kind)
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

    def _text(self, kind: str) -> str:
        """What `kind` (md, json, html) writes: the diagnosis, or a log's whole report."""
        if self.log_report is not None:
            from advisor.tui.logs import export_text

            return export_text(self.log_report, "markdown" if kind == "md" else kind)
        return render_markdown(self.result) if kind == "md" else self._json()

    def _json(self) -> str:
        if not self.series:
            return render_json(self.result)
        return render_json(self.result, series=self.series)  # reopening draws the curve again

    # ------------------------------------------------------------------ verification
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "verify-remedies":
            self.action_verify()

    def action_verify(self) -> None:
        """Probe the setup again, trying the remedies (a live screen shows the progress);
        the results come back with the verdicts."""
        from advisor.tui.screens.probe import ProbeScreen

        if not self.probe_spec:
            self.query_one("#results-status", Plain).update(Text(NO_SETUP, style="yellow"))
            return
        # the probe diagnoses with the same knowledge folders, to pick what to verify
        options = {**self.advisor.probe_options, "diagnose": True, "verify": True,
                   "kb_dirs": list(self.advisor.kb_dirs)}
        self.app.push_screen(ProbeScreen(self.probe_spec, options, on_done=self._verified,
                                         heading=VERIFY_HEADING))

    def _verified(self, outcome: Any) -> None:
        """The verification's report: the diagnosis again with the trial facts it measured
        (the engine weighs them as evidence), and every tried remedy's verdict."""
        report = outcome.report if isinstance(outcome.report, dict) else {}
        verification = report.get("verification")
        if not isinstance(verification, dict):
            self.query_one("#results-status", Plain).update(Text(
                "The probe ran but returned no verification: nothing was tried.",
                style="yellow"))
            return
        trials = [t for t in report.get("trials") or [] if isinstance(t, dict)]
        measured = {k: v for k, v in (report.get("facts") or {}).items()
                    if k.startswith("trial.") and v is not None}
        engine = self.advisor.engine
        result = (Diagnosis.from_result(engine.diagnose({**self.result.facts, **measured}))
                  if engine is not None else Diagnosis.from_dict(report))
        before = {f.id: f.certainty for f in self.result.diagnoses}
        for f in result.diagnoses:  # what the trials changed, as the probe's report says it
            if f.id in before and abs(before[f.id] - f.certainty) > 1e-9:
                f.certainty_before_trials = before[f.id]
        self.app.switch_screen(ResultsScreen(
            result, series=self.series, probe_spec=self.probe_spec, trials=trials,
            verification=verification,
            remedy_trials=trials_by_remedy(report.get("diagnoses"))))
        helped = sum(1 for t in trials if t.get("verdict") == "helps")
        self.app.notify(f"{len(trials)} remedy trial(s), {helped} helped", title="Verified",
                        timeout=6, markup=False)

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
