"""Forward chaining over small knowledge bases written to real YAML files."""

from __future__ import annotations

import json

import pytest

from advisor.engine import Engine


@pytest.fixture
def chain_kb(kbdir, facts_yaml, rule_yaml):
    """fact -> r1 -> r2 -> r3 -> r4 -> r5, written top-down so file order is not rule order."""
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + "".join([
        rule_yaml("r5", {"rule": "r4"}, cf=0.9, severity="error",
                  fires={"s.a": True}, silent={"s.a": False}),
        rule_yaml("r4", {"rule": "r3"}, cf=0.6, severity="warning",
                  fires={"s.a": True}, silent={"s.a": False}),
        rule_yaml("r3", {"rule": "r2"}, cf=0.7, severity="warning",
                  fires={"s.a": True}, silent={"s.a": False}),
        rule_yaml("r2", {"rule": "r1"}, cf=0.8, kind="symptom", severity="info",
                  fires={"s.a": True}, silent={"s.a": False}),
        rule_yaml("r1", {"fact": "s.a", "is": True}, cf=0.9, kind="symptom", severity="info",
                  fires={"s.a": True}, silent={"s.a": False}),
    ]))
    return kbdir


def test_depth_five_chain_multiplies_certainties(chain_kb):
    engine = chain_kb.engine()
    result = engine.diagnose({"s.a": True})
    expected = {"r1": 0.9}
    expected["r2"] = expected["r1"] * 0.8
    expected["r3"] = expected["r2"] * 0.7
    expected["r4"] = expected["r3"] * 0.6
    expected["r5"] = expected["r4"] * 0.9
    assert expected["r5"] == pytest.approx(0.27216)
    for rid, cf in expected.items():
        assert result.certainties[rid] == pytest.approx(cf)
        assert result.get(rid).certainty == pytest.approx(cf)
    # errors first, then warnings by certainty, then info by certainty
    assert [c.id for c in result.diagnoses] == ["r5", "r3", "r4", "r1", "r2"]


def test_evaluation_order_follows_the_graph_not_the_file(chain_kb):
    engine = chain_kb.engine()
    assert [r.id for r in engine.index.order] == ["r1", "r2", "r3", "r4", "r5"]


def test_chain_attenuates_below_the_threshold(chain_kb):
    engine = chain_kb.engine()
    state = engine.chain({"s.a": {"value": True, "cf": 0.5}})
    assert state.evidence["r1"] == pytest.approx(0.45)
    assert state.evidence["r2"] == pytest.approx(0.36)
    assert state.evidence["r3"] == pytest.approx(0.252)
    assert state.evidence["r4"] == pytest.approx(0.1512)
    # r5's premise (0.1512) is at or below 0.2: it does not fire; it was decided, so r5 is out
    assert "r5" not in state.evidence
    assert "r5" in state.ruled_out
    result = engine.diagnose({"s.a": {"value": True, "cf": 0.5}})
    # r4 is concluded with 0.15 < 0.2: below the reporting threshold
    assert [c.id for c in result.diagnoses] == ["r3", "r1", "r2"]


def test_chain_negative_observation_rules_everything_out(chain_kb):
    state = chain_kb.engine().chain({"s.a": False})
    assert state.evidence == {}
    assert state.ruled_out == {"r1", "r2", "r3", "r4", "r5"}


def test_chain_with_unknown_fact_stays_unknown(chain_kb):
    state = chain_kb.engine().chain({"s.b": True})
    assert state.evidence == {}
    assert state.ruled_out == set()
    assert chain_kb.engine().diagnose({}).diagnoses == []


@pytest.fixture
def combined_kb(kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + "".join([
        rule_yaml("main", {"fact": "s.a", "is": True}, cf=0.6,
                  fires={"s.a": True}, silent={"s.a": False}),
        rule_yaml("main_more", {"fact": "s.b", "is": True}, cf=0.5, concludes="main",
                  fires={"s.b": True}, silent={"s.b": False}),
        rule_yaml("main_against", {"fact": "s.c", "is": True}, cf=-0.5, concludes="main",
                  fires={"s.c": True, "s.a": True, "s.b": True},
                  silent={"s.c": False}),
        rule_yaml("uses_main", {"rule": "main"}, cf=1.0, severity="warning",
                  fires={"s.a": True}, silent={"s.a": False}),
    ]))
    return kbdir


def test_several_rules_for_one_conclusion_combine(combined_kb):
    engine = combined_kb.engine()
    result = engine.diagnose({"s.a": True, "s.b": True})
    main = result.get("main")
    assert main.certainty == pytest.approx(0.6 + 0.5 * (1 - 0.6))  # 0.8
    assert [f.rule.id for f in main.explanation.firings] == ["main", "main_more"]
    # a rule that `concludes` another is not a diagnosis of its own
    assert result.get("main_more") is None
    assert result.get("uses_main").certainty == pytest.approx(0.8)


