"""The report as one self-contained HTML page: diagnoses, measurements and inline SVG plots
(training and validation loss, per-layer gradient norms, the LR range curve)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import advisor.report.format as fmt
from advisor.report import logs as logs_view
from advisor.report import trials as trial_view
from advisor.report.diagnosis import Diagnosis
from advisor.report.svg import line_plot
from advisor.report.text import NOTHING_FIRED, headline

if TYPE_CHECKING:
    from advisor.report.probe import ProbeReport

STYLE = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.d{border-left:5px solid #999;padding:.4em .8em;margin:.8em 0;background:#fafafa}
.error{border-color:#c62828} .warning{border-color:#ef6c00} .info{border-color:#1565c0}
.sev{font-weight:bold;text-transform:uppercase;font-size:.8em}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ddd;padding:2px 8px;
text-align:left} code{background:#f2f2f2;padding:0 3px} .partial{background:#fff3cd;padding:.5em}
figure{margin:1em 0}
"""
# only in a verified report: an unverified one reads byte for byte as before
TRIAL_STYLE = """.trial{font-size:.9em;color:#555} .helps{color:#2e7d32} .hurts{color:#c62828}
"""


def render_probe_html(report: ProbeReport) -> str:
    return html_page(headline(report), report_body(report), style_for([report]))


def style_for(reports: list[ProbeReport]) -> str:
    """The page's style: the trial classes only in a verified report, so that an unverified
    one reads byte for byte as before."""
    verified = any(trial_view.shows_section(r.trials, r.verification) for r in reports)
    return STYLE + (TRIAL_STYLE if verified else "")


def html_page(title: str, body: list[str], style: str = STYLE) -> str:
    """One self-contained page: no script, no external file."""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{style}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def report_body(report: ProbeReport, heading: str = "h1") -> list[str]:
    """The report's sections, under a heading of the given level (a page of several runs
    gives each run an h1 and keeps the sections at h2)."""
    body = [f"<{heading}>{escape(headline(report))}</{heading}>"]
    if report.partial:
        body.append('<p class="partial">Partial report: the probe was interrupted.</p>')
    body += _error(report)
    if logs_view.is_logs(report):
        body += logs_view.logs_html(report)
    body += _diagnoses(report)
    body += _trials(report.diagnosis())
    body += ["<h2>Plots</h2>"] + [f"<figure>{svg}</figure>" for svg in plots(report)]
    body += _facts(report)
    if report.notes:
        body += ["<h2>Notes</h2><ul>"] + [f"<li>{escape(n)}</li>" for n in report.notes]
        body.append("</ul>")
    if report.warnings:
        body += ["<h2>PyTorch warnings during the run</h2><ul>"]
        body += [f"<li><code>{escape(w['category'])}</code> {escape(w['message'])} "
                 f"({w['count']}x)</li>" for w in report.warnings]
        body.append("</ul>")
    body += ["<h2>Timings</h2><table><tr><th>phase</th><th>seconds</th></tr>"]
    body += [f"<tr><td>{escape(k)}</td><td>{fmt.seconds(v)}</td></tr>"
             for k, v in report.timings.items()]
    body.append("</table>")
    return body


def _error(report: ProbeReport) -> list[str]:
    """The user's error: message, the file:line in their code, and the phase."""
    error = report.user_error()
    if error is None:
        return []
    msg, where, phase = error
    out = ['<h2>Error in your code</h2><ul class="error-where">',
           f"<li>message: <code>{escape(msg)}</code></li>"]
    if where:
        out.append(f"<li>where: <code>{escape(str(where))}</code></li>")
    if phase:
        out.append(f"<li>phase: {escape(str(phase))}</li>")
    return out + ["</ul>"]


def _diagnoses(report: ProbeReport) -> list[str]:
    out = ["<h2>Diagnosis</h2>"]
    if report.kb_problem:
        return out + [f"<p>No diagnosis: {escape(report.kb_problem)}</p>"]
    diagnosis = report.diagnosis()
    if not diagnosis.diagnoses:
        return out + [f"<p>{NOTHING_FIRED}</p>"]
    for f in diagnosis.diagnoses:
        sev = escape(f.severity)
        out.append(f'<div class="d {sev}"><span class="sev">{sev}</span> '
                   f'<b>{escape(f.title)}</b> <code>{escape(f.id)}</code> '
                   f'{escape(f.certainty_text())}')
        if f.explanation:
            out.append(f"<p>{escape(f.explanation)}</p>")
        if f.evidence:
            out.append("<p>Evidence:</p><ul>" + "".join(
                f"<li><code>{escape(str(e.get('test')))}</code> observed "
                f"{escape(fmt.fact_value(e.get('value')))}</li>" for e in f.evidence) + "</ul>")
        if f.remedies:
            out.append("<p>Remedies:</p><ol>" + "".join(
                f"<li>{escape(r.action)}"
                + (f" <i>{escape(r.detail)}</i>" if r.detail else "")
                + _remedy_note(diagnosis, r) + "</li>"
                for r in f.remedies) + "</ol>")
        out.append("</div>")
    return out


