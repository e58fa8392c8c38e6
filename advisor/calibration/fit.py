"""Thresholds and certainty factors fitted on labelled reports (the procedure of
docs/calibration.md).

For each rule, each numeric atom `{fact: F, ge|gt|le|lt: V}` of its condition is fitted in turn
(the others held at their current values): the candidate thresholds are the midpoints between
the sorted distinct values of F seen in the reports, plus V itself. For each candidate the
engine re-runs every report's facts with the rule so changed, and the rule's conclusion is
scored as a detector: a case is positive when its `expect` names the conclusion, negative
otherwise (healthy cases included); the conclusion is detected when the engine reports it
(certainty at or above the reporting threshold, at any rank). The candidate with the highest F1
wins (ties: the one closest to V), and only when it beats V's F1 and keeps every rule example
of the knowledge base passing; with fewer than `min_positives` positive cases nothing is
proposed.

The rule's cf then follows the precision of the rule itself at the chosen thresholds (of the
cases it fires on, the share whose `expect` names its conclusion), shrunk toward the current cf
by the number of firings n: cf' = (n * precision + k * cf) / (n + k), kept in [0.05, 0.95],
proposed when it moves by 0.05 or more, does not lower the conclusion's F1, and keeps the
examples passing.

Why the engine and not the atom alone: a rule's premise combines its atoms with `all`/`any`/
`not` and with other conclusions, and its conclusion combines several rules; only the engine
says whether a changed threshold changes what a person is told. Why this stays fast: a case's
outcome depends on a candidate only through whether the atom holds for that case's value, so
each case is chained at most twice per atom, not once per candidate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.calibration.reports import CaseResult
from advisor.calibration.scoring import f1_score, precision, recall, rounded
from advisor.engine import Engine
from advisor.engine.evaluate import compile_condition
from advisor.engine.examples import run_examples
from advisor.engine.forward import chain
from advisor.engine.index import RuleIndex
from advisor.kb.loader import builtin_dir
from advisor.kb.model import (
    AllOf,
    AnyOf,
    Condition,
    FactTest,
    KnowledgeBase,
    Location,
    Not,
    Rule,
)
from advisor.kb.semantics import normalize_observation

THRESHOLD_OPS = ("ge", "gt", "le", "lt")
MIN_POSITIVES = 3
PRIOR_WEIGHT = 5.0  # k: how many cases the current cf counts for
CF_MAX = 0.95
CF_MIN = 0.05
CF_STEP = 0.05  # a smaller change of cf is not worth a review
EPS = 1e-9
MAX_TRIES = 5  # better thresholds tried against the examples before keeping the current one

_HOLDS = {"ge": lambda v, t: v >= t, "gt": lambda v, t: v > t,
          "le": lambda v, t: v <= t, "lt": lambda v, t: v < t}


def shown(location: Location) -> str:
    """`knowledge/rules/FILE.yaml:LINE:COL` for a place in the built-in base (the same text
    wherever the command runs), the location as loaded otherwise."""
    try:
        path = Path(location.file).resolve().relative_to(builtin_dir().resolve().parent)
    except ValueError:
        return str(location)
    return str(dataclasses.replace(location, file=path.as_posix()))


# ------------------------------------------------------------------------ atoms
@dataclass(frozen=True)
class Atom:
    """One numeric comparison in a rule's condition; `path` leads to it through the tree
    (("all", 1), ("any", 0), ("not",) steps), the same path in the rule's YAML mapping."""

    path: tuple[tuple[Any, ...], ...]
    fact: str
    op: str
    value: float

    def holds(self, observed: Any, threshold: float) -> bool | None:
        """Whether the comparison holds for a value; None when the value is not a number."""
        if not _is_number(observed) or not math.isfinite(observed):
            return None
        return _HOLDS[self.op](observed, threshold)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numeric_atoms(cond: Condition, path: tuple = ()) -> list[Atom]:
    """Every `{fact: F, ge/gt/le/lt: V}` comparison of a condition, depth first."""
    if isinstance(cond, FactTest):
        return [Atom(path, cond.fact, op, ref) for op, ref in cond.comparisons
                if op in THRESHOLD_OPS and _is_number(ref)]
    if isinstance(cond, (AllOf, AnyOf)):
        head = "all" if isinstance(cond, AllOf) else "any"
        return [a for i, part in enumerate(cond.parts) for a in numeric_atoms(part,
                                                                            path + ((head, i),))]
    if isinstance(cond, Not):
        return numeric_atoms(cond.part, path + (("not",),))
    return []


