"""One diagnosis as plain data: what every rendering (text, Markdown, HTML, JSON, the TUI) shows.

A `Diagnosis` is built either from the engine's result (`from_result`) or from a stored report
(`from_dict`, the `diagnoses` list of a JSON report), so a report read back from disk renders
exactly like a fresh one, and no renderer needs to run the engine or load the knowledge base
(the premise trees are the engine's own plain `Trace` nodes). It holds only
JSON-able values; `to_dict` gives the document `advisor diagnose --format json` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import advisor.report.format as fmt
from advisor.engine.evaluate import Trace
from advisor.report import trials as trial_view

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def _float(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else default


@dataclass
class Firing:
    """One rule that fired for a conclusion: its premise's certainty and its contribution."""

    rule: str
    title: str
    rule_cf: float
    premise: float
    contribution: float
    trace: Trace

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "rule_cf": self.rule_cf,
                "premise_certainty": round(self.premise, 4),
                "contribution": round(self.contribution, 4), "premise": self.trace.to_dict()}


@dataclass
class How:
    """How a conclusion was reached: the firings, and the conclusions they used, recursively."""

    conclusion: str
    certainty: float
    firings: list[Firing] = field(default_factory=list)
    supports: dict[str, How] = field(default_factory=dict)

    @classmethod
    def from_engine(cls, expl: Any) -> How:
        firings = [Firing(f.rule.id, f.rule.title, f.rule.cf, f.premise, f.contribution,
                          f.trace) for f in expl.firings]
        return cls(expl.conclusion, expl.certainty, firings,
                   {k: cls.from_engine(v) for k, v in expl.supports.items()})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> How:
        firings = [Firing(str(f.get("rule", "")), str(f.get("title", "")),
                          _float(f.get("rule_cf")), _float(f.get("premise_certainty")),
                          _float(f.get("contribution")),
                          Trace.from_dict(f.get("premise") or {}))
                   for f in data.get("firings") or [] if isinstance(f, dict)]
        supports = {str(k): cls.from_dict(v) for k, v in (data.get("supports") or {}).items()
                    if isinstance(v, dict)}
        return cls(str(data.get("conclusion", "")), _float(data.get("certainty")), firings,
                   supports)

    def to_dict(self) -> dict[str, Any]:
        return {"conclusion": self.conclusion, "certainty": round(self.certainty, 4),
                "firings": [f.to_dict() for f in self.firings],
                "supports": {k: v.to_dict() for k, v in self.supports.items()}}


@dataclass
class Remedy:
    """What to do. `trial`: the change the probe can try on a copy to check it (the report's
    shape, advisor.report.trials), with its verdict once `--verify` ran it; None: no trial."""

    action: str
    detail: str = ""
    sources: list[str] = field(default_factory=list)
    trial: dict[str, Any] | None = None

    @classmethod
    def from_engine(cls, r: Any) -> Remedy:
        """From the knowledge base's remedy; its trial (if the remedy declares one) not run."""
        return cls(r.action, r.detail, list(r.sources),
                   trial_view.from_kb_trial(getattr(r, "trial", None)))

    @classmethod
    def from_dict(cls, r: dict[str, Any]) -> Remedy:
        return cls(str(r.get("action") or ""), str(r.get("detail") or ""),
                   [str(s) for s in r.get("sources") or []],
                   trial_view.clean_trial(r.get("trial")))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "detail": self.detail,
                                "sources": self.sources}
        if self.trial is not None:  # a remedy without one reads as it always did
            data["trial"] = self.trial
        return data


@dataclass
class Finding:
    """One diagnosis: a conclusion that reached the reporting threshold, with all it needs to
    be shown (the rule's texts are copied in, so no knowledge base is needed to render it)."""

    id: str
    title: str
    kind: str
    severity: str
    certainty: float
    explanation: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)  # fact, value, test, certainty
    explained_by: list[str] = field(default_factory=list)
    remedies: list[Remedy] = field(default_factory=list)
    contested: str = ""
    sources: list[str] = field(default_factory=list)
    how: How | None = None
    # the certainty before remedy trials changed it (`--verify`); None: they did not
    certainty_before_trials: float | None = None

    @classmethod
    def from_engine(cls, c: Any) -> Finding:
        return cls(c.id, c.title, c.kind, c.severity, c.certainty, c.rule.explanation,
                   [dict(e) for e in c.evidence], list(c.explained_by),
                   [Remedy.from_engine(r) for r in c.remedies],
                   c.rule.contested or "", [str(s) for s in c.sources],
                   How.from_engine(c.explanation))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        severity = d.get("severity")
        remedies = [Remedy.from_dict(r) for r in d.get("remedies") or [] if isinstance(r, dict)]
        how, before = d.get("how"), d.get("certainty_before_trials")
        return cls(str(d.get("id", "")), str(d.get("title", "")), str(d.get("kind", "")),
                   severity if severity in SEVERITY_RANK else "info",
                   _float(d.get("certainty")), str(d.get("explanation") or ""),
                   [e for e in d.get("evidence") or [] if isinstance(e, dict)],
                   [str(x) for x in d.get("explained_by") or []], remedies,
                   str(d.get("contested") or ""), [str(s) for s in d.get("sources") or []],
                   How.from_dict(how) if isinstance(how, dict) else None,
                   _float(before) if isinstance(before, (int, float))
                   and not isinstance(before, bool) else None)

    def certainty_text(self) -> str:
        """`certainty 0.92`, and what it was before the trials when they changed it."""
        text = f"certainty {fmt.certainty(self.certainty)}"
        if self.certainty_before_trials is not None:
            text += f" (was {fmt.certainty(self.certainty_before_trials)} before the trials)"
        return text

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "title": self.title, "kind": self.kind, "severity": self.severity,
            "certainty": round(self.certainty, 4), "evidence": self.evidence,
            "explained_by": self.explained_by,
            "remedies": [r.to_dict() for r in self.remedies],
            "explanation": self.explanation, "contested": self.contested or None,
            "sources": self.sources,
        }
        if self.how is not None:
            data["how"] = self.how.to_dict()
        if self.certainty_before_trials is not None:
            data["certainty_before_trials"] = round(self.certainty_before_trials, 4)
        return data


