"""Plain text for a terminal: a diagnosis (`advisor diagnose`), and the probe's summary on stdout
(what was probed, the key measurements, any error and where it happened, then the diagnosis)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import advisor.report.format as fmt
from advisor.engine.evaluate import Trace
from advisor.engine.result import fit_line
from advisor.kb.display import paragraphs
from advisor.report import logs as logs_view
from advisor.report import trials as trial_view
from advisor.report.diagnosis import Diagnosis, Finding, How

if TYPE_CHECKING:
    from advisor.report.probe import ProbeReport

WIDTH = 80
PROBE_WIDTH = 96
_MARK = {"error": "ERROR", "warning": "WARN ", "info": "INFO "}
NOTHING_FIRED = "Nothing in the knowledge base fired on these observations."

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


# ----------------------------------------------------------------------------- a diagnosis
def _wrap(text: str, indent: str) -> list[str]:
    out = []
    for para in paragraphs(text):  # the author's line breaks reflowed to this width
        out += textwrap.wrap(para, WIDTH, initial_indent=indent, subsequent_indent=indent) or [""]
    return out


def evidence_line(e: dict) -> str:
    """`test (observed value)`: one observation that spoke for a finding."""
    return f"{e.get('test')} (observed {fmt.fact_value(e.get('value'))})"


def finding_text(f: Finding, explain: bool = False,
                 diagnosis: Diagnosis | None = None) -> list[str]:
    """One finding; with the `diagnosis` it belongs to, each remedy's trial verdict too."""
    lines = textwrap.wrap(f"{_MARK.get(f.severity, 'INFO ')} {f.title} [{f.id}]", WIDTH,
                          subsequent_indent="      ", break_long_words=False,
                          break_on_hyphens=False)
    certainty = f.certainty_text()
    if len(lines[-1]) + 2 + len(certainty) <= WIDTH:
        lines[-1] += "  " + certainty
    else:
        lines.append("      " + certainty)
    if f.explained_by:
        lines += _wrap("A consequence of: " + ", ".join(f.explained_by), "      ")
    lines += _wrap(f.explanation, "      ")
    if f.evidence:
        lines.append("      Evidence:")
        for e in f.evidence:
            lines += _wrap(f"- {evidence_line(e)}", "        ")
    if f.contested:
        lines.append("      Contested:")
        lines += _wrap(f.contested, "        ")
    if f.remedies:
        lines.append("      Remedies:")
        for i, r in enumerate(f.remedies, 1):
            lines += textwrap.wrap(f"{i}. {r.action}", WIDTH, initial_indent="        ",
                                   subsequent_indent="           ")
            if r.detail:
                lines += _wrap(r.detail, "           ")
            note = diagnosis.remedy_note(r) if diagnosis is not None else None
            if note:
                lines += _wrap(note, "           ")
    if f.sources:
        lines.append("      Sources:")
        for s in f.sources:
            lines += textwrap.wrap(s, WIDTH, initial_indent="        - ",
                                   subsequent_indent="          ", break_long_words=False,
                                   break_on_hyphens=False)  # a URL stays whole
    if explain and f.how is not None:
        lines.append("      How it was concluded:")
        lines += how_lines(f.how, "        ")
    return lines


def render_text(diagnosis: Diagnosis, explain: bool = False, title: str = "Diagnosis") -> str:
    counts = diagnosis.counts()
    lines = [f"{title}: {counts['error']} error(s), {counts['warning']} warning(s), "
             f"{counts['info']} tip(s)", ""]
    if not diagnosis.diagnoses:
        lines.append(NOTHING_FIRED)
    for f in diagnosis.diagnoses:
        lines += finding_text(f, explain, diagnosis)
        lines.append("")
    if diagnosis.unknown_facts:
        lines += _wrap("Ignored facts the knowledge base does not know: "
                       + ", ".join(diagnosis.unknown_facts), "")
        lines.append("")
    lines += trials_text(diagnosis)
    return "\n".join(lines).rstrip() + "\n"


def trials_text(diagnosis: Diagnosis) -> list[str]:
    """The "Verified remedies" section: each trial, then the noise check, what separated the
    causes, the re-ranking and the cost; nothing when the remedies were not verified."""
    if not trial_view.shows_section(diagnosis.trials, diagnosis.verification):
        return []
    lines = ["Verified remedies"]
    if not diagnosis.trials:
        lines += _wrap("No remedy of the verified diagnoses has a trial.", "  ")
    for t in diagnosis.trials:
        lines += _wrap(trial_view.trial_headline(t), "  ")
        for detail in trial_view.trial_details(t):
            lines += _wrap(detail, "      ")
    if diagnosis.verification is not None:
        lines.append("")
        for line in trial_view.summary_lines(diagnosis.verification):
            lines += _wrap(line, "  ")
    return lines + [""]