def test_negative_evidence_lowers_the_certainty(combined_kb):
    engine = combined_kb.engine()
    result = engine.diagnose({"s.a": True, "s.b": True, "s.c": True})
    assert result.get("main").certainty == pytest.approx((0.8 - 0.5) / (1 - 0.5))  # 0.6
    contributions = {f.rule.id: f.contribution for f in result.get("main").explanation.firings}
    assert contributions == pytest.approx({"main": 0.6, "main_more": 0.5, "main_against": -0.5})


def test_negative_evidence_alone_is_not_a_diagnosis(combined_kb):
    engine = combined_kb.engine()
    state = engine.chain({"s.c": True})
    assert state.evidence["main"] == pytest.approx(-0.5)
    result = engine.diagnose({"s.c": True})
    assert result.diagnoses == []
    assert result.certainties["main"] == pytest.approx(-0.5)


def test_evidence_below_the_threshold_is_not_reported(combined_kb):
    # 0.5 x 0.6 = 0.3 for, 0.5 x -0.5 = -0.25 against: (0.3 - 0.25) / 0.75 = 0.067 < 0.2
    engine = combined_kb.engine()
    result = engine.diagnose({"s.a": {"value": True, "cf": 0.5},
                              "s.c": {"value": True, "cf": 0.5}})
    assert result.certainties["main"] == pytest.approx((0.3 - 0.25) / (1 - 0.25))
    assert result.get("main") is None
    assert result.get("uses_main") is None  # its premise 0.067 is too weak to fire


@pytest.fixture
def ref_kb(kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + "".join([
        rule_yaml("x", {"fact": "s.a", "is": True}, cf=0.9, kind="symptom",
                  fires={"s.a": True}, silent={"s.a": False}),
        rule_yaml("x_too", {"all": [{"fact": "s.b", "is": True}, {"fact": "q.flag", "is": True}]},
                  cf=0.5, concludes="x",
                  fires={"s.b": True, "q.flag": True}, silent={"s.b": False}),
        rule_yaml("without_x", {"not": {"rule": "x"}}, cf=0.7, severity="warning",
                  fires={"s.a": False, "s.b": False}, silent={"s.a": True}),
        rule_yaml("with_x", {"rule": "x"}, cf=0.8, severity="warning",
                  fires={"s.a": True}, silent={"s.a": False, "s.b": False}),
        rule_yaml("not_a", {"not": {"fact": "s.a", "is": True}}, cf=0.6, severity="info",
                  fires={"s.a": False}, silent={"s.a": True}),
    ]))
    return kbdir


def test_not_of_an_unknown_fact_does_not_fire(ref_kb):
    engine = ref_kb.engine()
    assert engine.diagnose({}).get("not_a") is None
    state = engine.chain({"s.b": True})
    assert "not_a" not in state.evidence and "not_a" not in state.ruled_out
    assert engine.diagnose({"s.a": False}).get("not_a").certainty == pytest.approx(0.6)


def test_rule_reference_ruled_out_when_every_rule_for_it_was_decided(ref_kb):
    engine = ref_kb.engine()
    state = engine.chain({"s.a": False, "s.b": False})
    assert "x" in state.ruled_out
    result = engine.diagnose({"s.a": False, "s.b": False})
    # not(-1) = +1: without_x fires at full strength
    assert result.get("without_x").certainty == pytest.approx(0.7)
    assert result.get("with_x") is None
    assert "with_x" in state.ruled_out


def test_rule_reference_unknown_while_one_rule_for_it_is_undecided(ref_kb):
    engine = ref_kb.engine()
    # x's own rule is decided false, but x_too still waits for s.b / q.flag
    state = engine.chain({"s.a": False})
    assert "x" not in state.ruled_out and "x" not in state.evidence
    assert "without_x" not in state.evidence and "without_x" not in state.ruled_out
    assert engine.diagnose({"s.a": False}).get("without_x") is None
    # partly known, still open: s.b is true but q.flag is unknown
    state = engine.chain({"s.a": False, "s.b": True})
    assert "x" not in state.ruled_out and "x" not in state.evidence


def test_rule_reference_concluded_by_the_other_rule(ref_kb):
    engine = ref_kb.engine()
    result = engine.diagnose({"s.a": False, "s.b": True, "q.flag": True})
    assert result.certainties["x"] == pytest.approx(0.5)
    assert result.get("with_x").certainty == pytest.approx(0.4)
    assert result.get("without_x") is None


