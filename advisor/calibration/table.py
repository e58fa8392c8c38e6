"""The calibration's proposals as a fixed-width table: one row per numeric comparison of each
rule with enough labelled cases (one row for a rule without any), then why the others were
left alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from advisor.calibration.fit import Counts, Proposal
from advisor.calibration.overlay import is_builtin
from advisor.calibration.scoring import table


def _p(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _arrow(before: str, after: str) -> str:
    return before if before == after else f"{before} -> {after}"


def proposal_rows(p: Proposal, footnotes: list[str]) -> list[list[str]]:
    """The rule's rows; its notes go to FOOTNOTES and the row names their numbers."""
    b, a = p.before, p.after
    figures = [_arrow(_p(b.precision), _p(a.precision)), _arrow(_p(b.recall), _p(a.recall)),
               _arrow(f"{b.f1:.2f}", f"{a.f1:.2f}"), f"{p.positives}/{b.fired}"]
    cf = _arrow(f"{p.rule.cf:g}", f"{p.cf:g}") if p.cf is not None else f"{p.rule.cf:g}"
    notes = list(p.notes)
    if p.changed and not is_builtin(p):
        notes.append(f"not in the overlay: a user rule; edit {p.rule.location}")
    rows = []
    for i, change in enumerate(p.atoms or [None]):
        first = i == 0
        if change is None:
            fact, op, threshold = "-", "-", "-"
        else:
            fact, op = change.atom.fact, change.atom.op
            threshold = (f"{change.atom.value:g} -> {change.proposed:g}"
                         if change.proposed is not None else f"{change.atom.value:g} kept")
            if change.note:
                notes.append(change.note)
        rows.append([p.rule.id if first else "", fact, op, threshold, cf if first else "",
                     *(figures if first else ["", "", "", ""])])
    marks = []
    for note in notes:
        footnotes.append(f"[{len(footnotes) + 1}] {p.rule.id}: {note}")
        marks.append(f"[{len(footnotes)}]")
    for i, row in enumerate(rows):
        row.append(" ".join(marks) if i == 0 else "")
    return rows


def joint_lines(joint: Mapping[str, tuple[Counts, Counts]]) -> list[str]:
    rows = [[c, _arrow(_p(b.precision), _p(a.precision)), _arrow(_p(b.recall), _p(a.recall)),
             _arrow(f"{b.f1:.2f}", f"{a.f1:.2f}"), f"{b.tp}/{b.tp + b.fn}"]
            for c, (b, a) in joint.items()]
    return table(["conclusion", "precision", "recall", "F1", "detected/positives before"],
                 rows, "llllr")


def render_proposals(proposals: Sequence[Proposal], part: str,
                     joint: Mapping[str, tuple[Counts, Counts]] | None = None) -> str:
    fitted = [p for p in proposals if p.fitted]
    skipped = [p for p in proposals if not p.fitted]
    footnotes: list[str] = []
    rows = [row for p in fitted for row in proposal_rows(p, footnotes)]
    header = ["rule", "fact", "op", "threshold", "cf", "precision", "recall", "F1",
              "pos/fired", "notes"]
    changed = sum(1 for p in proposals if p.changed)
    where = "all cases" if part == "all" else f"the {part} cases"
    lines = [f"calibration on {where}: {changed} rule(s) with a proposed change, "
             f"{len(fitted)} fitted, {len(skipped)} without enough positive cases", ""]
    lines += table(header, rows, "llllllllrl") if rows else ["  no rule had enough cases"]
    if footnotes:
        lines += ["", "notes:", *footnotes]
    some = [p for p in skipped if p.positives]
    if some:
        lines += ["", "not fitted (too few cases whose expect names the rule's conclusion): "
                  + ", ".join(f"{p.rule.id} ({p.positives})" for p in some)]
    if len(skipped) > len(some):
        lines += ["", f"{len(skipped) - len(some)} other rule(s): no case expects their "
                  "conclusion"]
    if joint:
        lines += ["", "every proposal applied together, per conclusion:", *joint_lines(joint)]
    lines += ["", "precision/recall/F1: the rule's conclusion as a detector (reported at any "
              "rank) over the cases, before -> after; pos/fired: cases expecting the "
              "conclusion / cases the rule fired on before the change."]
    return "\n".join(lines) + "\n"

