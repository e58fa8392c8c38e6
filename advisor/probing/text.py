"""The readable summary on stdout: what was probed, the key measurements, then the diagnoses
(rendered by advisor.report.render_text, the same renderer as `advisor diagnose`)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.probing.report import ProbeReport

KEY_FACTS = (
    ("task.kind", "task"), ("loss_fn.kind", "loss"),
    ("model.final_activation", "output activation"),
    ("model.param_count", "trainable parameters"), ("data.num_samples", "training samples"),
    ("optim.kind", "optimizer"), ("optim.lr", "learning rate"),
    ("loss.initial", "initial loss"), ("loss.initial_vs_chance", "initial loss / chance"),
    ("loss.trend", "loss trend"), ("loss.relative_decrease", "loss decrease"),
    ("train.final_loss", "final train loss"), ("val.final_loss", "final val loss"),
    ("grad.max_norm", "max gradient norm"), ("update.ratio_median", "update/weight ratio"),
    ("overfit.passed", "overfits 16 samples"), ("lr_range.suggested_lr", "suggested lr"),
    ("runtime.error", "error"), ("perf.step_ms", "ms per step"),
)


def fmt(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        return f"{fmt(value['value'])} (cf {value.get('cf')})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def header_lines(report: ProbeReport) -> list[str]:
    steps = report.details.get("training_steps")
    total = report.timings.get("total")
    device = (report.device or {}).get("name", "?")
    head = f"advisor probe: {report.setup.get('name')} on {device}"
    if steps is not None:
        head += f", {steps} training steps"
    if total is not None:
        head += f", {total:.1f} s"
    if report.partial:
        head += "  [PARTIAL: interrupted]"
    lines = [head]
    shown = [(label, report.facts[name]) for name, label in KEY_FACTS
             if name in report.facts and not (name == "runtime.error"
                                              and report.fact(name) == "none")]
    width = max((len(label) for label, _ in shown), default=0)
    lines += [f"  {label.ljust(width)}  {fmt(v)}" for label, v in shown]
    msg = report.fact("runtime.error_message")
    if msg:
        lines += textwrap.wrap(f"error message: {msg}", 96, initial_indent="  ",
                               subsequent_indent="    ")
    for note in report.notes:
        lines += textwrap.wrap(note, 96, initial_indent="  note: ", subsequent_indent="    ")
    if report.warnings:
        lines.append(f"  PyTorch warnings during the run: {len(report.warnings)}")
        for w in report.warnings[:5]:
            lines += textwrap.wrap(f"{w['category']}: {w['message']}", 96,
                                   initial_indent="    - ", subsequent_indent="      ")
    return lines


def render_summary(report: ProbeReport) -> str:
    lines = header_lines(report)
    lines.append("")
    if report.kb_problem:
        lines.append(f"No diagnosis: {report.kb_problem}")
        return "\n".join(lines) + "\n"
    if report.result is not None:
        try:
            from advisor.report import render_text

            return "\n".join(lines) + "\n" + render_text(report.result, title="Diagnosis")
        except ImportError:  # pragma: no cover
            pass
    lines.append(f"Diagnosis: {len(report.diagnoses)} finding(s)")
    for d in report.diagnoses:
        lines.append(f"{d['severity'].upper():7} {d['title']} [{d['id']}]  "
                     f"certainty {d['certainty']:.2f}")
        for r in d.get("remedies", [])[:2]:
            lines.append(f"        - {r.get('action')}")
    return "\n".join(lines) + "\n"