def test_fact_test_operators(kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + "".join([
        rule_yaml("band", {"fact": "q.n", "ge": 0.1, "le": 0.5}, cf=1.0),
        rule_yaml("exact", {"fact": "q.n", "is": 3}, cf=1.0),
        rule_yaml("not_red", {"fact": "q.color", "ne": "red"}, cf=1.0),
        rule_yaml("warm", {"fact": "q.color", "in": ["red", "green"]}, cf=1.0),
        rule_yaml("big", {"fact": "q.n", "gt": 10}, cf=1.0),
        rule_yaml("small", {"fact": "q.n", "lt": 0}, cf=1.0),
        rule_yaml("named", {"fact": "s.label", "is": "resnet"}, cf=1.0),
    ]))
    engine = kbdir.engine(check_examples=False)

    def fired(facts):
        return {c.id for c in engine.diagnose(facts).diagnoses}

    assert fired({"q.n": 0.3}) == {"band"}
    assert fired({"q.n": 0.5}) == {"band"}
    assert fired({"q.n": 0.6}) == set()
    assert fired({"q.n": 3}) == {"exact"}
    assert fired({"q.n": 3.0}) == {"exact"}  # numbers compare by value
    assert fired({"q.n": 11}) == {"big"}
    assert fired({"q.n": -1}) == {"small"}
    assert fired({"q.color": "green"}) == {"not_red", "warm"}
    assert fired({"q.color": "red"}) == {"warm"}
    assert fired({"q.color": "blue"}) == {"not_red"}
    assert fired({"s.label": "resnet"}) == {"named"}
    # a value of the wrong type cannot be compared: unknown, neither fired nor ruled out
    state = engine.chain({"q.n": "many"})
    assert not state.evidence and "big" not in state.ruled_out
    # a bool is not the number 1
    assert fired({"q.n": True}) == set()


def test_observation_certainty_scales_the_premise(kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + rule_yaml(
        "r", {"all": [{"fact": "s.a", "is": True}, {"fact": "s.b", "is": True}]}, cf=0.5,
        fires={"s.a": True, "s.b": True}, silent={"s.a": True, "s.b": False}))
    engine = kbdir.engine()
    result = engine.diagnose({"s.a": {"value": True, "cf": 0.6}, "s.b": True})
    assert result.get("r").certainty == pytest.approx(0.3)  # min(0.6, 1.0) x 0.5
    assert result.get("r").explanation.firings[0].premise == pytest.approx(0.6)
    # exactly at the threshold does not fire; just above does
    state = engine.chain({"s.a": {"value": True, "cf": 0.2}, "s.b": True})
    assert "r" in state.ruled_out
    state = engine.chain({"s.a": {"value": True, "cf": 0.21}, "s.b": True})
    assert state.evidence["r"] == pytest.approx(0.105)
    # "don't know": a None value or a zero certainty leaves the fact unknown
    for unknown in (None, {"value": None}, {"value": True, "cf": 0}):
        state = engine.chain({"s.a": unknown, "s.b": True})
        assert "r" not in state.ruled_out and "r" not in state.evidence


def test_unknown_fact_names_are_listed_not_used(chain_kb):
    result = chain_kb.engine().diagnose({"s.a": True, "no.such": 1, "alpha": "x"})
    assert result.unknown_facts == ["alpha", "no.such"]
    assert result.get("r1") is not None
    assert result.to_dict()["unknown_facts"] == ["alpha", "no.such"]


def test_same_facts_give_identical_results(combined_kb):
    facts = {"s.a": True, "s.b": {"value": True, "cf": 0.7}, "s.c": True}
    first = combined_kb.engine().diagnose(facts).to_dict()
    engine = combined_kb.engine()
    for _ in range(3):
        assert engine.diagnose(facts).to_dict() == first
    # the order the facts are listed in does not matter either
    reordered = dict(reversed(list(facts.items())))
    again = engine.diagnose(reordered).to_dict()
    assert json.dumps(again, sort_keys=True) == json.dumps(first, sort_keys=True)


def _firings_sorted(data):
    """to_dict() with firings and evidence in name order: their order follows the files."""
    if isinstance(data, dict):
        out = {k: _firings_sorted(v) for k, v in data.items()}
        if "firings" in out:
            out["firings"] = sorted(out["firings"], key=lambda f: f["rule"])
        if "evidence" in out:
            out["evidence"] = sorted(out["evidence"], key=lambda e: e["fact"])
        return out
    if isinstance(data, list):
        return [_firings_sorted(v) for v in data]
    return data


