"""Backward chaining: which question the engine asks next, and why."""

from __future__ import annotations

import pytest


@pytest.fixture
def ask_kb(kbdir, facts_yaml, rule_yaml):
    """An error hypothesis behind a two-rule chain, a weak info tip, and a dead end.

    q.flag -> flag_seen -> flag_trouble -> big_problem (error); q.n -> many (info);
    q.color only feeds `colour_and_b`, which s.b = false decides before anyone is asked.
    """
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + "".join([
        rule_yaml("flag_seen", {"all": [{"fact": "s.a", "is": True},
                                        {"fact": "q.flag", "is": True}]},
                  cf=0.9, kind="symptom", severity="info",
                  fires={"s.a": True, "q.flag": True}, silent={"s.a": True, "q.flag": False}),
        rule_yaml("flag_trouble", {"rule": "flag_seen"}, cf=0.9, kind="symptom",
                  severity="info", title="Flag trouble",
                  fires={"s.a": True, "q.flag": True}, silent={"s.a": False}),
        rule_yaml("big_problem", {"rule": "flag_trouble"}, cf=0.9, severity="error",
                  title="Big problem", fires={"s.a": True, "q.flag": True},
                  silent={"s.a": False}),
        rule_yaml("many", {"fact": "q.n", "gt": 3}, cf=0.3, severity="info",
                  fires={"q.n": 5}, silent={"q.n": 1}),
        rule_yaml("colour_and_b", {"all": [{"fact": "s.b", "is": True},
                                           {"fact": "q.color", "is": "red"}]},
                  cf=0.9, severity="error",
                  fires={"s.b": True, "q.color": "red"}, silent={"s.b": False}),
    ]))
    return kbdir


def test_asks_the_fact_that_serves_the_open_error_hypothesis(ask_kb):
    engine = ask_kb.engine()
    question = engine.next_question({"s.a": True, "s.b": False})
    assert question is not None
    assert question.fact.name == "q.flag"
    assert question.text == "Is the flag set?"
    assert question.help == "Look at the flag."
    assert question.choices == ((True, "yes"), (False, "no"))
    data = question.to_dict()
    assert data["fact"] == "q.flag"
    assert data["choices"] == [{"value": True, "label": "yes"}, {"value": False, "label": "no"}]


def test_decided_rules_raise_no_questions(ask_kb):
    engine = ask_kb.engine()
    # s.b = false decides colour_and_b, so q.color is irrelevant; q.flag still matters
    asked = []
    facts = {"s.a": True, "s.b": False}
    while (question := engine.next_question(facts)) is not None:
        asked.append(question.fact.name)
        facts[question.fact.name] = question.choices[0][0] if question.choices else 5
    assert asked == ["q.flag", "q.n"]


def test_an_irrelevant_question_is_never_asked_before_a_deciding_one(ask_kb):
    engine = ask_kb.engine()
    # with s.b unknown the colour matters too (an error hypothesis), the info tip's q.n least
    first = engine.next_question({"s.a": True})
    assert first.fact.name in ("q.flag", "q.color")
    assert engine.next_question({"s.a": True, "q.flag": True, "q.color": "red"}).fact.name \
        == "q.n"


def test_skips_known_and_declined_facts_and_ends_with_none(ask_kb):
    engine = ask_kb.engine()
    facts = {"s.a": True, "s.b": False}
    assert engine.next_question(facts, skip=["q.flag"]).fact.name == "q.n"
    assert engine.next_question(facts, skip=["q.flag", "q.n"]) is None
    assert engine.next_question({**facts, "q.flag": False, "q.n": 1}) is None
    # a declined answer ("don't know") may also arrive as an unknown value
    assert engine.next_question({**facts, "q.flag": None}, skip=["q.flag", "q.n"]) is None


def test_measured_only_facts_are_never_asked(ask_kb):
    engine = ask_kb.engine()
    # s.a is measured, not asked: with nothing known the questions are still askable facts
    question = engine.next_question({})
    assert question.fact.ask is not None
    seen = set()
    facts: dict = {}
    while (question := engine.next_question(facts, skip=seen)) is not None:
        seen.add(question.fact.name)
    assert seen <= {"q.flag", "q.n", "q.color"}
    assert "s.a" not in seen and "s.b" not in seen


def test_nothing_open_means_no_question(ask_kb):
    engine = ask_kb.engine()
    facts = {"s.a": False, "s.b": False, "q.n": 1}
    assert engine.next_question(facts) is None


