"""What the TUI's results screen shows, as plain styled text: the content is decided here, from
the shared representation and formatter; the TUI only maps each role to a colour and puts the
text in its widgets (so the words match the text and Markdown reports, and are tested without a
terminal).

A pane is a list of `(text, role)` segments; roles: "title", "severity:<error|warning|info>",
"heading", "body", "dim", "note", "source", "warning", "trial:<helps|no_effect|hurts|not_run>".
The explanation is an `Outline` tree whose
labels are segments too; the TUI draws it with wrapping guides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import advisor.report.format as fmt
from advisor.engine.evaluate import Trace
from advisor.kb.display import paragraphs
from advisor.report import trials as trial_view
from advisor.report.diagnosis import Diagnosis, Finding, How

Segment = tuple[str, str]

NOTHING = ("Nothing in the knowledge base fired on these observations.\n\n"
           "Press escape to answer more questions, or probe your setup from the home screen: "
           "measured facts reach causes a person cannot easily check.")


def _flow(text: str) -> str:
    """The author's line breaks inside a paragraph removed: the terminal wraps at its width."""
    return "\n".join(paragraphs(text))


def summary(diagnosis: Diagnosis) -> list[Segment]:
    counts = diagnosis.counts()
    out = [("Diagnosis: ", "title"),
           (f"{counts['error']} error(s)", "severity:error"), (", ", "body"),
           (f"{counts['warning']} warning(s)", "severity:warning"), (", ", "body"),
           (f"{counts['info']} tip(s)", "severity:info"),
           (f"   from {len(diagnosis.facts)} facts", "dim")]
    if diagnosis.verification is not None:
        helped = sum(1 for t in diagnosis.trials if t.get("verdict") == "helps")
        out.append((f"   {len(diagnosis.trials)} remedy trial(s), {helped} helped",
                    "trial:helps" if helped else "dim"))
    return out


def list_entry(f: Finding) -> list[Segment]:
    """One line of the list of diagnoses: mark, certainty, the whole title."""
    mark = {"error": "E", "warning": "W", "info": "i"}.get(f.severity, "?")
    return [(f"{mark} ", f"severity:{f.severity}"), (f"{fmt.certainty(f.certainty)} ", "dim"),
            (f.title, "body")]


def remedies_pane(f: Finding, diagnosis: Diagnosis | None = None) -> list[Segment]:
    """What to do, in order; with the `diagnosis` it belongs to, each remedy's trial verdict."""
    out: list[Segment] = [(f.title, "title"),
                          (f"\n{f.severity} · {f.certainty_text()} · {f.id}\n",
                           f"severity:{f.severity}"),
                          (f"\n{_flow(f.explanation)}\n", "body")]
    if f.contested:
        out += [("\nContested: ", "warning"), (_flow(f.contested) + "\n", "body")]
    if f.remedies:
        out.append(("\nRemedies, in order\n", "heading"))
        for i, r in enumerate(f.remedies, 1):
            out += [(f"{i}. ", "heading"), (r.action + "\n", "body")]
            if r.detail:
                out.append((f"   {_flow(r.detail)}\n", "dim"))
            note = diagnosis.remedy_note(r) if diagnosis is not None else None
            if note:
                out.append((f"   {note}\n", f"trial:{(r.trial or {}).get('verdict')}"))
            out += [(f"   source: {s}\n", "source") for s in r.sources]
    if f.sources:
        out.append(("\nSources\n", "heading"))
        out += [(f"- {s}\n", "body") for s in f.sources]
    return out


def trials_pane(diagnosis: Diagnosis) -> list[Segment]:
    """The verified remedies: each trial with what it measured, then the noise check, what
    separated the causes, the re-ranking and the cost."""
    out: list[Segment] = [("Verified remedies\n", "title")]
    if not diagnosis.trials:
        out.append(("No remedy of the verified diagnoses has a trial.\n", "dim"))
    for t in diagnosis.trials:
        out.append((f"\n{trial_view.trial_headline(t)}\n", f"trial:{t.get('verdict')}"))
        out += [(f"   {line}\n", "body") for line in trial_view.trial_details(t)]
    if diagnosis.verification is not None:
        out.append(("\n", "body"))
        out += [(f"{line}\n", "dim") for line in trial_view.summary_lines(
            diagnosis.verification)]
    return out


def evidence_pane(f: Finding) -> list[Segment]:
    out: list[Segment] = [("What spoke for it\n", "heading")]
    if not f.evidence:
        out.append(("Only other conclusions; see the How tab.\n", "dim"))
    for e in f.evidence:
        seen = fmt.fact_value(e.get("value"), missing="don't know")
        out += [(f"- {e.get('test')}", "heading"), (f"  observed {seen}", "body")]
        cf = e.get("certainty", 1.0)
        if isinstance(cf, (int, float)) and cf < 1.0:
            out.append((f" (certainty {fmt.certainty(cf)})", "dim"))
        out.append(("\n", "body"))
    out.append(("\nRules that fired\n", "heading"))
    for firing in f.how.firings if f.how else []:
        out += [(f"- {firing.rule}: {firing.title}\n", "body"),
                (f"  premise {fmt.certainty(firing.premise)} × rule cf "
                 f"{fmt.signed_certainty(firing.rule_cf)} = "
                 f"{fmt.signed_certainty(firing.contribution)}\n", "dim")]
    return out


@dataclass
class Outline:
    """One node of the explanation as the TUI draws it: a label and its children."""

    label: list[Segment]
    children: list[Outline] = field(default_factory=list)

    def text(self) -> str:
        return "".join(t for t, _ in self.label)


def how_outline(how: How) -> Outline:
    """The explanation tree: each rule that fired, its premise, the conclusions it used."""
    root = Outline([(f"{how.conclusion}: certainty {fmt.certainty(how.certainty)}", "title")])
    _add_how(root, how)
    return root


def _add_how(node: Outline, how: How) -> None:
    for f in how.firings:
        child = Outline([("rule ", "dim"), (f.rule, "title"),
                         (f"  premise {fmt.certainty(f.premise)} × cf "
                          f"{fmt.signed_certainty(f.rule_cf)} = "
                          f"{fmt.signed_certainty(f.contribution)}", "body")])
        child.children.append(_trace(f.trace))
        node.children.append(child)
    for sub in how.supports.values():
        where = Outline([("where ", "dim"), (sub.conclusion, "title"),
                         (f": certainty {fmt.certainty(sub.certainty)}", "body")])
        _add_how(where, sub)
        node.children.append(where)


def _trace(t: Trace) -> Outline:
    cf = f" [{fmt.signed_certainty(t.certainty)}]"
    if t.kind == "fact":
        return Outline([(t.label, "body"), (f"  observed {fmt.fact_value(t.value)}", "dim"),
                        (cf, "body")])
    if t.kind == "rule":
        return Outline([("conclusion ", "dim"), (t.label, "body"), (cf, "body")])
    return Outline([(f"{t.kind}{cf}", "body")], [_trace(c) for c in t.children])
