"""Backward chaining: which question is worth asking next, and why.

From every open hypothesis (a diagnosis not yet ruled out nor certain) importance flows
backwards through the rules that could still change it (MYCIN skips rules whose premise is
already decided: "don't ask dumb questions"), split among each rule's unknown inputs. The
askable facts that collect the most importance are the candidates; for the best few we then
simulate every answer and keep the one whose answers would move the hypotheses' certainties most.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.certainty import THRESHOLD
from advisor.engine.forward import ChainState, rechain
from advisor.engine.index import RuleIndex
from advisor.engine.result import SEVERITY_RANK
from advisor.kb.model import Fact, FactTest, KnowledgeBase, walk

SEVERITY_WEIGHT = {"error": 1.0, "warning": 0.7, "info": 0.3}
CANDIDATES_SIMULATED = 8
LEADERS_COMPARED = 3  # how many leading diagnoses a remaining question must be able to change
UNTOUCHED_FOCUS = 0.05


@dataclass
class Question:
    """The next fact to ask about, with the rule chain that makes it worth asking."""

    fact: Fact
    score: float
    hypothesis: str
    chain: list[str] = field(default_factory=list)  # rule ids, from the asking rule upwards

    @property
    def text(self) -> str:
        return self.fact.ask.question if self.fact.ask else self.fact.meaning

    @property
    def help(self) -> str:
        return self.fact.ask.help if self.fact.ask else ""

    @property
    def choices(self) -> tuple[tuple[Any, str], ...]:
        return self.fact.answer_choices()

    def why(self, kb: KnowledgeBase) -> str:
        """MYCIN's WHY: the rule being tried, the conclusion it serves, up to the hypothesis."""
        lines = []
        for rid in self.chain:
            rule = kb.rules[rid]
            target = kb.rules.get(rule.conclusion, rule)
            lines.append(f"rule {rid} ({rule.title}) would add evidence for "
                         f"'{target.id}' ({target.title}) with cf {rule.cf:+.2f}")
        head = kb.rules.get(self.hypothesis)
        goal = f"{self.hypothesis} ({head.title})" if head else self.hypothesis
        return (f"I am trying to establish whether {goal} holds.\n"
                + "\n".join(f"  {i + 1}. {line}" for i, line in enumerate(lines))
                + f"\n  '{self.fact.name}' is a premise of rule {self.chain[0]}.")

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact.name, "question": self.text, "help": self.help,
                "choices": [{"value": v, "label": label} for v, label in self.choices],
                "hypothesis": self.hypothesis, "chain": self.chain,
                "score": round(self.score, 4)}


def _hypotheses(index: RuleIndex, state: ChainState) -> dict[str, float]:
    """Open diagnoses (neither ruled out nor near certain) and their weights, in file order."""
    base = index.cache.get("hypothesis_weights")
    if base is None:
        base = {r.id: SEVERITY_WEIGHT[r.severity] for r in index.diagnoses}
        index.cache["hypothesis_weights"] = base
    weights = dict(base)  # a diagnosis with no evidence keeps its severity weight
    for cid in state.ruled_out:
        weights.pop(cid, None)
    for cid, cf in state.evidence.items():
        if cid in weights:
            if cf >= 0.99:
                del weights[cid]
            else:
                weights[cid] = base[cid] * (1.0 + max(cf, 0.0))
    return weights


def _spread(index: RuleIndex, state: ChainState, hypotheses: dict[str, float], skip: set[str]):
    """Importance per askable unknown fact, and the rule chain that carried it there."""
    importance: dict[str, float] = defaultdict(float, hypotheses)
    parent: dict[str, int] = {}
    score: dict[str, float] = defaultdict(float)
    best: dict[str, tuple[float, int]] = {}
    rows = index.cache.get("spread_rows")
    if rows is None:  # rules from the last to the first, with what this loop needs of each
        rows = [(pos, index.conclusion_of[pos], index.strength[pos], index.inputs_facts[pos],
                 index.inputs_rules[pos],
                 len(index.inputs_facts[pos]) + len(index.inputs_rules[pos]))
                for pos in range(len(index.order) - 1, -1, -1)]
        index.cache["spread_rows"] = rows
    # this loop visits every rule: keep what it touches in locals
    premise, known = state.premise, state.facts
    evidence, ruled_out = state.evidence, state.ruled_out
    candidates = index.askable - skip
    importance_of = importance.get
    # Once something is known, pursue the rules it bears on (MYCIN's goal-directed focus):
    # a rule nothing known touches still counts, but far less than one already under way.
    untouched = UNTOUCHED_FOCUS if premise else 1.0
    in_focus = _focus(index, state)[0]
    for pos, conclusion, strength, facts, refs, inputs in rows:
        weight = importance_of(conclusion, 0.0)
        if weight <= 0:
            continue
        focus = 1.0
        if pos in premise:
            if premise[pos] is not None:
                continue
            facts = [f for f in facts if f not in known]
            refs = [r for r in refs if r not in evidence and r not in ruled_out]
            if not facts and not refs:
                continue
            inputs = len(facts) + len(refs)
        elif pos not in in_focus:
            # never evaluated, so nothing it uses is known: forward chaining evaluates every
            # rule that an observation or a decided conclusion reaches
            focus = untouched
        share = weight * strength * focus / inputs
        for name in facts:
            if name not in candidates:
                continue
            score[name] += share
            held = best.get(name)
            if share > (held[0] if held is not None else 0.0):
                best[name] = (share, pos)
        for ref in refs:
            if share > importance_of(ref, 0.0):
                parent[ref] = pos
            importance[ref] += share
    return score, best, parent


