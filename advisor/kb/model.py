"""The knowledge base as plain data: facts, conditions, rules.

These classes are what the loader produces and what the engine reasons over. They keep the
source location of everything so that every later complaint can point at `file:line:col`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("error", "warning", "info")
KINDS = ("symptom", "cause", "remedy")
FACT_TYPES = ("bool", "number", "enum", "string")
COMPARISONS = ("is", "ne", "in", "gt", "ge", "lt", "le")


@dataclass(frozen=True)
class Location:
    """Where something was written; line and column are 1-based like an editor's."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Ask:
    """How a person is asked for a fact in the terminal UI."""

    question: str
    help: str = ""
    choices: tuple[tuple[Any, str], ...] = ()


@dataclass(frozen=True)
class Fact:
    """One observable quantity that rules may test."""

    name: str
    type: str
    meaning: str
    location: Location
    values: tuple[str, ...] = ()
    unit: str = ""
    measured: str = ""
    ask: Ask | None = None
    replaces: bool = False

    def accepts(self, value: Any) -> bool:
        """Whether `value` is a legal value of this fact (unknown is expressed by absence)."""
        if self.type == "bool":
            return isinstance(value, bool)
        if self.type == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.type == "enum":
            return isinstance(value, str) and value in self.values
        return isinstance(value, str)

    def answer_choices(self) -> tuple[tuple[Any, str], ...]:
        """The choices a person picks from; empty for free-form numbers and strings."""
        if self.ask and self.ask.choices:
            return self.ask.choices
        if self.type == "bool":
            return ((True, "yes"), (False, "no"))
        if self.type == "enum":
            return tuple((v, v) for v in self.values)
        return ()


@dataclass(frozen=True)
class FactTest:
    """`{fact: NAME, OP: VALUE, ...}`: holds when every comparison holds."""

    fact: str
    comparisons: tuple[tuple[str, Any], ...]
    location: Location


@dataclass(frozen=True)
class RuleRef:
    """`{rule: ID}`: the certainty of another rule's conclusion."""

    rule: str
    location: Location


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]
    location: Location


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]
    location: Location


@dataclass(frozen=True)
class Not:
    part: Condition
    location: Location


Condition = FactTest | RuleRef | AllOf | AnyOf | Not


@dataclass(frozen=True)
class SourceRef:
    """Where a piece of knowledge comes from: a seed file and heading, or a public reference."""

    seed: str = ""
    section: str = ""
    ref: str = ""
    note: str = ""

    def __str__(self) -> str:
        if self.seed:
            text = f"{self.seed} § {self.section}" if self.section else self.seed
        else:
            text = self.ref
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class Trial:
    """A change `advisor probe --verify` can make to a copy of the setup to test a remedy.

    `transform` is a name of the closed vocabulary (`advisor.kb.trials.TRANSFORMS`), `args` its
    arguments as (name, value) pairs in the vocabulary's order. Two trials written in different
    places are equal when they make the same change: the location does not count.
    """

    transform: str
    args: tuple[tuple[str, Any], ...] = ()
    location: Location = field(default=Location(""), compare=False)

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.args)

    @property
    def label(self) -> str:
        """`scale_lr(factor=0.1)`, `shuffle_data()`: the trial as one stable line."""
        return f"{self.transform}({', '.join(f'{k}={_shown(v)}' for k, v in self.args)})"


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Remedy:
    action: str
    detail: str = ""
    sources: tuple[str, ...] = ()
    trial: Trial | None = None


@dataclass(frozen=True)
class Example:
    """A rule's own regression test: facts in, whether the rule's conclusion must fire."""

    given: dict[str, Any]
    expect: str  # "fires" | "silent"
    location: Location
    name: str = ""
    min_cf: float | None = None
    fact_locations: dict[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    kind: str
    severity: str
    cf: float
    when: Condition
    explanation: str
    location: Location
    remedies: tuple[Remedy, ...] = ()
    sources: tuple[SourceRef, ...] = ()
    examples: tuple[Example, ...] = ()
    concludes: str = ""
    replaces: bool = False
    contested: str = ""
    tags: tuple[str, ...] = ()

    @property
    def conclusion(self) -> str:
        """The hypothesis this rule adds evidence to: its own id unless it `concludes` another."""
        return self.concludes or self.id


@dataclass
class KnowledgeBase:
    """Facts and rules after merging every source, plus indexes the engine needs."""

    facts: dict[str, Fact] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # the rule graph (networkx) built while validating, so the engine and the exports reuse it;
    # None for a base assembled by hand
    graph: Any = field(default=None, repr=False, compare=False)

    def rules_for(self, conclusion: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.conclusion == conclusion]

    @property
    def diagnoses(self) -> list[Rule]:
        """Rules that define a conclusion of their own (the ids a report can show)."""
        return [r for r in self.rules.values() if not r.concludes]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the knowledge base, pinned to where it was written."""

    location: Location
    message: str
    level: str = "error"

    def __str__(self) -> str:
        suffix = "" if self.level == "error" else f" [{self.level}]"
        return f"{self.location}: {self.message}{suffix}"


def walk(condition: Condition):
    """Every node of a condition tree, depth first."""
    yield condition
    if isinstance(condition, (AllOf, AnyOf)):
        for part in condition.parts:
            yield from walk(part)
    elif isinstance(condition, Not):
        yield from walk(condition.part)


def fact_names(condition: Condition) -> list[str]:
    return list(dict.fromkeys(n.fact for n in walk(condition) if isinstance(n, FactTest)))


def rule_refs(condition: Condition) -> list[str]:
    return list(dict.fromkeys(n.rule for n in walk(condition) if isinstance(n, RuleRef)))
