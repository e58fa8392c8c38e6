"""The guided diagnosis as plain data: what is known, what was answered, what to ask next.

The screens only display a `GuidedSession` and forward key presses to it. Keeping the state
here, free of Textual, means the interview logic (undo, changing an earlier answer, "don't
know") is tested without a terminal, and the screen cannot get out of step with the engine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from advisor.engine import DiagnosisResult, Engine, Question
from advisor.engine.backward import deciding_facts
from advisor.errors import AdvisorError
from advisor.kb.model import Fact, KnowledgeBase

SYMPTOM_PREFIX = "symptom."
MAX_QUESTIONS = 15  # a person answering "don't know" to everything must still reach results
LABEL_WIDTH = 48  # the answers pane's short question labels, cut at a word boundary

# Why an interview ended (GuidedSession.ended), and what the screen says about it.
EXHAUSTED = "exhausted"
SETTLED = "settled"
CAPPED = "capped"
END_MESSAGES = {
    EXHAUSTED: "advisor has nothing more to ask: showing results",
    SETTLED: "No further answer can change the top diagnoses: showing results",
    CAPPED: f"{MAX_QUESTIONS} questions asked, the most advisor asks in one session: "
            "showing results",
}


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


def short_label(fact: Fact, width: int = LABEL_WIDTH) -> str:
    """The question as a short label for the answers pane: its text without the parenthesised
    examples, cut at a word boundary. A person recognises their own question; a fact name like
    `optim.lr_warmup_steps` means nothing to them and cannot wrap between words."""
    text = fact.ask.question if fact.ask else fact.meaning
    text = " ".join(re.sub(r"\s*\([^)]*\)", "", text).split())
    if len(text) <= width:
        return text
    cut = text[:width - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def format_value(value: Any) -> str:
    """An answer as the guided screen shows it: the shared formatter, "don't know" for None."""
    from advisor.report.format import fact_value

    return fact_value(value, missing="don't know")


class NotANumber(AdvisorError):
    """What a person typed in a number field is not a number we can read without guessing;
    `str(exc)` says why and how to write it."""


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"([+-]?)(\d+),(\d+)([eE][+-]?\d+)?")
USE_A_DOT = "use a dot for decimals (0.001), or an exponent (1e-3)"


def parse_number(text: str) -> float | int:
    """A number typed by a person: `3`, `0.1`, `.5`, `5.`, `1e-3`, `3e-4`, `2,5`.

    A decimal comma is read as a decimal point only when that is its only reading: `0,001`
    (a thousands separator never follows a lone 0) or `2,5` (not three digits after it).
    `1,000`, `1,000,000` and `1.000,5` could mean two different numbers, so they are refused
    rather than guessed: a learning rate silently read as 1000 times too large is worse than
    a question asked twice. Raises `NotANumber` with the reason.
    """
    cleaned = text.strip().replace("_", "")
    if not cleaned:
        raise NotANumber("nothing typed: type a number, or press d for don't know")
    if _PLAIN_NUMBER.fullmatch(cleaned):
        number = float(cleaned) if any(c in cleaned for c in ".eE") else int(cleaned)
    elif match := _DECIMAL_COMMA.fullmatch(cleaned):
        sign, whole, fraction, exponent = match.groups()
        if whole.lstrip("0") and len(fraction) == 3:
            raise NotANumber(f"'{text.strip()}' is not a number: {whole},{fraction} could be "
                             f"{whole}{fraction} or {whole}.{fraction}; {USE_A_DOT}")
        number = float(f"{sign}{whole}.{fraction}{exponent or ''}")
    else:
        raise NotANumber(f"'{text.strip()}' is not a number: {USE_A_DOT}")
    if not math.isfinite(number):
        raise NotANumber(f"'{text.strip()}' is too large: type a finite number")
    return number


class GuidedSession:
    """Facts given up front (a probe, a report) plus the person's answers, in order."""

    def __init__(self, engine: Engine, given: Mapping[str, Any] | None = None,
                 measured: Iterable[str] = ()):
        """`given`: facts from a probe or a report. `measured`: every fact the probe measured,
        including those it could not determine (no value), which are not asked either."""
        self.engine = engine
        self.given: dict[str, Any] = dict(given or {})
        self.measured: set[str] = set(measured) | set(self.given)
        self.answers: list[Answer] = []
        self.ended = ""  # why the last next_question() returned None: one of END_MESSAGES

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
        facts it measured (`measured`, with or without a value), nor those the knowledge base
        says a probe measures, nor the symptom.* questions, which are a person's account of
        what the probe measured."""
        if not self.given and not self.measured:
            return set()
        return self.measured | {f.name for f in self.kb.facts.values()
                                if f.measured or f.name.startswith("symptom.")}

    @property
    def asked(self) -> int:
        """Questions the engine asked so far (the first symptom is picked, not asked)."""
        return sum(1 for a in self.answers if a.question is not None)

    @property
    def end_message(self) -> str:
        return END_MESSAGES.get(self.ended, "")

    def next_question(self) -> Question | None:
        """The engine's next question, or None with `ended` saying why.

        Known, declined and measured facts are never asked. The interview stops when no answer
        to any remaining question can change the leading diagnoses (the engine would otherwise
        keep asking whatever still moves a certainty a little), and after MAX_QUESTIONS.
        """
        self.ended = ""
        if self.asked >= MAX_QUESTIONS:
            self.ended = CAPPED
            return None
        facts = self.facts
        skip = self.declined | self.measured_elsewhere | set(facts)
        engine = self.engine
        deciding = deciding_facts(self.kb, engine.index, engine.chain(facts), skip,
                                  engine.threshold)
        if not deciding:
            self.ended = SETTLED if engine.next_question(facts, skip=skip) else EXHAUSTED
            return None
        # the engine's best question, unless it can no longer change the top diagnoses: then
        # its best among those that can
        question = engine.next_question(facts, skip=skip)
        if question is None or question.fact.name not in deciding:
            question = engine.next_question(facts, skip=skip | (self.kb.facts.keys() - deciding))
        if question is None:
            self.ended = EXHAUSTED
        return question

    def summary(self) -> list[str]:
        """One line per question asked, with its answer, for the end of the interview."""
        return [f"{short_label(self.kb.facts[a.fact]) if a.fact in self.kb.facts else a.fact}"
                f": {format_value(a.value)}" for a in self.answers if a.question is not None]

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