def with_threshold(cond: Condition, path: tuple, op: str, value: float) -> Condition:
    """The condition with the comparison at `path` set to `value` (the rest shared)."""
    if not path:
        assert isinstance(cond, FactTest)
        comparisons = tuple((o, value if o == op else ref) for o, ref in cond.comparisons)
        return dataclasses.replace(cond, comparisons=comparisons)
    step, rest = path[0], path[1:]
    if step[0] == "not":
        assert isinstance(cond, Not)
        return dataclasses.replace(cond, part=with_threshold(cond.part, rest, op, value))
    assert isinstance(cond, (AllOf, AnyOf))
    parts = list(cond.parts)
    parts[step[1]] = with_threshold(parts[step[1]], rest, op, value)
    return dataclasses.replace(cond, parts=tuple(parts))


def threshold_of(cond: Condition, atom: Atom) -> float:
    """The current value of `atom`'s comparison in `cond` (a variant of its rule)."""
    node = cond
    for step in atom.path:
        node = node.part if step[0] == "not" else node.parts[step[1]]
    return dict(node.comparisons)[atom.op]


def readable(low: float, high: float) -> float:
    """The number with the fewest significant digits strictly between `low` and `high`
    (the midpoint when none is shorter): any value there splits the cases the same way, and a
    reviewer reads 0.5 more easily than 0.4987."""
    mid = (low + high) / 2
    if mid == 0 or not math.isfinite(mid):
        return mid
    for digits in range(1, 16):
        candidate = float(f"{mid:.{digits}g}")
        if low < candidate < high:
            return int(candidate) if candidate.is_integer() and abs(candidate) < 1e15 \
                else candidate
    return mid


def candidates(values: Iterable[float], current: float) -> list[float]:
    """Readable midpoints between the sorted distinct values, plus the current threshold."""
    distinct = sorted(set(values))
    found = {readable(a, b) for a, b in zip(distinct, distinct[1:], strict=False)}
    found.add(current)
    return sorted(found)


def distance(a: float, b: float) -> float:
    """How far a candidate is from the current threshold: by ratio when both are positive
    (thresholds span orders of magnitude), else by difference."""
    if a > 0 and b > 0:
        return abs(math.log(a / b))
    return abs(a - b)


# ------------------------------------------------------------------------ counting
@dataclass(frozen=True)
class Sample:
    """One case's facts and the ids its label accepts."""

    name: str
    facts: dict[str, Any]
    expect: frozenset[str]


def samples_of(results: Sequence[CaseResult]) -> list[Sample]:
    """The cases that have facts to re-run (a case without a report has nothing to fit on)."""
    return [Sample(r.name, r.facts, frozenset(r.case.expect)) for r in results
            if not r.failure]