def _focus(index: RuleIndex, state: ChainState) -> tuple[set[int], set[str]]:
    """Rules (and their conclusions) that what is known bears on, directly or through a chain.

    A rule is in focus when forward chaining evaluated it, or when it uses the conclusion of a
    rule in focus; computed once per state, in evaluation order.
    """
    cached = state.cache.get("focus")
    if cached is not None:
        return cached
    rules = set(state.premise)
    conclusions = {index.conclusion_of[pos] for pos in rules}
    frontier = list(conclusions)
    users = index.by_conclusion_use
    while frontier:  # walk forward through the rules that use a focused conclusion
        for pos in users.get(frontier.pop(), ()):
            if pos not in rules:
                rules.add(pos)
                target = index.conclusion_of[pos]
                if target not in conclusions:
                    conclusions.add(target)
                    frontier.append(target)
    state.cache["focus"] = (rules, conclusions)
    return rules, conclusions


def _chain(index: RuleIndex, start: int, parent: dict[str, int]) -> tuple[list[str], str]:
    """From the rule that asks upwards, through each conclusion's main source of importance.

    Every diagnosis is a hypothesis of its own, so the climb does not stop at the first one:
    `parent` holds a conclusion only when a rule above it gave it more importance than it had.
    """
    rules = [index.order[start].id]
    conclusion = index.order[start].conclusion
    seen = {conclusion}
    while conclusion in parent:
        pos = parent[conclusion]
        rules.append(index.order[pos].id)
        conclusion = index.order[pos].conclusion
        if conclusion in seen:
            break
        seen.add(conclusion)
    return rules, conclusion


def _movement(kb: KnowledgeBase, index: RuleIndex, fact: Fact, before: ChainState,
              hypotheses: dict[str, float], threshold: float) -> float | None:
    """Expected change in the hypotheses' certainties over the fact's possible answers.

    Each answer is simulated by re-chaining only what depends on the fact; the conclusions it
    did not recompute did not move, so only the recomputed ones are compared (in the
    hypotheses' file order, so the sum is the same as over all of them).
    """
    answers = [v for v, _ in fact.answer_choices()] or _probe_values(index, fact)
    if not answers:
        return None
    rank = index.diagnosis_rank
    # hypotheses the observations already bear on count fully; the rest barely, so that a
    # question with many dramatic but unrelated answers does not win over a relevant one
    touched = _focus(index, before)[1]
    untouched = UNTOUCHED_FOCUS if before.premise else 1.0
    total = 0.0
    for answer in answers:
        after, changed = rechain(index, before, fact.name, answer, threshold)
        for h in sorted((c for c in changed if c in hypotheses), key=rank.__getitem__):
            old = before.evidence.get(h, -1.0 if h in before.ruled_out else 0.0)
            new = after.evidence.get(h, -1.0 if h in after.ruled_out else 0.0)
            focus = 1.0 if h in touched else untouched
            total += abs(new - old) * SEVERITY_WEIGHT[kb.rules[h].severity] * focus
    return total / len(answers)


def _probe_values(index: RuleIndex, fact: Fact) -> list[float]:
    """Representative answers for a number fact: one on each side of every rule threshold."""
    cache = index.cache.setdefault("probe_values", {})
    if fact.name not in cache:
        cuts = sorted({value for rule in index.order for node in walk(rule.when)
                       if isinstance(node, FactTest) and node.fact == fact.name
                       for op, value in node.comparisons if op in ("gt", "ge", "lt", "le")})
        values = []
        for low, high in zip(cuts, cuts[1:], strict=False):
            values.append(math.sqrt(low * high) if low > 0 else (low + high) / 2)
        if cuts:
            values.insert(0, cuts[0] / 2 if cuts[0] > 0 else cuts[0] - 1)
            values.append(cuts[-1] * 2 if cuts[-1] > 0 else cuts[-1] + 1)
        cache[fact.name] = values
    return cache[fact.name]


def next_question(kb: KnowledgeBase, index: RuleIndex, facts: Mapping[str, Any],
                  state: ChainState, skip: set[str],
                  threshold: float = THRESHOLD) -> Question | None:
    hypotheses = _hypotheses(index, state)
    score, best, parent = _spread(index, state, hypotheses, skip)
    if not score:
        return None
    ranked = sorted(score, key=lambda n: (-score[n], n))
    top = ranked[:CANDIDATES_SIMULATED]
    moves = {n: _movement(kb, index, kb.facts[n], state, hypotheses, threshold) for n in top}
    chosen = max(top, key=lambda n: (moves[n] if moves[n] is not None else -1.0, score[n]))
    if moves[chosen] is not None and moves[chosen] <= 0:
        chosen = ranked[0]
    rules, hypothesis = _chain(index, best[chosen][1], parent)
    return Question(kb.facts[chosen], score[chosen], hypothesis, rules)


