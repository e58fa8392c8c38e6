"""Two runs compared (`advisor logs A B`): the findings and a table per series as text and
Markdown, and the two loss curves overlaid with the departure marked (SVG, for the HTML report).

The sentences come from advisor.logs.compare; this module only lays them out, in the style of
the other reports (text wrapped at 80 columns, Markdown tables)."""

from __future__ import annotations

import json
import textwrap
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from advisor.facts.logs import MIN_POINTS, bin_series
from advisor.logs.compare import ROLE_NAMES, Comparison, RoleComparison, finite_points
from advisor.logs.run import LoggedRun
from advisor.report.files import WritesFiles
from advisor.report.html import html_page, report_body, style_for
from advisor.report.runs import RunsReport
from advisor.report.svg import line_plot

if TYPE_CHECKING:
    from advisor.report.probe import ProbeReport

WIDTH = 80
COLUMNS = ("series", "departs at", "how", "B/A there", "B/A at end", "steps compared")


def title(c: Comparison) -> str:
    return f"advisor logs: {c.b_name} (B) compared with {c.a_name} (A)"


def _run_line(letter: str, name: str, source: str, path: str) -> str:
    return f"{letter}: {name} ({source}, {path})"


def _ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.3g}x"


def row(r: RoleComparison) -> tuple[str, ...]:
    """One series in the table: where it departs, how, the ratios, the steps compared."""
    if r.departure_step is not None:
        how = {"nonfinite": "NaN in B", "finite": "NaN in A"}.get(r.direction or "",
                                                                   r.direction or "")
        at = f"{r.departure_step:,}"
    else:
        how, at = ("agrees" if r.compared else "not compared"), "-"
    steps = "-" if r.overlap is None else f"{r.overlap[0]:,}\u2013{r.overlap[1]:,}"
    return (r.name, at, how, _ratio(r.ratio_at_departure), _ratio(r.ratio_at_end), steps)


def render_comparison_text(c: Comparison) -> str:
    """The comparison for a terminal: the two runs, the findings, the table of series."""
    lines = [title(c), "  " + _run_line("A", c.a_name, c.a_source, c.a_path),
             "  " + _run_line("B", c.b_name, c.b_source, c.b_path), "", "Findings"]
    for f in c.findings:
        lines += textwrap.wrap(f, WIDTH, initial_indent="  - ", subsequent_indent="    ",
                               break_on_hyphens=False)
    if c.roles:
        rows = [COLUMNS] + [row(r) for r in c.roles.values()]
        widths = [max(len(x[i]) for x in rows) for i in range(len(COLUMNS))]
        lines.append("")
        lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(x, widths, strict=True))
                  .rstrip() for x in rows]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_comparison_markdown(c: Comparison, level: int = 1) -> str:
    """The comparison as Markdown under a heading of `level` (1: a document of its own)."""
    h1, h2 = "#" * level, "#" * (level + 1)
    lines = [f"{h1} {title(c)}", "",
             f"- {_cell(_run_line('A', c.a_name, c.a_source, c.a_path))}",
             f"- {_cell(_run_line('B', c.b_name, c.b_source, c.b_path))}", "",
             f"{h2} Findings", ""] + [f"- {f}" for f in c.findings] + [""]
    if c.roles:
        lines += [f"{h2} Series", "", "| " + " | ".join(COLUMNS) + " |",
                  "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(_cell(x) for x in row(r)) + " |" for r in c.roles.values()]
        lines.append("")
    return "\n".join(lines)


def _curve(run: LoggedRun, role: str) -> list[tuple[float, float]]:
    """A run's series for the plot: smoothed (the facts layer's bin medians, at most a few
    hundred points) when long, as logged when short."""
    pts = finite_points(run, role)
    if pts is None or len(pts[0]) == 0:
        return []
    steps, x = pts
    if len(x) < 4 * MIN_POINTS:
        return list(zip(steps.tolist(), x.tolist(), strict=True))
    bins = bin_series(steps, x)
    ok = bins.filled
    return list(zip(bins.start[ok].tolist(), bins.level[ok].tolist(), strict=True))


def comparison_plot(c: Comparison, a: LoggedRun, b: LoggedRun, role: str | None = None) -> str:
    """A's and B's `role` (the loss when both log it, else the first series compared)
    overlaid, with a dashed mark where B departs and where either turns NaN."""
    if role is None:
        compared = [r for r, rc in c.roles.items() if rc.compared or rc.departure_step]
        role = "loss" if "loss" in compared else (compared[0] if compared else "loss")
    rc = c.roles.get(role)
    series = {f"A: {c.a_name}": _curve(a, role), f"B: {c.b_name}": _curve(b, role)}
    values = [v for pts in series.values() for _, v in pts]
    logy = bool(values) and float(np.min(values)) > 0
    marks: dict[str, float] = {}
    if rc is not None:
        if rc.departure_step is not None:
            marks[f"B departs ({rc.departure_step:,})"] = rc.departure_step
        for who, at in (("A", rc.nonfinite_a), ("B", rc.nonfinite_b)):
            if at is not None and at != rc.departure_step:
                marks[f"{who} NaN"] = at
    name = ROLE_NAMES.get(role, role)
    return line_plot(series, title=f"{name[0].upper()}{name[1:]}: A and B", xlabel="step",
                     ylabel=name, logy=logy, marks=marks)


COMPARISON_SCHEMA = "advisor-logs-comparison/1"


class ComparisonReport(WritesFiles):
    """`advisor logs A B`: the comparison first, then each run's own report (its diagnoses).

    JSON: `{"schema": "advisor-logs-comparison/1", "comparison": {...}, "runs": [A, B]}`, each
    run a probe-report document; text, Markdown and HTML in the same order."""

    def __init__(self, comparison: Comparison, reports: list[ProbeReport],
                 runs: list[LoggedRun]) -> None:
        self.comparison = comparison
        self.reports = reports
        self.runs = runs

    def worst_severity(self) -> str | None:
        """The worst severity over both runs (`--fail-on`)."""
        return RunsReport(self.reports).worst_severity()

    def to_dict(self) -> dict:
        return {"schema": COMPARISON_SCHEMA, "comparison": self.comparison.to_dict(),
                "runs": [r.to_dict() for r in self.reports]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=str) + "\n"

    def text(self) -> str:
        return "\n".join([render_comparison_text(self.comparison),
                          *(f"{letter}: {r.text()}" for letter, r in zip("AB", self.reports,
                                                                          strict=True))])

    def markdown(self) -> str:
        return "\n".join([render_comparison_markdown(self.comparison),
                          *(r.markdown() for r in self.reports)])

    def html(self) -> str:
        c = self.comparison
        body = [f"<h1>{escape(title(c))}</h1>", "<h2>Findings</h2><ul>"]
        body += [f"<li>{escape(f)}</li>" for f in c.findings] + ["</ul>"]
        a, b = self.runs
        departed = [role for role, rc in c.roles.items() if rc.departure_step is not None]
        for role in dict.fromkeys(["loss", *departed]):
            if role in c.roles:
                body.append(f"<figure>{comparison_plot(c, a, b, role)}</figure>")
        for report in self.reports:
            body += report_body(report)
        return html_page(title(c), body, style_for(self.reports))
