"""Numbers as people write them (issue 8 #4), comparison synonyms (#3) and the certainty of an
observation (#6), on every path that reads them: rule files, examples, facts files, reports."""

from __future__ import annotations

import json

import pytest

from advisor.kb import KBError, Location
from advisor.kb.semantics import check_facts
from advisor.kb.yamlsource import parse_yaml

SCIENTIFIC_RULE = """\
rules:
  - id: tiny_rate
    title: Tiny rate
    kind: cause
    severity: warning
    cf: 8e-1
    when: {fact: q.n, lt: 1e-5}
    explanation: Because.
    remedies: [{action: Raise it.}]
    sources: [{ref: 'https://example.org/kb'}]
    examples:
      - given: {q.n: 3e-6}
        expect: fires
        min_cf: 7E-1
      - given: {q.n: 2.5e-5}
        expect: silent
"""


@pytest.fixture
def kb(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    return kbdir


def _problems(kbdir, **kwargs) -> list[str]:
    with pytest.raises(KBError) as info:
        kbdir.load(**kwargs)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("text, number", [
    ("3e-4", 3e-4), ("1e5", 1e5), ("1.0e5", 1e5), ("-2E+3", -2000.0), ("+5e0", 5.0),
    ("1_000e-3", 1.0), (".5", 0.5), ("2.5e-5", 2.5e-5),
])
def test_scientific_notation_reads_as_a_number(text, number):
    assert parse_yaml(f"x: {text}\n", "f.yaml").data == {"x": number}


@pytest.mark.parametrize("text", ["'3e-4'", '"1e5"', "e5", "3e", "1e-", "1e5.0", "v1e5"])
def test_what_is_not_a_plain_number_stays_a_string(text):
    assert isinstance(parse_yaml(f"x: {text}\n", "f.yaml").data["x"], str)


def test_rule_conditions_cf_and_examples_accept_scientific_notation(kb):
    kb.write("rules.yaml", SCIENTIFIC_RULE)
    loaded = kb.load()  # the examples run: 3e-6 < 1e-5 fires, 2.5e-5 stays silent
    rule = loaded.rules["tiny_rate"]
    assert rule.cf == 0.8
    assert rule.when.comparisons == (("lt", 1e-5),)
    assert rule.examples[0].given == {"q.n": 3e-6}
    assert rule.examples[0].min_cf == 0.7


def test_facts_file_and_yaml_report_accept_scientific_notation(advisor, tmp_path):
    (tmp_path / "facts.yaml").write_text("optim.lr: 3e-4\n", encoding="utf-8")
    done = advisor("diagnose", "facts.yaml", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["facts"]["optim.lr"] == 3e-4
    (tmp_path / "report.yaml").write_text("facts:\n  optim.lr: 1e-1\n", encoding="utf-8")
    done = advisor("diagnose", "report.yaml", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["facts"]["optim.lr"] == 0.1


def test_a_quoted_number_stays_a_string_and_says_so(kb):
    loaded = kb.load(check_examples=False)
    doc = parse_yaml("q.n: '3e-4'\n", "facts.yaml")
    [problem] = check_facts(loaded, doc.data, Location("facts.yaml", 1, 1))
    assert problem.message == ("fact 'q.n' is number, got string '3e-4': expected a number; "
                               "write it without quotes")


@pytest.mark.parametrize("written, meant", [
    ("gte", "ge"), ("lte", "le"), ("equals", "is"), ("eq", "is"), ("neq", "ne"), ("GTE", "ge"),
])
def test_comparison_synonyms_are_suggested(kb, where, written, meant):
    path = kb.write("rules.yaml", SCIENTIFIC_RULE.replace("lt: 1e-5", f"{written}: 1e-5"))
    assert _problems(kb) == [
        f"{where(path, 7, 23)}: unknown comparison '{written}' on fact 'q.n'; did you mean "
        f"'{meant}'? (allowed: is, ne, in, gt, ge, lt, le)"]


def test_not_beside_fact_suggests_ne(kb, where):
    path = kb.write("rules.yaml", SCIENTIFIC_RULE.replace("lt: 1e-5", "not: 3"))
    assert _problems(kb) == [
        f"{where(path, 7, 23)}: 'not' beside 'fact' is not a comparison; did you mean 'ne'? "
        "(write {fact: q.n, ne: VALUE})"]


# --- the certainty of an observation: how sure the observer is of the value, in (0, 1] ---

@pytest.mark.parametrize("raw, message", [
    ({"value": 0.5, "cf": -0.5},
     "certainty of 'q.n' is -0.5: the certainty of an observation must be in (0, 1]; to say a "
     "fact is false use its value, and leave out a fact you do not know"),
    ({"value": 0.5, "cf": 0},
     "certainty of 'q.n' is 0: the certainty of an observation must be in (0, 1]; to say a "
     "fact is false use its value, and leave out a fact you do not know"),
    ({"value": None, "cf": 2},
     "certainty of 'q.n' is 2: the certainty of an observation must be in (0, 1]; to say a "
     "fact is false use its value, and leave out a fact you do not know"),
    ({"value": 0.5, "cf": "high"}, "certainty of 'q.n' must be a number in (0, 1], got string "
                                   "'high'"),
    ({"value": 0.5, "certainty": 0.5},
     "unknown key 'certainty' in the observation of 'q.n'; did you mean 'cf'? (an observation "
     "with a certainty is written {value: V, cf: C})"),
    ({"valu": 0.5, "cf": 0.5},
     "unknown key 'valu' in the observation of 'q.n'; did you mean 'value'? (an observation "
     "with a certainty is written {value: V, cf: C})"),
])
def test_bad_observation_certainties_and_keys_are_refused(kb, raw, message):
    loaded = kb.load(check_examples=False)
    problems = check_facts(loaded, {"q.n": raw}, Location("facts.yaml", 1, 1),
                           {"q.n": Location("facts.yaml", 3, 1)})
    assert str(problems[0]) == f"facts.yaml:3:1: {message}"


def test_an_observation_without_value_says_how_to_write_it(kb):
    loaded = kb.load(check_examples=False)
    problems = check_facts(loaded, {"q.n": {"cf": 0.5}}, Location("facts.yaml", 1, 1))
    assert [p.message for p in problems] == [
        "the observation of 'q.n' has no 'value' (write {value: V, cf: C}, or the plain value)"]


def test_good_observations_pass(kb):
    loaded = kb.load(check_examples=False)
    facts = {"q.n": {"value": 0.5, "cf": 0.5}, "s.a": {"value": True, "cf": 1},
             "q.color": {"value": None}, "q.flag": False}
    assert check_facts(loaded, facts, Location("facts.yaml")) == []


def test_a_negative_certainty_in_an_example_is_refused_at_its_line(kb, where):
    path = kb.write("rules.yaml", SCIENTIFIC_RULE.replace(
        "{q.n: 2.5e-5}", "{q.n: {value: 2.5e-5, cf: -0.5}}"))
    assert _problems(kb) == [
        f"{where(path, 15, 17)}: certainty of 'q.n' is -0.5: the certainty of an observation "
        "must be in (0, 1]; to say a fact is false use its value, and leave out a fact you do "
        "not know"]


def test_diagnose_refuses_a_negative_certainty_with_its_location(advisor, tmp_path):
    (tmp_path / "facts.yaml").write_text("optim.lr: {value: 0.5, cf: -0.5}\n", encoding="utf-8")
    done = advisor("diagnose", "facts.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert "facts.yaml:1:1: certainty of 'optim.lr' is -0.5: the certainty of an observation " \
           "must be in (0, 1]" in done.stderr