# ----------------------------------------------------------------------------- how it was concluded
def trace_label(node: Trace) -> str:
    """What one premise node tested, as the text and the TUI show it."""
    if node.kind == "fact":
        return f"{node.label}  [observed {fmt.fact_value(node.value)}; " \
               f"{fmt.signed_certainty(node.certainty)}]"
    if node.kind == "rule":
        return f"conclusion {node.label}  [{fmt.signed_certainty(node.certainty)}]"
    return f"{node.kind}  [{fmt.signed_certainty(node.certainty)}]"


def how_lines(how: How, indent: str = "") -> list[str]:
    """The explanation tree, readable in an 80-column terminal."""
    lines = fit_line(f"{indent}{how.conclusion}: certainty {fmt.certainty(how.certainty)}")
    for f in how.firings:
        lines += fit_line(f"{indent}  <- rule {f.rule} (rule cf {fmt.signed_certainty(f.rule_cf)}) "
                      f"premise {fmt.certainty(f.premise)} => "
                      f"{fmt.signed_certainty(f.contribution)}")
        lines += _trace_lines(f.trace, indent + "     ")
    for sub in how.supports.values():
        lines.append(f"{indent}  where")
        lines += how_lines(sub, indent + "    ")
    return lines


def _trace_lines(node: Trace, indent: str) -> list[str]:
    if node.kind in ("fact", "rule"):
        return fit_line(indent + trace_label(node))
    lines = [indent + trace_label(node)]
    for child in node.children:
        lines += _trace_lines(child, indent + "  ")
    return lines


# ----------------------------------------------------------------------------- the probe
def error_lines(report: ProbeReport) -> list[str]:
    """The user's error: its message, where in their code it was raised, and in which phase."""
    error = report.user_error()
    if error is None:
        return []
    msg, where, phase = error
    lines = textwrap.wrap(f"error message: {msg}", PROBE_WIDTH, initial_indent="  ",
                          subsequent_indent="    ")
    if where or phase:
        said = f"raised at {where}" if where else "raised"
        if phase:
            said += f" during {phase}"
        lines += textwrap.wrap(said, PROBE_WIDTH, initial_indent="  ", subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False)
    return lines


def headline(report: ProbeReport) -> str:
    if logs_view.is_logs(report):
        return logs_view.logs_headline(report)
    watch = report.details.get("watch") if report.setup.get("mode") == "watch" else None
    steps = watch.get("steps_watched") if watch else report.details.get("training_steps")
    total = report.timings.get("total")
    device = (report.device or {}).get("name", "?")
    command = "advisor watch" if watch else "advisor probe"
    head = f"{command}: {report.setup.get('name')} on {device}"
    if watch and report.device is None:
        head = f"{command}: {report.setup.get('name')} (no model seen)"
    if steps is not None:
        head += f", {steps} training steps" + (" watched" if watch else "")
    if total is not None:
        head += f", {fmt.duration(total)}"
    if report.partial:
        ending = watch.get("ending") if watch else None
        head += "  [PARTIAL: budget spent]" if ending == "capped" else \
            "  [PARTIAL: interrupted]"
    return head


def header_lines(report: ProbeReport) -> list[str]:
    lines = [headline(report)]
    if logs_view.is_logs(report):
        lines += logs_view.logs_header_lines(report, PROBE_WIDTH)
    shown = [(label, report.facts[name]) for name, label in KEY_FACTS
             if name in report.facts and not (name == "runtime.error"
                                              and report.fact(name) == "none")]
    width = max((len(label) for label, _ in shown), default=0)
    lines += [f"  {label.ljust(width)}  {fmt.fact_value(v)}" for label, v in shown]
    lines += error_lines(report)
    for note in report.notes:
        lines += textwrap.wrap(note, PROBE_WIDTH, initial_indent="  note: ",
                               subsequent_indent="    ")
    if report.warnings:
        lines.append(f"  PyTorch warnings during the run: {len(report.warnings)}")
        for w in report.warnings[:5]:
            lines += textwrap.wrap(f"{w['category']}: {w['message']}", PROBE_WIDTH,
                                   initial_indent="    - ", subsequent_indent="      ")
    return lines


def render_probe_text(report: ProbeReport) -> str:
    """The summary `advisor probe` prints: the header, then the diagnosis."""
    lines = header_lines(report)
    lines.append("")
    if report.kb_problem:
        lines.append(f"No diagnosis: {report.kb_problem}")
        return "\n".join(lines) + "\n"
    return "\n".join(lines) + "\n" + render_text(report.diagnosis(), title="Diagnosis")
