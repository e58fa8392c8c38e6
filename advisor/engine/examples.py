"""Runs every rule's own examples (Semgrep/promtool style regression tests for the KB)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from advisor.kb.model import Example, KnowledgeBase, Problem, Rule

Progress = Callable[[str, int, int], None]


@dataclass
class ExampleOutcome:
    rule: Rule
    example: Example
    certainty: float
    passed: bool

    def describe(self) -> str:
        want = "fire" if self.example.expect == "fires" else "stay silent"
        if self.example.min_cf is not None and self.example.expect == "fires":
            want += f" with certainty >= {self.example.min_cf}"
        label = f" '{self.example.name}'" if self.example.name else ""
        return (f"example{label} of rule '{self.rule.id}' should {want}, but "
                f"'{self.rule.conclusion}' has certainty {self.certainty:.2f}")


def run_examples(kb: KnowledgeBase, engine=None,
                 progress: Progress | None = None) -> list[ExampleOutcome]:
    """Every example of every rule; `progress("checking examples", done, total)` per 500 rules."""
    from advisor.engine import Engine
    from advisor.engine.forward import chain

    engine = engine or Engine(kb)
    outcomes = []
    total = len(kb.rules)
    for done, rule in enumerate(kb.rules.values()):
        if progress is not None and done % 500 == 0:
            progress("checking examples", done, total)
        # only the rules the conclusion depends on: the same certainty as a full run, and the
        # cost of an example no longer grows with the size of the base
        only = engine.index.ancestors(rule.conclusion)
        for ex in rule.examples:
            state = chain(engine.index, ex.given, engine.threshold, only=only)
            cf = state.evidence.get(rule.conclusion, 0.0)
            fired_here = any(engine.index.order[p].id == rule.id
                             for p in state.fired.get(rule.conclusion, []))
            if ex.expect == "fires":
                passed = fired_here and cf >= (ex.min_cf if ex.min_cf is not None
                                               else engine.threshold)
            else:
                passed = not fired_here
            outcomes.append(ExampleOutcome(rule, ex, cf, passed))
    return outcomes


def example_problems(kb: KnowledgeBase, engine=None,
                     progress: Progress | None = None) -> list[Problem]:
    return [Problem(o.example.location, o.describe())
            for o in run_examples(kb, engine, progress) if not o.passed]


def check_kb_examples(kb: KnowledgeBase, progress: Progress | None = None) -> list[Problem]:
    """The example checker `advisor.kb.load_kb(check_examples=True)` runs (named there as
    `DEFAULT_EXAMPLE_CHECKER`, or passed as `example_checker=`): a failing example is a problem
    at the example's location."""
    return example_problems(kb, None, progress)
