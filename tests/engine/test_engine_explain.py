"""Explanations: the "how" tree of a conclusion, its text form and the evidence list."""

from __future__ import annotations

import pytest

from advisor.report import render_text


@pytest.fixture
def explain_kb(kbdir, facts_yaml, rule_yaml):
    """Typical rule shapes: a symptom, a cause built on it and a fact, a second cause."""
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + "".join([
        rule_yaml("loss_diverging", {"any": [{"fact": "q.color", "in": ["red", "green"]},
                                             {"fact": "s.c", "is": True}]},
                  cf=0.9, kind="symptom", severity="warning", title="Loss diverging",
                  fires={"s.c": True}, silent={"s.c": False, "q.color": "blue"}),
        rule_yaml("exploding_gradients",
                  {"all": [{"rule": "loss_diverging"},
                           {"not": {"fact": "s.b", "is": True}},
                           {"fact": "q.n", "ge": 0.01}]},
                  cf=0.8, severity="error", title="Exploding gradients",
                  fires={"s.c": True, "s.b": False, "q.n": 0.5},
                  silent={"s.c": True, "s.b": True, "q.n": 0.5}),
        rule_yaml("lr_too_high", {"all": [{"rule": "exploding_gradients"},
                                          {"fact": "s.a", "is": True}]},
                  cf=0.7, severity="error", title="Learning rate too high",
                  fires={"s.c": True, "s.b": False, "q.n": 0.5, "s.a": True},
                  silent={"s.c": True, "s.b": False, "q.n": 0.5, "s.a": False}),
    ]))
    return kbdir


FACTS = {"s.a": True, "s.b": False, "s.c": True, "q.color": "blue", "q.n": 0.5,
         "s.label": "unused"}


def test_explanation_tree_of_a_chained_conclusion(explain_kb):
    engine = explain_kb.engine()
    result = engine.diagnose(FACTS)
    lr = result.get("lr_too_high")
    assert lr.certainty == pytest.approx(0.9 * 0.8 * 0.7)
    how = lr.explanation.to_dict()
    assert how["conclusion"] == "lr_too_high"
    [firing] = how["firings"]
    assert firing["rule"] == "lr_too_high"
    assert firing["premise_certainty"] == pytest.approx(0.72)
    assert firing["contribution"] == pytest.approx(0.504)
    premise = firing["premise"]
    assert premise["kind"] == "all"
    assert [c["kind"] for c in premise["children"]] == ["rule", "fact"]
    assert premise["children"][0] == {"kind": "rule", "label": "exploding_gradients",
                                      "certainty": 0.72, "rule": "exploding_gradients"}
    assert premise["children"][1]["fact"] == "s.a"
    assert premise["children"][1]["value"] is True
    # the conclusion it used is explained in turn, down to the facts
    exploding = how["supports"]["exploding_gradients"]
    assert exploding["certainty"] == pytest.approx(0.72)
    inner = exploding["firings"][0]["premise"]["children"]
    assert [c["kind"] for c in inner] == ["rule", "not", "fact"]
    assert inner[1]["certainty"] == 1.0 and inner[1]["children"][0]["certainty"] == -1.0
    diverging = exploding["supports"]["loss_diverging"]
    branches = diverging["firings"][0]["premise"]["children"]
    assert [(b["fact"], b["certainty"]) for b in branches] == [("q.color", -1.0), ("s.c", 1.0)]
    assert diverging["supports"] == {}
    # Engine.explain gives the same tree
    assert engine.explain(FACTS, "lr_too_high").to_dict() == how


def test_evidence_lists_the_observed_facts_that_held(explain_kb):
    result = explain_kb.engine().diagnose(FACTS)
    evidence = result.get("lr_too_high").evidence
    by_fact = {e["fact"]: e for e in evidence}
    # the facts that spoke for it, nested conclusions included; q.color (false branch of an
    # `any`) and s.label (used by no rule) did not
    assert set(by_fact) == {"s.a", "s.b", "s.c", "q.n"}
    assert by_fact["s.a"] == {"fact": "s.a", "value": True, "test": "s.a = yes",
                              "certainty": 1.0}
    assert by_fact["s.b"]["test"] == "not s.b = yes"
    assert by_fact["s.b"]["value"] is False
    assert by_fact["q.n"]["test"] == "q.n >= 0.01"
    assert {e["fact"] for e in result.get("loss_diverging").evidence} == {"s.c"}


def test_evidence_keeps_the_observation_certainty(explain_kb):
    facts = {**FACTS, "s.c": {"value": True, "cf": 0.7}}
    result = explain_kb.engine().diagnose(facts)
    by_fact = {e["fact"]: e for e in result.get("exploding_gradients").evidence}
    assert by_fact["s.c"]["certainty"] == 0.7
    assert by_fact["s.c"]["value"] is True


def test_explanation_text_reads_as_a_tree_within_80_columns(explain_kb):
    result = explain_kb.engine().diagnose(FACTS)
    text = result.get("lr_too_high").explanation.text()
    lines = text.splitlines()
    assert lines[0] == "lr_too_high: certainty 0.50"
    assert lines[1].startswith("  <- rule lr_too_high (rule cf +0.70) premise 0.72 => +0.50")
    assert "where" in text
    assert "exploding_gradients: certainty 0.72" in text
    assert "loss_diverging: certainty 0.90" in text
    assert "s.a = yes  [observed True; +1.00]" in text
    assert "q.color in [red, green]  [observed blue; -1.00]" in text
    assert max(len(line) for line in lines) <= 80
    # the text report with explanations fits too
    report = render_text(result, explain=True)
    assert max(len(line) for line in report.splitlines()) <= 80
    assert "How it was concluded:" in report


def test_explanation_of_an_unknown_conclusion_is_empty(explain_kb):
    engine = explain_kb.engine()
    expl = engine.explain({}, "lr_too_high")
    assert expl.firings == [] and expl.supports == {} and expl.certainty == 0.0
    assert expl.text() == "lr_too_high: certainty 0.00"


def test_result_to_dict_is_json_ready(explain_kb):
    import json

    result = explain_kb.engine().diagnose(FACTS)
    data = json.loads(json.dumps(result.to_dict()))
    # the root cause first; each symptom it used as evidence follows, naming what explains it
    assert [d["id"] for d in data["diagnoses"]] == ["lr_too_high", "exploding_gradients",
                                                   "loss_diverging"]
    assert [d["explained_by"] for d in data["diagnoses"]] == [[], ["lr_too_high"],
                                                             ["exploding_gradients"]]
    first = data["diagnoses"][0]
    assert set(first) >= {"id", "title", "kind", "severity", "certainty", "evidence",
                          "remedies", "explanation", "sources", "how"}
    assert first["remedies"] == [{"action": "Fix it.", "detail": "", "sources": []}]
    assert first["sources"] == ["https://example.org/kb"]
    assert data["facts"] == FACTS
