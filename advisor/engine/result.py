"""What a diagnosis produces: ranked conclusions with evidence, remedies and explanations."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.evaluate import Trace
from advisor.kb.model import Remedy, Rule, SourceRef

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def fails_on(worst: str | None, threshold: str | None) -> bool:
    """`--fail-on THRESHOLD`: whether the worst severity found is that bad or worse."""
    return bool(threshold and worst and SEVERITY_RANK[worst] <= SEVERITY_RANK[threshold])


@dataclass
class Firing:
    """One rule that fired: how sure its premise was and what it contributed."""

    rule: Rule
    premise: float
    contribution: float
    trace: Trace

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "rule_cf": self.rule.cf,
            "premise_certainty": round(self.premise, 4),
            "contribution": round(self.contribution, 4),
            "premise": self.trace.to_dict(),
        }


@dataclass
class Explanation:
    """How a conclusion was reached: the rules that fired, each with its premise tree.

    Conclusions used as premises are explained recursively in `supports`.
    """

    conclusion: str
    certainty: float
    firings: list[Firing]
    supports: dict[str, Explanation] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conclusion": self.conclusion,
            "certainty": round(self.certainty, 4),
            "firings": [f.to_dict() for f in self.firings],
            "supports": {k: v.to_dict() for k, v in self.supports.items()},
        }

    def text(self, indent: str = "") -> str:
        """A tree a person can read in an 80-column terminal."""
        return explanation_text(self, indent)


@dataclass
class Conclusion:
    """A diagnosis: a rule's conclusion that reached the reporting threshold."""

    rule: Rule
    certainty: float
    explanation: Explanation
    evidence: list[dict[str, Any]]
    explained_by: list[str] = field(default_factory=list)  # reported causes that used it

    id = property(lambda self: self.rule.id)
    title = property(lambda self: self.rule.title)
    severity = property(lambda self: self.rule.severity)
    kind = property(lambda self: self.rule.kind)

    @property
    def remedies(self) -> tuple[Remedy, ...]:
        return self.rule.remedies

    @property
    def sources(self) -> tuple[SourceRef, ...]:
        seen: dict[str, SourceRef] = {}
        for firing in self.explanation.firings:
            for s in (self.rule.sources if firing.rule is self.rule else firing.rule.sources):
                seen.setdefault(str(s), s)
        for s in self.rule.sources:
            seen.setdefault(str(s), s)
        return tuple(seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "severity": self.severity,
            "certainty": round(self.certainty, 4),
            "evidence": self.evidence,
            "explained_by": self.explained_by,
            "remedies": [remedy_dict(r) for r in self.remedies],
            "explanation": self.rule.explanation,
            "contested": self.rule.contested or None,
            "sources": [str(s) for s in self.sources],
            "how": self.explanation.to_dict(),
        }


NOT_VERIFIED = "not verified (run with --verify)"
# the keys of a remedy's `trial` in a report (issue 11)
REMEDY_TRIAL_KEYS = ("transform", "args", "label", "verdict", "p_value", "effect", "seeds",
                     "control", "treated", "reason")


def not_run_trial(transform: str, args: dict[str, Any], label: str,
                  reason: str = NOT_VERIFIED) -> dict[str, Any]:
    """A remedy's trial that has not been run, in the report's shape: the one place that shape
    is written (the engine's remedies, the report layer and the probe's verify phase use it)."""
    return {"transform": transform, "args": dict(args), "label": label, "verdict": "not_run",
            "p_value": None, "effect": None, "seeds": 0, "control": [], "treated": [],
            "reason": reason}


def remedy_dict(remedy: Remedy) -> dict[str, Any]:
    """A remedy as the report stores it; one with a trial carries it, not yet verified (the
    probe's --verify fills the verdict in)."""
    out: dict[str, Any] = {"action": remedy.action, "detail": remedy.detail,
                           "sources": list(remedy.sources)}
    trial = getattr(remedy, "trial", None)
    if trial is not None:
        out["trial"] = not_run_trial(trial.transform, trial.arguments, trial.label)
    return out


@dataclass
class DiagnosisResult:
    """The outcome of forward chaining over one set of observations."""

    diagnoses: list[Conclusion]
    facts: dict[str, Any]
    certainties: dict[str, float]
    unknown_facts: list[str] = field(default_factory=list)

    def by_severity(self, severity: str) -> list[Conclusion]:
        return [c for c in self.diagnoses if c.severity == severity]

    def get(self, conclusion_id: str) -> Conclusion | None:
        return next((c for c in self.diagnoses if c.id == conclusion_id), None)

    def worst_severity(self) -> str | None:
        if not self.diagnoses:
            return None
        return min((c.severity for c in self.diagnoses), key=SEVERITY_RANK.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        return {
            "diagnoses": [c.to_dict() for c in self.diagnoses],
            "facts": self.facts,
            "unknown_facts": self.unknown_facts,
        }


# ---------------------------------------------------------- explanations as text
def _cf(x: float | None) -> str:
    return "unknown" if x is None else f"{x:+.2f}"


WIDTH = 80


def fit_line(line: str) -> list[str]:
    """A line wrapped to 80 columns, continued four columns further in; ids are never split."""
    if len(line) <= WIDTH:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line.strip(), WIDTH, initial_indent=indent,
                         subsequent_indent=indent + "    ", break_long_words=False,
                         break_on_hyphens=False)


def explanation_text(expl: Explanation, indent: str = "") -> str:
    """A tree a person can read in an 80-column terminal."""
    lines = fit_line(f"{indent}{expl.conclusion}: certainty {expl.certainty:.2f}")
    for f in expl.firings:
        lines += fit_line(f"{indent}  <- rule {f.rule.id} (rule cf {f.rule.cf:+.2f}) "
                      f"premise {f.premise:.2f} => {f.contribution:+.2f}")
        lines += _trace_lines(f.trace, indent + "     ")
    for sub in expl.supports.values():
        lines.append(f"{indent}  where")
        lines.append(explanation_text(sub, indent + "    "))
    return "\n".join(lines)


def _trace_lines(node: Trace, indent: str) -> list[str]:
    if node.kind == "fact":
        value = "unknown" if node.value is None else node.value
        return fit_line(f"{indent}{node.label}  [observed {value}; {_cf(node.certainty)}]")
    if node.kind == "rule":
        return fit_line(f"{indent}conclusion {node.label}  [{_cf(node.certainty)}]")
    lines = [f"{indent}{node.kind}  [{_cf(node.certainty)}]"]
    for child in node.children:
        lines += _trace_lines(child, indent + "  ")
    return lines