@dataclass(frozen=True)
class Counts:
    """A conclusion as a detector over the samples, and the rule's own firings."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    fired: int = 0
    fired_positive: int = 0

    @property
    def precision(self) -> float | None:
        return precision(self.tp, self.fp)

    @property
    def recall(self) -> float | None:
        return recall(self.tp, self.fn)

    @property
    def f1(self) -> float:
        return f1_score(self.tp, self.fp, self.fn) or 0.0

    @property
    def rule_precision(self) -> float | None:
        return precision(self.fired_positive, self.fired - self.fired_positive)

    def to_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": rounded(self.precision),
                "recall": rounded(self.recall), "f1": rounded(self.f1), "rule_fired": self.fired,
                "rule_precision": rounded(self.rule_precision)}


def tally(outcomes: Iterable[tuple[bool, bool, bool]]) -> Counts:
    """Counts from (positive, reported, fired) per sample."""
    tp = fp = fn = fired = fired_positive = 0
    for positive, reported, rule_fired in outcomes:
        tp += positive and reported
        fp += reported and not positive
        fn += positive and not reported
        fired += rule_fired
        fired_positive += rule_fired and positive
    return Counts(tp, fp, fn, fired, fired_positive)


# ------------------------------------------------------------------------ proposals
@dataclass
class AtomChange:
    atom: Atom
    proposed: float | None = None  # None: kept
    note: str = ""


@dataclass
class Proposal:
    """What the fit says about one rule."""

    rule: Rule
    positives: int
    before: Counts
    after: Counts
    atoms: list[AtomChange] = field(default_factory=list)
    cf: float | None = None  # None: kept
    notes: list[str] = field(default_factory=list)
    variant: Rule | None = None  # the rule with every proposed change
    fitted: bool = True  # False: too few positive cases to fit anything

    @property
    def changed(self) -> bool:
        return self.cf is not None or any(a.proposed is not None for a in self.atoms)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.id, "conclusion": self.rule.conclusion,
                "file": str(self.rule.location), "positives": self.positives,
                "fitted": self.fitted, "changed": self.changed,
                "thresholds": [{"fact": a.atom.fact, "op": a.atom.op, "current": a.atom.value,
                                "proposed": a.proposed, "note": a.note} for a in self.atoms],
                "cf": {"current": self.rule.cf, "proposed": self.cf},
                "before": self.before.to_dict(), "after": self.after.to_dict(),
                "notes": self.notes}


class Calibrator:
    """Fits the rules of one knowledge base on one set of labelled samples."""

    def __init__(self, kb: KnowledgeBase, samples: Sequence[Sample], *,
                 min_positives: int = MIN_POSITIVES, prior_weight: float = PRIOR_WEIGHT):
        self.kb = kb
        self.samples = list(samples)
        self.min_positives = min_positives
        self.prior_weight = prior_weight
        self.engine = Engine(kb)
        self.index = self.engine.index

    # -------------------------------------------------------------- engine runs

    def _index_with(self, *variants: Rule) -> RuleIndex:
        """The engine's index with the variants in place of their rules (same order: the
        rule graph does not depend on thresholds or cfs)."""
        order, premises = list(self.index.order), list(self.index.premises)
        for variant in variants:
            pos = self.index.position[variant.id]
            order[pos], premises[pos] = variant, compile_condition(variant.when)
        return dataclasses.replace(self.index, order=order, premises=premises, cache={})

    def outcome(self, index: RuleIndex, variant: Rule, sample: Sample) -> tuple[bool, bool, bool]:
        """(positive, conclusion reported, this rule fired) for one sample."""
        conclusion = variant.conclusion
        # a variant only moves thresholds and cfs: the base index's rule graph still holds
        only = self.index.ancestors(conclusion)
        state = chain(index, sample.facts, self.engine.threshold, only=only)
        reported = state.evidence.get(conclusion, 0.0) >= self.engine.threshold
        pos = self.index.position[variant.id]
        return (conclusion in sample.expect, reported, pos in state.fired.get(conclusion, ()))

    def joint(self, proposals: Sequence[Proposal]) -> dict[str, tuple[Counts, Counts]]:
        """Per conclusion touched by a proposal: its detection before, and with every proposal
        applied at once (rules fitted one at a time may add up, or get in each other's way)."""
        variants = [p.variant for p in proposals if p.changed and p.variant is not None]
        together = self._index_with(*variants)
        out = {}
        for conclusion in dict.fromkeys(v.conclusion for v in variants):
            rule = self.kb.rules.get(conclusion) or next(v for v in variants
                                                         if v.conclusion == conclusion)
            out[conclusion] = (
                tally(self.outcome(self.index, rule, s) for s in self.samples),
                tally(self.outcome(together, rule, s) for s in self.samples))
        return out

    def counts(self, variant: Rule) -> Counts:
        index = self._index_with(variant)
        return tally(self.outcome(index, variant, s) for s in self.samples)

    def broken_example(self, variant: Rule) -> str | None:
        """Where and how a rule example of the base would fail with the variant, or None."""
        rules = dict(self.kb.rules)
        rules[variant.id] = variant
        kb = KnowledgeBase(facts=self.kb.facts, rules=rules, files=self.kb.files,
                           graph=self.kb.graph)
        for outcome in run_examples(kb):
            if not outcome.passed:
                return f"{shown(outcome.example.location)} of {outcome.rule.id}"
        return None

    # -------------------------------------------------------------- the fit
    def fit(self, rules: Iterable[Rule] | None = None) -> list[Proposal]:
        return [self.fit_rule(r) for r in (rules if rules is not None else self.kb.rules.values())]

    def fit_rule(self, rule: Rule) -> Proposal:
        positives = sum(1 for s in self.samples if rule.conclusion in s.expect)
        before = self.counts(rule)
        proposal = Proposal(rule, positives, before, before,
                            [AtomChange(a) for a in numeric_atoms(rule.when)])
        if positives < self.min_positives:
            proposal.notes.append(f"{positives} positive case(s) for {rule.conclusion}; "
                                  f"need {self.min_positives}")
            proposal.fitted = False
            return proposal
        variant = rule
        for change in proposal.atoms:
            variant = self._fit_atom(variant, change)
        variant = self._fit_cf(variant, proposal)
        proposal.after = self.counts(variant)
        proposal.variant = variant if proposal.changed else None
        return proposal

    def _fit_atom(self, rule: Rule, change: AtomChange) -> Rule:
        atom = change.atom
        observed = [v for s in self.samples
                    for v in [normalize_observation(s.facts.get(atom.fact))[0]]
                    if _is_number(v) and math.isfinite(v)]
        current = threshold_of(rule.when, atom)
        cache: dict[tuple[int, bool | None], tuple[bool, bool, bool]] = {}

        def variant_at(t: float) -> Rule:
            return dataclasses.replace(rule, when=with_threshold(rule.when, atom.path, atom.op, t))

        def counts_at(t: float) -> Counts:
            index = None
            outcomes = []
            for i, s in enumerate(self.samples):
                key = (i, atom.holds(normalize_observation(s.facts.get(atom.fact))[0], t))
                if key not in cache:
                    if index is None:
                        variant = variant_at(t)
                        index = self._index_with(variant)
                    cache[key] = self.outcome(index, variant, s)
                outcomes.append(cache[key])
            return tally(outcomes)

        scored = [(counts_at(t).f1, t) for t in candidates(observed, current)]
        base = next(f1 for f1, t in scored if t == current)
        ranked = sorted(scored, key=lambda ft: (-ft[0], distance(ft[1], current)))
        better = [(f1, t) for f1, t in ranked if f1 > base + EPS]
        blocked: list[str] = []
        for f1, t in better[:MAX_TRIES]:
            candidate = variant_at(t)
            broken = self.broken_example(candidate)
            if broken is None:
                change.proposed = t
                if blocked:
                    change.note = f"best {blocked[0]}; took the next best"
                return candidate
            blocked.append(f"{_num(t)} (F1 {f1:.2f}) breaks example {broken}")
        if blocked:
            change.note = (f"kept: {blocked[0]}" + (f" (and {len(better) - 1} other better "
                                                    "value(s))" if len(better) > 1 else ""))
        elif not observed:
            change.note = f"{atom.fact} not measured in any report"
        return rule

    def _fit_cf(self, variant: Rule, proposal: Proposal) -> Rule:
        rule = proposal.rule
        if rule.cf <= 0:
            proposal.notes.append("negative cf: evidence against; not fitted")
            return variant
        counts = self.counts(variant)
        if counts.fired < self.min_positives:
            proposal.notes.append(f"cf kept: the rule fires on {counts.fired} case(s)")
            return variant
        n, k = counts.fired, self.prior_weight
        shrunk = (n * counts.rule_precision + k * rule.cf) / (n + k)
        cf = round(min(CF_MAX, max(CF_MIN, shrunk)), 2)
        if abs(cf - rule.cf) < CF_STEP - EPS:
            return variant
        candidate = dataclasses.replace(variant, cf=cf)
        after = self.counts(candidate)
        if after.f1 < counts.f1 - EPS:
            proposal.notes.append(f"cf kept: {cf:.2f} would lower F1 to {after.f1:.2f}")
            return variant
        broken = self.broken_example(candidate)
        if broken is not None:
            proposal.notes.append(f"cf kept: {cf:.2f} breaks example {broken}")
            return variant
        proposal.cf = cf
        return candidate


def _num(x: float) -> str:
    return f"{x:g}"