@dataclass
class Diagnosis:
    """Every finding for one set of observations, in the engine's order (root causes first),
    plus the facts it was drawn from and those the knowledge base did not know.

    `trials` and `verification`: what `--verify` measured (the report's top-level sections);
    empty and None when it did not run, and then a remedy's untried trial is not shown."""

    diagnoses: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    unknown_facts: list[str] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)
    verification: dict[str, Any] | None = None

    @classmethod
    def from_result(cls, result: Any) -> Diagnosis:
        """From the engine's DiagnosisResult (full precision: rounding happens on output)."""
        return cls([Finding.from_engine(c) for c in result.diagnoses], dict(result.facts),
                   list(result.unknown_facts))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        """From a stored document: a diagnosis (`advisor diagnose --format json`) or a probe
        report; entries that are not mappings are skipped (the reader reports them)."""
        facts = data.get("facts")
        trials = data.get("trials")
        verification = data.get("verification")
        return cls([Finding.from_dict(d) for d in data.get("diagnoses") or []
                    if isinstance(d, dict)],
                   dict(facts) if isinstance(facts, dict) else {},
                   [str(x) for x in data.get("unknown_facts") or []],
                   [t for t in trials if isinstance(t, dict)] if isinstance(trials, list) else [],
                   verification if isinstance(verification, dict) else None)

    def with_trials(self, trials: list[dict[str, Any]], verification: dict[str, Any] | None,
                    by_remedy: dict[tuple[str, str], dict[str, Any]] | None = None
                    ) -> Diagnosis:
        """This diagnosis with the outcome of a verification attached: each remedy whose trial
        was run gets that trial's verdict (matched by label: the same change to the same
        setup measures the same whichever diagnosis asked for it). `by_remedy`: the trials of
        the verified report's remedies by (diagnosis id, action), for remedies whose own
        knowledge base declares none (`trials_by_remedy`)."""
        by_remedy = by_remedy or {}
        return Diagnosis([replace(f, remedies=[
                              _verified(r if r.trial else replace(r, trial=by_remedy.get(
                                  (f.id, r.action))), trials, verification)
                              for r in f.remedies])
                          for f in self.diagnoses],
                         dict(self.facts), list(self.unknown_facts), list(trials), verification)

    def remedy_note(self, remedy: Remedy) -> str | None:
        """The line every rendering shows under a remedy about its trial, or None."""
        return trial_view.remedy_line(remedy.trial, self.verification, self.trials)

    def by_severity(self, severity: str) -> list[Finding]:
        return [f for f in self.diagnoses if f.severity == severity]

    def counts(self) -> dict[str, int]:
        return {s: len(self.by_severity(s)) for s in SEVERITIES}

    def get(self, finding_id: str) -> Finding | None:
        return next((f for f in self.diagnoses if f.id == finding_id), None)

    def worst_severity(self) -> str | None:
        if not self.diagnoses:
            return None
        return min((f.severity for f in self.diagnoses), key=SEVERITY_RANK.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"diagnoses": [f.to_dict() for f in self.diagnoses],
                                "facts": self.facts, "unknown_facts": self.unknown_facts}
        if trial_view.shows_section(self.trials, self.verification):  # a verified diagnosis
            data.update(trials=self.trials, verification=self.verification)
        return data


def _verified(remedy: Remedy, trials: list[dict[str, Any]],
              verification: dict[str, Any] | None) -> Remedy:
    """The remedy with its trial's outcome, when that trial ran."""
    if remedy.trial is None:
        return remedy
    run = trial_view.find_trial(trials, remedy.trial.get("label"))
    if run is not None:
        return replace(remedy, trial=trial_view.remedy_trial_from(run))
    if verification is not None and remedy.trial.get("reason") == trial_view.NOT_VERIFIED:
        top = verification.get("top")
        among = f"the top {top} diagnoses" if isinstance(top, int) else "the diagnoses"
        return replace(remedy, trial={**remedy.trial, "reason": f"not among {among} verified"})
    return remedy


def trials_by_remedy(diagnoses: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """{(diagnosis id, remedy action): trial} of a report's `diagnoses` list."""
    found = {}
    for d in diagnoses if isinstance(diagnoses, list) else []:
        if not isinstance(d, dict):
            continue
        for r in d.get("remedies") or []:
            trial = trial_view.clean_trial(r.get("trial")) if isinstance(r, dict) else None
            if trial is not None:
                found[(str(d.get("id")), str(r.get("action")))] = trial
    return found


def as_diagnosis(source: Any) -> Diagnosis:
    """A Diagnosis from a Diagnosis (unchanged) or from the engine's DiagnosisResult."""
    return source if isinstance(source, Diagnosis) else Diagnosis.from_result(source)