def _remedy_note(diagnosis: Diagnosis, remedy: Any) -> str:
    note = diagnosis.remedy_note(remedy)
    if not note:
        return ""
    verdict = escape(str((remedy.trial or {}).get("verdict")))
    return f'<br><span class="trial {verdict}">{escape(note)}</span>'


def _trials(diagnosis: Diagnosis) -> list[str]:
    """The "Verified remedies" section: a table of the trials, the notes, then one plot per
    trial of the control and treated arms' mean loss curves."""
    if not trial_view.shows_section(diagnosis.trials, diagnosis.verification):
        return []
    out = ["<h2>Verified remedies</h2>"]
    if diagnosis.trials:
        out.append("<table><tr><th>remedy trial</th><th>for</th><th>verdict</th>"
                   "<th>effect (95 % interval)</th><th>p</th><th>metric</th><th>runs</th>"
                   "<th>notes</th></tr>")
        for t in diagnosis.trials:
            ran = trial_view.ran(t)
            details = trial_view.trial_details(t)[1 if ran else 0:]
            cells = (f"<code>{escape(str(t.get('label') or t.get('transform')))}</code>",
                     ", ".join(f"<code>{escape(str(d))}</code>"
                               for d in t.get("diagnoses") or []),
                     f'<span class="{escape(str(t.get("verdict")))}">'
                     f"{escape(trial_view.verdict_word(t.get('verdict')))}</span>",
                     escape(trial_view.percent(t.get("effect")) + trial_view.interval_text(t))
                     if ran else "",
                     escape(trial_view.p_value(t.get("p_value")).removeprefix("p = "))
                     if ran else "",
                     escape(str(t.get("metric") or "")) if ran else "",
                     escape(trial_view.runs_text(t)) if ran else "",
                     "<br>".join(escape(d) for d in details))
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        out.append("</table>")
    else:
        out.append("<p>No remedy of the verified diagnoses has a trial.</p>")
    if diagnosis.verification is not None:
        out.append('<ul class="verification">' + "".join(
            f"<li>{escape(line)}</li>"
            for line in trial_view.summary_lines(diagnosis.verification)) + "</ul>")
    out += [f"<figure>{svg}</figure>" for svg in trial_plots(diagnosis.trials)]
    return out


def trial_plots(trials: list[dict[str, Any]]) -> list[str]:
    """Control vs treated mean loss per step, one small plot per trial that has curves."""
    out = []
    for t in trials:
        curves = trial_view.curves(t)
        if not curves:
            continue
        logy = all(v > 0 for points in curves.values() for _, v in points)
        label = str(t.get("label") or t.get("transform"))
        out.append(line_plot({"control (unchanged)" if arm == "control" else f"treated: {label}":
                              points for arm, points in curves.items()},
                             title=f"{label}: {trial_view.verdict_word(t.get('verdict'))}",
                             xlabel="step", ylabel="mean loss over seeds", logy=logy,
                             width=480, height=240))
    return out


def _facts(report: ProbeReport) -> list[str]:
    rows = "".join(f"<tr><td><code>{escape(k)}</code></td><td>{escape(fmt.fact_value(v))}</td>"
                   "</tr>"
                   for k, v in sorted(report.facts.items()))
    return ["<h2>Measurements</h2>", f"<table><tr><th>fact</th><th>value</th></tr>{rows}"
            "</table>"]


def plots(report: ProbeReport) -> list[str]:
    if logs_view.is_logs(report):
        return logs_view.logs_plots(report)
    s: dict[str, Any] = report.series
    out = []
    loss = s.get("loss") or []
    if loss:
        series = {"train loss": [(i, v) for i, v in enumerate(loss)]}
        if s.get("loss_smoothed"):
            series["train loss (smoothed)"] = list(enumerate(s["loss_smoothed"]))
        if s.get("val_loss"):
            series["val loss"] = [(p[0], p[1]) for p in s["val_loss"]]
        logy = all(v is None or v > 0 for v in loss)
        out.append(line_plot(series, title="Loss", xlabel="step", ylabel="loss", logy=logy))
    layers = s.get("grad_norm_layers") or {}
    if layers:
        names = list(layers)
        if len(names) > 10:  # first, last and evenly spaced ones in between
            idx = sorted({round(i * (len(names) - 1) / 9) for i in range(10)})
            names = [names[i] for i in idx]
        series = {n: [(i, v) for i, v in enumerate(layers[n])] for n in names}
        out.append(line_plot(series, title="Gradient norm per layer", xlabel="step",
                             ylabel="gradient L2 norm", logy=True))
    lr = s.get("lr_range") or {}
    if lr.get("lr"):
        series = {"loss": list(zip(lr["lr"], lr.get("loss") or [], strict=False)),
                  "smoothed": list(zip(lr["lr"], lr.get("smoothed") or [], strict=False))}
        marks = {"suggested": report.fact("lr_range.suggested_lr"),
                 "yours": report.fact("optim.lr")}
        out.append(line_plot(series, title="Learning-rate range test", xlabel="learning rate",
                             ylabel="loss", logx=True, marks=marks))
    if s.get("overfit_loss"):
        out.append(line_plot({"loss": list(enumerate(s["overfit_loss"]))},
                             title="Overfit test (16 samples)", xlabel="step", ylabel="loss",
                             logy=all(v is None or v > 0 for v in s["overfit_loss"])))
    return out