@dataclass(frozen=True)
class Leaders:
    """What a person reads first in the results: the leading diagnoses and how bad the first is.

    Compared as a set, so two leaders trading places on a small change of certainty does not
    count as a change worth another question; a diagnosis entering or leaving the top, or the
    first one's severity changing, does.
    """

    ids: frozenset[str]
    first_severity: str | None


def leading_diagnoses(index: RuleIndex, state: ChainState, threshold: float = THRESHOLD,
                      top: int = LEADERS_COMPARED,
                      within: set[str] | frozenset[str] | None = None) -> Leaders:
    """The `top` reported diagnoses (certainty at least `threshold`), most severe and most
    certain first, the order the results list them in; only those in `within` if given."""
    evidence = state.evidence
    found = [r for r in index.diagnoses if evidence.get(r.id, 0.0) >= threshold
             and (within is None or r.id in within)]
    found.sort(key=lambda r: (SEVERITY_RANK[r.severity], -evidence[r.id], r.id))
    found = found[:top]
    return Leaders(frozenset(r.id for r in found), found[0].severity if found else None)


def _simulated_answers(index: RuleIndex, fact: Fact) -> list[Any]:
    """Every answer that can make a different rule fire: the choices, one number on each side
    of every threshold, each value a rule tests for equality, and one no rule names."""
    choices = [v for v, _ in fact.answer_choices()]
    if choices:
        return choices
    cache = index.cache.setdefault("simulated_answers", {})
    if fact.name not in cache:
        named = [value for rule in index.order for node in walk(rule.when)
                 if isinstance(node, FactTest) and node.fact == fact.name
                 for op, ref in node.comparisons if op in ("is", "ne", "in")
                 for value in (ref if op == "in" else (ref,))
                 if isinstance(value, (str, int, float)) and not isinstance(value, bool)]
        values = [*_probe_values(index, fact), *dict.fromkeys(named)]
        if fact.type == "string":
            values.append("\x00")  # a text no rule names
        else:
            numbers = [v for v in values if isinstance(v, (int, float))]
            values.append(max(numbers, default=0) + 1)  # beyond every named number
        cache[fact.name] = values
    return cache[fact.name]


def deciding_facts(kb: KnowledgeBase, index: RuleIndex, state: ChainState, skip: set[str],
                   threshold: float = THRESHOLD, top: int = LEADERS_COMPARED) -> set[str]:
    """The facts still worth asking: those with an answer that changes the leading diagnoses.

    `next_question` ranks questions by how much they move certainties, and some movement is
    almost always left, so an interview of "don't know" answers went on through questions that
    could no longer change what the person reads (57 of them from "loss is NaN"). Each
    candidate's answers are simulated the way `next_question` does (re-chaining only what
    depends on the fact); a fact that matters only together with another open question of the
    same rule (the optimizer's kind and its learning rate) is simulated with that partner's
    answers too. Once something is known, only the diagnoses it bears on can lead (MYCIN's
    focus, as in `_spread`), so a question that could only raise an unrelated diagnosis is not
    worth asking either. An empty set means stop asking.
    """
    hypotheses = _hypotheses(index, state)
    score, _best, _parent = _spread(index, state, hypotheses, skip)
    within = _focus(index, state)[1] if state.premise else None
    before = leading_diagnoses(index, state, threshold, top, within)

    def changes(after: ChainState) -> bool:
        return leading_diagnoses(index, after, threshold, top, within) != before

    deciding: set[str] = set()
    for name in score:
        if any(changes(rechain(index, state, name, answer, threshold)[0])
               for answer in _simulated_answers(index, kb.facts[name])):
            deciding.add(name)
    for name in set(score) - deciding:
        if any(_decides_with(kb, index, state, name, partner, threshold, changes)
               for partner in _partners(index, state, name, score)):
            deciding.add(name)
    return deciding


def _partners(index: RuleIndex, state: ChainState, name: str,
              candidates: Mapping[str, float]) -> set[str]:
    """The other open questions of the undecided rules that test `name`, when exactly one is
    left: a pair of answers is cheap to simulate, larger combinations are not."""
    partners = set()
    for pos in index.by_fact.get(name, ()):
        if state.premise.get(pos) is not None:
            continue
        unknown = {f for f in index.inputs_facts[pos] if f not in state.facts and f != name}
        if len(unknown) == 1 and unknown <= candidates.keys():
            partners |= unknown
    return partners


def _decides_with(kb: KnowledgeBase, index: RuleIndex, state: ChainState, name: str,
                  partner: str, threshold: float,
                  changes: Callable[[ChainState], bool]) -> bool:
    """Whether some pair of answers to `name` and `partner` changes the leaders."""
    for answer in _simulated_answers(index, kb.facts[name]):
        after, _ = rechain(index, state, name, answer, threshold)
        for other in _simulated_answers(index, kb.facts[partner]):
            if changes(rechain(index, after, partner, other, threshold)[0]):
                return True
    return False