def test_rule_file_order_does_not_change_the_diagnosis(new_kbdir, facts_yaml, rule_yaml):
    rules = {
        "one": rule_yaml("main", {"fact": "s.a", "is": True}, cf=0.6,
                         fires={"s.a": True}, silent={"s.a": False}),
        "two": rule_yaml("main_more", {"fact": "s.b", "is": True}, cf=0.5, concludes="main",
                         fires={"s.b": True}, silent={"s.b": False})
        + rule_yaml("other", {"any": [{"rule": "main"}, {"fact": "s.c", "is": True}]},
                    cf=0.9, severity="warning", fires={"s.c": True}, silent={"s.c": False}),
        "three": rule_yaml("main_against", {"fact": "s.c", "is": True}, cf=-0.3,
                           concludes="main", fires={"s.c": True, "s.a": True},
                           silent={"s.c": False}),  # a rule against needs support to "fire"
    }
    facts = {"s.a": True, "s.b": True, "s.c": {"value": True, "cf": 0.9}}
    results = []
    for order in (["one", "two", "three"], ["three", "two", "one"], ["two", "three", "one"]):
        kb = new_kbdir("_".join(order))
        kb.write("facts.yaml", facts_yaml)
        for i, name in enumerate(order):
            kb.write(f"{i}_{name}.yaml", "rules:\n" + rules[name])
        results.append(Engine(kb.load()).diagnose(facts).to_dict())
    # `other` used `main` as evidence, so the cause comes first and `main` says so
    assert [d["id"] for d in results[0]["diagnoses"]] == ["other", "main"]
    assert results[0]["diagnoses"][1]["explained_by"] == ["other"]
    for other in results[1:]:
        assert _firings_sorted(other) == _firings_sorted(results[0])


def test_unusable_observation_certainty_is_unknown_and_out_of_range_is_clipped(chain_kb):
    engine = chain_kb.engine()
    for cf in ("high", None, [0.5], True, float("nan")):
        state = engine.chain({"s.a": {"value": True, "cf": cf}})
        assert state.evidence == {} and state.ruled_out == set(), cf
    state = engine.chain({"s.a": {"value": True, "cf": 5}})
    assert state.evidence["r1"] == pytest.approx(0.9)
    state = engine.chain({"s.a": {"value": True, "cf": 10**400}})
    assert state.evidence["r1"] == pytest.approx(0.9)


def test_warnings_for_rules_that_can_never_fire(kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml + "  - {name: s.nobody, type: bool, meaning: Nothing "
                                           "fills it.}\n")
    kbdir.write("rules.yaml", "rules:\n" + rule_yaml(
        "orphan", {"fact": "s.nobody", "is": True}, fires={"s.nobody": True},
        silent={"s.nobody": False}) + rule_yaml(
        "lonely_tip", {"fact": "s.a", "is": True}, kind="symptom", severity="info",
        fires={"s.a": True}, silent={"s.a": False}))
    kb = kbdir.load()
    messages = [(p.level, p.message) for p in kb.warnings]
    assert ("warning", "rule 'orphan' can never fire: no fact it needs is measured or asked") \
        in messages
    assert ("warning", "conclusion 'lonely_tip' is an info-level symptom that no rule uses") \
        in messages
    assert ("info", "fact 'q.n' is used by no rule") in messages


def test_symptoms_a_reported_cause_explains_rank_after_unexplained_findings(new_kbdir, facts_yaml,
                                                                             rule_yaml):
    kb = new_kbdir("explained")
    kb.write("facts.yaml", facts_yaml)
    kb.write("rules.yaml", "rules:\n"
             + rule_yaml("diverges", {"fact": "s.a", "is": True}, cf=0.9, kind="symptom",
                         fires={"s.a": True}, silent={"s.a": False})
             + rule_yaml("high_lr", {"all": [{"rule": "diverges"}, {"fact": "s.b", "is": True}]},
                         cf=0.6, severity="warning", fires={"s.a": True, "s.b": True},
                         silent={"s.a": True, "s.b": False})
             + rule_yaml("tip", {"fact": "s.b", "is": True}, cf=0.9, severity="info",
                         fires={"s.b": True}, silent={"s.b": False}))
    engine = Engine(kb.load())
    ranked = engine.diagnose({"s.a": True, "s.b": True}).diagnoses
    assert [c.id for c in ranked] == ["high_lr", "diverges", "tip"]
    assert ranked[1].explained_by == ["high_lr"] and ranked[0].explained_by == []
    # without the cause the symptom is unexplained and leads again
    alone = engine.diagnose({"s.a": True, "s.b": False}).diagnoses
    assert [c.id for c in alone] == ["diverges"] and alone[0].explained_by == []