def test_why_names_the_rule_chain_up_to_the_hypothesis(ask_kb):
    kb = ask_kb.load()
    from advisor.engine import Engine

    question = Engine(kb).next_question({"s.a": True, "s.b": False})
    assert question.fact.name == "q.flag"
    assert question.chain == ["flag_seen", "flag_trouble", "big_problem"]
    assert question.hypothesis == "big_problem"
    why = question.why(kb)
    assert "big_problem (Big problem)" in why
    for rid in ("flag_seen", "flag_trouble", "big_problem"):
        assert f"rule {rid} " in why
    assert "'q.flag' is a premise of rule flag_seen" in why
    assert why.startswith("I am trying to establish whether big_problem (Big problem) holds.")


def test_a_deciding_question_beats_one_that_cannot_change_anything(kbdir, facts_yaml,
                                                                  rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + "".join([
        # already certain: q.n can only add evidence to a conclusion that is settled
        rule_yaml("settled", {"any": [{"fact": "s.a", "is": True}, {"fact": "q.n", "gt": 3}]},
                  cf=1.0, severity="error", fires={"s.a": True}, silent={"s.a": False}),
        rule_yaml("open_warning", {"fact": "q.color", "is": "red"}, cf=0.4, severity="warning",
                  fires={"q.color": "red"}, silent={"q.color": "blue"}),
    ]))
    engine = kbdir.engine()
    question = engine.next_question({"s.a": True})
    assert question.fact.name == "q.color"
    assert question.hypothesis == "open_warning"
    assert engine.next_question({"s.a": True, "q.color": "blue"}) is None


def test_enum_question_offers_the_catalogue_choices(kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + rule_yaml(
        "red", {"fact": "q.color", "is": "red"}, fires={"q.color": "red"},
        silent={"q.color": "blue"}))
    question = kbdir.engine().next_question({})
    assert question.fact.name == "q.color"
    assert question.choices == (("red", "Red"), ("green", "Green"), ("blue", "Blue"))


# ------------------------------------------------------------------ when to stop asking
def _deciding(engine, facts, skip=()):
    from advisor.engine.backward import deciding_facts

    state = engine.chain(facts)
    return deciding_facts(engine.kb, engine.index, state, set(skip) | set(facts),
                          engine.threshold)


def test_questions_are_exhausted_once_no_answer_can_change_the_leaders(ask_kb):
    engine = ask_kb.engine()
    facts = {"s.a": True, "s.b": False, "q.flag": True}
    # big_problem (error) leads, with its two info steps: q.n can only add a weak info tip
    # below them, so it still moves a certainty but can no longer change the top three
    assert engine.next_question(facts).fact.name == "q.n"
    assert _deciding(engine, facts) == set()
    from advisor.engine.backward import leading_diagnoses

    leaders = leading_diagnoses(engine.index, engine.chain(facts))
    assert leaders.ids == {"big_problem", "flag_trouble", "flag_seen"}
    assert leaders.first_severity == "error"


def test_a_question_that_can_change_the_leaders_is_still_asked(ask_kb):
    engine = ask_kb.engine()
    # q.flag = true would bring the error big_problem to the top
    assert _deciding(engine, {"s.a": True, "s.b": False}) == {"q.flag"}
    # declined: q.n could only raise `many`, a tip nothing known bears on: stop
    assert _deciding(engine, {"s.a": True, "s.b": False}, skip={"q.flag"}) == set()
    # with nothing known yet, the tip would be a leader of its own
    assert _deciding(engine, {}, skip={"q.flag", "q.color"}) == {"q.n"}


def test_a_fact_that_decides_only_with_another_open_question_is_still_asked(
        kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + rule_yaml(
        "red_and_many", {"all": [{"fact": "q.color", "is": "red"}, {"fact": "q.n", "gt": 3}]},
        severity="warning", fires={"q.color": "red", "q.n": 5}, silent={"q.n": 1}))
    engine = kbdir.engine()
    # neither answer alone fires the rule; the two together do
    assert _deciding(engine, {}) == {"q.color", "q.n"}
    assert _deciding(engine, {"q.color": "blue"}) == set()


def test_a_number_or_text_fact_is_simulated_on_each_side_of_its_tests(kbdir, facts_yaml,
                                                                      rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + rule_yaml(
        "exactly_four", {"fact": "q.n", "is": 4}, severity="warning",
        fires={"q.n": 4}, silent={"q.n": 1}))
    engine = kbdir.engine()
    assert _deciding(engine, {}) == {"q.n"}
    assert _deciding(engine, {}, skip={"q.n"}) == set()
