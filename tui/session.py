"""The guided diagnosis as plain data: what is known, what was answered, what to ask next.

The screens only display a `GuidedSession` and forward key presses to it. Keeping the state
here, free of Textual, means the interview logic (undo, changing an earlier answer, "don't
know") is tested without a terminal, and the screen cannot get out of step with the engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.engine import DiagnosisResult, Engine, Question
from advisor.kb.model import Fact, KnowledgeBase

SYMPTOM_PREFIX = "symptom."


@dataclass
class Answer:
    """One step of the interview. `value is None` means the person said "don't know"."""

    fact: str
    value: Any
    question: Question | None = None  # None for the first symptom, picked from a list

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Hypothesis:
    """A conclusion with its current certainty, for the ranked bars beside the question."""

    id: str
    title: str
    severity: str
    certainty: float


def symptom_facts(kb: KnowledgeBase) -> list[Fact]:
    """The first symptoms a person can report: askable facts named `symptom.*`, catalogue order."""
    return [f for name, f in kb.facts.items() if name.startswith(SYMPTOM_PREFIX) and f.ask]


def symptom_label(fact: Fact) -> str:
    """The symptom as the person would say it: its question ("Does your loss become NaN?")."""
    return fact.ask.question if fact.ask else fact.meaning


def format_value(value: Any) -> str:
    if value is None:
        return "don't know"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def parse_number(text: str) -> float | int | None:
    """A number typed by a person: `3`, `0.1`, `1e-3`, `2,5`; None when it is not one."""
    cleaned = text.strip().replace(",", ".").replace("_", "")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class GuidedSession:
    """Facts given up front (a probe, a report) plus the person's answers, in order."""

    def __init__(self, engine: Engine, given: Mapping[str, Any] | None = None):
        self.engine = engine
        self.given: dict[str, Any] = dict(given or {})
        self.answers: list[Answer] = []

    @property
    def kb(self) -> KnowledgeBase:
        return self.engine.kb

    @property
    def facts(self) -> dict[str, Any]:
        """Everything known: given facts, overridden by answers that are not "don't know"."""
        facts = dict(self.given)
        facts.update((a.fact, a.value) for a in self.answers if a.known)
        return facts

    @property
    def declined(self) -> set[str]:
        return {a.fact for a in self.answers if not a.known}

    @property
    def measured_elsewhere(self) -> set[str]:
        """After a probe (or its saved report) only what it could not measure is asked: not the
        facts it measures, whether or not it got a value, nor the symptom.* questions, which
        are a person's account of what the probe measured."""
        if not self.given:
            return set()
        return {f.name for f in self.kb.facts.values()
                if f.measured or f.name.startswith("symptom.")}

    def next_question(self) -> Question | None:
        """The engine's next question; known and declined facts are never asked again."""
        return self.engine.next_question(self.facts,
                                         skip=self.declined | self.measured_elsewhere)

    def answer(self, fact: str, value: Any, question: Question | None = None,
               at: int | None = None) -> None:
        """Record an answer; `at` re-inserts a changed answer at its old place in the history."""
        self.answers = [a for a in self.answers if a.fact != fact]
        entry = Answer(fact, value, question)
        if at is None or at >= len(self.answers):
            self.answers.append(entry)
        else:
            self.answers.insert(at, entry)

    def back(self) -> Answer | None:
        """Undo the last answer and return it, so its question can be asked again."""
        return self.answers.pop() if self.answers else None

    def take(self, index: int) -> Answer:
        """Remove an earlier answer to change it; the later answers are kept."""
        return self.answers.pop(index)

    def hypotheses(self, limit: int = 6) -> list[Hypothesis]:
        """The open hypotheses with evidence for them, most certain first."""
        state = self.engine.chain(self.facts)
        found = []
        for cid, cf in state.evidence.items():
            rule = self.kb.rules.get(cid)
            if rule is None or rule.concludes or cf <= 0:
                continue
            found.append(Hypothesis(cid, rule.title, rule.severity, cf))
        found.sort(key=lambda h: (-h.certainty, h.id))
        return found[:limit]

    def result(self) -> DiagnosisResult:
        return self.engine.diagnose(self.facts)
