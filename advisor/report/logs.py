"""What a log report shows besides the diagnosis: what was read (the run, its roles and their
tags), the events found on the way (the first NaN, spikes, divergence, overfitting onset, a
learning rate reaching zero), and the plots of the logged series with those events marked.

A log report is a `ProbeReport` whose setup's mode is "logs" (advisor.logs.analyse); text,
Markdown and HTML call these functions for it, so every format says the same things.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import advisor.report.format as fmt
from advisor.report.svg import line_plot

if TYPE_CHECKING:
    from advisor.report.probe import ProbeReport

MAX_SPIKE_MARKS = 5   # spikes marked on a plot: the first few, the rest are counted in the text
ROLE_LABELS = {"loss": "train loss", "val_loss": "validation loss", "lr": "learning rate",
               "grad_norm": "gradient norm", "epoch": "epoch", "val_metric": "validation metric"}


def is_logs(report: ProbeReport) -> bool:
    return report.setup.get("mode") == "logs"


def _summary(report: ProbeReport) -> dict[str, Any]:
    return report.details.get("logs") or {}


def step(value: Any) -> str:
    """A step as people read long runs: 30,000."""
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


def logs_headline(report: ProbeReport) -> str:
    """`advisor logs: RUN (tensorboard: PATH), steps 0 to 30,000, 1.2 s`."""
    summary = _summary(report)
    head = f"advisor logs: {report.setup.get('name')} ({report.setup.get('source')}: " \
           f"{report.setup.get('path')})"
    firsts = [r["first_step"] for r in summary.get("roles", {}).values()
              if r.get("first_step") is not None]
    lasts = [r["last_step"] for r in summary.get("roles", {}).values()
             if r.get("last_step") is not None]
    if firsts:
        head += f", steps {step(min(firsts))} to {step(max(lasts))}"
    total = report.timings.get("total")
    if total is not None:
        head += f", {fmt.duration(total)}"
    return head


def role_rows(report: ProbeReport) -> list[tuple[str, str, str]]:
    """(what, tag, points and steps) for every role read."""
    rows = []
    for role, r in _summary(report).get("roles", {}).items():
        where = f"{r['points']:,} points"
        if r.get("first_step") is not None:
            where += f", steps {step(r['first_step'])} to {step(r['last_step'])}"
        if r.get("nonfinite"):
            where += f", {r['nonfinite']:,} non-finite"
        rows.append((ROLE_LABELS.get(role, role), r["tag"], where))
    return rows


def event_sentences(report: ProbeReport) -> list[str]:
    """The events, one sentence each, in the order a person reads a run."""
    ev = _summary(report).get("events", {})
    hidden = _summary(report).get("hidden_nan_count", 0)
    out = []
    trends = report.details.get("loss_trend_segments")
    if trends:
        out.append("the training loss, quarter by quarter of the run: "
                   + ", ".join(t or "undecided" for t in trends))
    if "first_nonfinite_step" in ev:
        said = f"the loss is first non-finite at step {step(ev['first_nonfinite_step'])}"
        if hidden:
            said += (f" ({hidden:,} logged steps show loss 0.0 with a NaN gradient norm: the "
                     "trainer hid NaN losses)")
        out.append(said)
    if "grad_first_nonfinite_step" in ev:
        out.append(f"the gradient norm is first non-finite at step "
                   f"{step(ev['grad_first_nonfinite_step'])}")
    spikes = ev.get("loss_spikes", [])
    if spikes:
        unrecovered = [s for s in spikes if s.get("recovered") is False]
        peaks = ", ".join(step(s["step"]) for s in spikes[:MAX_SPIKE_MARKS])
        more = f" and {len(spikes) - MAX_SPIKE_MARKS} more" if len(spikes) > MAX_SPIKE_MARKS \
            else ""
        said = f"{len(spikes)} loss spike(s), peaking at step {peaks}{more}"
        if unrecovered:
            said += f"; {len(unrecovered)} never recovered"
        out.append(said)
    if ev.get("grad_spikes"):
        out.append(f"{len(ev['grad_spikes'])} gradient-norm spike(s), the first at step "
                   f"{step(ev['grad_spikes'][0])}")
    if "divergence_step" in ev:
        out.append(f"the loss diverges from step {step(ev['divergence_step'])}")
    if "overfit_onset_step" in ev:
        out.append(f"the validation loss is lowest at step {step(ev['overfit_onset_step'])} and "
                   "rises after it while the training loss falls (overfitting onset)")
    if "lr_zero_step" in ev:
        said = f"the learning rate reaches zero at step {step(ev['lr_zero_step'])}"
        epoch = report.fact("logs.lr_zero_epoch")
        if epoch is not None:
            said += f" (epoch {fmt.number(epoch)})"
        out.append(said)
    return out


def logs_header_lines(report: ProbeReport, width: int) -> list[str]:
    """The text summary under the headline: roles read, then events."""
    import textwrap

    rows = role_rows(report)
    pad = max((len(what) for what, _, _ in rows), default=0)
    lines = [f"  {what.ljust(pad)}  {tag}  ({where})" for what, tag, where in rows]
    for sentence in event_sentences(report):
        lines += textwrap.wrap(sentence, width, initial_indent="  event: ",
                               subsequent_indent="    ")
    return lines


def logs_markdown(report: ProbeReport) -> list[str]:
    lines = ["## What was read", "", "| series | tag | points |", "|---|---|---|"]
    lines += [f"| {what} | `{tag}` | {where} |" for what, tag, where in role_rows(report)]
    lines.append("")
    events = event_sentences(report)
    if events:
        lines += ["## Events", ""] + [f"- {e}" for e in events] + [""]
    return lines


def logs_html(report: ProbeReport) -> list[str]:
    rows = "".join(f"<tr><td>{escape(what)}</td><td><code>{escape(tag)}</code></td>"
                   f"<td>{escape(where)}</td></tr>" for what, tag, where in role_rows(report))
    out = ["<h2>What was read</h2>",
           f"<table><tr><th>series</th><th>tag</th><th>points</th></tr>{rows}</table>"]
    events = event_sentences(report)
    if events:
        out += ["<h2>Events</h2><ul>"] + [f"<li>{escape(e)}</li>" for e in events] + ["</ul>"]
    return out


def logs_plots(report: ProbeReport) -> list[str]:
    """The loss (train and validation) with the events marked, the learning rate with its zero
    step marked, and the gradient norm with its spikes marked; logarithmic where positive."""
    series = report.series.get("logs") or {}
    ev = _summary(report).get("events", {})
    out = []
    loss_marks = _marks(ev, ("first_nonfinite_step", "NaN"), ("divergence_step", "diverges"),
                        ("overfit_onset_step", "val lowest"))
    for i, s in enumerate(ev.get("loss_spikes", [])[:MAX_SPIKE_MARKS]):
        loss_marks[f"spike {i + 1}"] = s["step"]
    curves = {ROLE_LABELS[r]: _points(series[r]) for r in ("loss", "val_loss") if r in series}
    if curves:
        out.append(line_plot(curves, title="Loss", xlabel="step", ylabel="loss",
                             logy=_positive(series, "loss", "val_loss"), marks=loss_marks,
                             span_marks=True))
    if "lr" in series:
        out.append(line_plot({"learning rate": _points(series["lr"])}, title="Learning rate",
                             xlabel="step", ylabel="learning rate",
                             marks=_marks(ev, ("lr_zero_step", "lr reaches 0")),
                             span_marks=True))
    if "grad_norm" in series:
        marks = _marks(ev, ("grad_first_nonfinite_step", "NaN"))
        for i, s in enumerate(ev.get("grad_spikes", [])[:MAX_SPIKE_MARKS]):
            marks[f"spike {i + 1}"] = s
        out.append(line_plot({"gradient norm": _points(series["grad_norm"])},
                             title="Gradient norm", xlabel="step", ylabel="gradient norm",
                             logy=_positive(series, "grad_norm"), marks=marks,
                             span_marks=True))
    if "val_metric" in series:
        out.append(line_plot({series["val_metric"]["tag"]: _points(series["val_metric"])},
                             title="Validation metric", xlabel="step", ylabel="metric"))
    return out


def _points(s: dict[str, Any]) -> list[tuple[float, float]]:
    return list(zip(s["steps"], s["values"], strict=False))


def _positive(series: dict[str, Any], *roles: str) -> bool:
    values = [v for r in roles if r in series for v in series[r]["values"] if v is not None]
    return bool(values) and min(values) > 0


def _marks(ev: dict[str, Any], *wanted: tuple[str, str]) -> dict[str, float]:
    return {label: ev[key] for key, label in wanted if ev.get(key) is not None}

