"""Every loader complaint names the exact file:line:col where the problem was written."""

from __future__ import annotations

import pytest

from advisor.kb import KBError, Problem, load_kb

# A valid rule; line numbers below count from "rules:" = line 1.
GOOD_RULE = """\
rules:
  - id: good_rule
    title: A good rule
    kind: cause
    severity: error
    cf: 0.8
    when:
      all:
        - {fact: s.a, is: true}
        - {fact: q.color, in: [red, green]}
    explanation: Because.
    remedies:
      - action: Fix it.
    sources:
      - ref: https://example.org/kb
    examples:
      - given: {s.a: true, q.color: red}
        expect: fires
      - given: {s.a: true, q.color: blue}
        expect: silent
"""


def problems_of(kbdir, **kwargs) -> list[Problem]:
    with pytest.raises(KBError) as info:
        kbdir.load(**kwargs)
    problems = info.value.problems
    assert problems, "a KBError always lists its problems"
    assert str(info.value) == "\n".join(str(p) for p in problems)
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


@pytest.fixture
def kb(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    return kbdir


def test_the_good_rule_loads(kb):
    kb.write("rules.yaml", GOOD_RULE)
    loaded = kb.load()
    assert list(loaded.rules) == ["good_rule"]
    rule = loaded.rules["good_rule"]
    assert rule.location.line == 2 and rule.location.col == 5
    assert [ex.location.line for ex in rule.examples] == [17, 19]


def test_yaml_syntax_error(kb, where):
    path = kb.write("rules.yaml", """\
        rules:
          - id: broken
            title: Broken
           kind: cause
        """)
    problem = only(problems_of(kb))
    assert str(problem).startswith(f"{where(path, 4, 4)}: YAML: ")
    assert "expected <block end>" in problem.message


def test_yaml_tab_indentation(kb, where):
    path = kb.write("rules.yaml", "rules:\n\t- id: tabbed\n")
    problem = only(problems_of(kb))
    assert str(problem) == (f"{where(path, 2, 1)}: YAML: a tab in the indentation; use spaces "
                            "for indentation, not tabs")


def test_yaml_duplicate_key(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("    cf: 0.8\n", "    cf: 0.8\n    cf: 0.7\n"))
    problem = only(problems_of(kb))
    assert str(problem) == f"{where(path, 7, 5)}: YAML: duplicate key 'cf'"


def test_unknown_field_with_did_you_mean(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("    severity: error", "    severty: error"))
    problems = problems_of(kb)
    messages = {str(p) for p in problems}
    assert any(m.startswith(f"{where(path, 5, 5)}: unknown field 'severty' in rule 'good_rule'; "
                            "did you mean 'severity'?") for m in messages), messages
    # and the field it was meant to be is reported missing, at the rule
    assert (f"{where(path, 2, 5)}: rule 'good_rule' is missing the required field 'severity'"
            in messages)
    assert len(problems) == 2


def test_unknown_field_in_a_fact(kbdir, where):
    path = kbdir.write("facts.yaml", """\
        facts:
          - name: s.a
            type: bool
            meaning: A flag.
            mesured: by the probe
        """)
    problem = only(problems_of(kbdir))
    assert str(problem).startswith(f"{where(path, 5, 5)}: unknown field 'mesured' in fact 's.a'; "
                                   "did you mean 'measured'?")


def test_wrong_type(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("cf: 0.8", "cf: high"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 6, 9)}: 'cf' must be a number, got string 'high'")


def test_value_out_of_range_and_bad_choice(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("cf: 0.8", "cf: 1.5")
                    .replace("severity: error", "severity: eror"))
    problems = [str(p) for p in problems_of(kb)]
    assert problems == [
        f"{where(path, 5, 15)}: 'severity' must be one of error, warning, info; got string "
        "'eror'; did you mean 'error'?",
        f"{where(path, 6, 9)}: 'cf' must be at most 1, got 1.5",
    ]


def test_unknown_fact_in_a_condition(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("{fact: s.a, is: true}",
                                                    "{fact: s.aa, is: true}"))
    assert str(only(problems_of(kb, check_examples=False))) == (
        f"{where(path, 9, 11)}: unknown fact 's.aa'; did you mean 's.a'?; declare it under "
        "'facts:'")


def test_value_outside_the_enum(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("in: [red, green]", "in: [red, gren]"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 10, 11)}: string 'gren' is not a value of enum fact 'q.color' "
        "(allowed: red, green, blue); did you mean 'green'?")


def test_value_outside_the_enum_in_an_example(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("{s.a: true, q.color: blue}",
                                                    "{s.a: true, q.color: purple}"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 19, 28)}: string 'purple' is not a value of enum fact 'q.color' "
        "(allowed: red, green, blue)")


def test_comparison_that_does_not_fit_the_fact(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("{fact: s.a, is: true}",
                                                    "{fact: s.a, gt: 3}"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 9, 11)}: 'gt' needs a number fact; 's.a' is bool")


def test_unknown_condition_key_with_did_you_mean(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("{fact: s.a, is: true}",
                                                    "{fatc: s.a, is: true}"))
    problem = only(problems_of(kb))
    assert str(problem).startswith(f"{where(path, 9, 12)}: unknown condition key 'fatc'; "
                                   "did you mean 'fact'?")


def test_unknown_comparison(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("{fact: s.a, is: true}",
                                                    "{fact: s.a, iss: true}"))
    problem = only(problems_of(kb))
    assert str(problem).startswith(f"{where(path, 9, 23)}: unknown comparison 'iss' on fact 's.a'; "
                                   "did you mean 'is'?")


def test_unknown_rule_reference(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("- {fact: s.a, is: true}",
                                                    "- {rule: good_rul}"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 9, 11)}: unknown rule 'good_rul' in the condition of 'good_rule'; "
        "did you mean 'good_rule'?")


def test_concludes_an_unknown_rule(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("    remedies:", "    concludes: nothing\n"
                                                    "    remedies:"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 2, 5)}: 'good_rule' concludes unknown rule 'nothing'")


def test_duplicate_rule_id_names_both_files(kb, where):
    first = kb.write("a_rules.yaml", GOOD_RULE)
    second = kb.write("b_rules.yaml", GOOD_RULE.replace("A good rule", "Another good rule"))
    problem = only(problems_of(kb))
    assert str(problem) == (
        f"{where(second, 2, 5)}: duplicate rule id 'good_rule': already defined at "
        f"{where(first, 2, 5)}; rename it, or add 'replaces: true' to a user rule that "
        "deliberately replaces a built-in one")


def test_duplicate_fact_name_names_both_files(kb, where, facts_yaml):
    second = kb.write("more_facts.yaml", """\
        facts:
          - name: q.n
            type: number
            meaning: Again.
            measured: twice
        """)
    problem = only(problems_of(kb))
    assert str(problem).startswith(f"{where(second, 2, 5)}: duplicate fact name 'q.n': already "
                                   f"defined at {where(kb.path / 'facts.yaml', 20, 5)}")


SECOND_RULE = """\
  - id: second
    title: Second
    kind: symptom
    severity: info
    cf: 0.5
    when: {any: [{rule: good_rule}, {fact: s.b, is: true}]}
    explanation: Because.
    sources: [{ref: https://example.org/kb}]
    examples:
      - {given: {s.b: true}, expect: fires}
      - {given: {s.b: false}, expect: silent}
"""


def test_cycle(kb, where):
    # good_rule uses second, second uses good_rule
    text = GOOD_RULE.replace("- {fact: q.color, in: [red, green]}", "- {rule: second}")
    path = kb.write("rules.yaml", text + SECOND_RULE)
    assert str(only(problems_of(kb))) == (
        f"{where(path, 2, 5)}: rules depend on each other in a cycle: good_rule -> second -> "
        "good_rule; a conclusion cannot be evidence for itself")


def test_self_reference_is_a_cycle(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("- {fact: q.color, in: [red, green]}",
                                                    "- {rule: good_rule}"))
    assert str(only(problems_of(kb))).startswith(
        f"{where(path, 2, 5)}: rules depend on each other in a cycle: good_rule -> good_rule")


def test_an_example_that_does_not_hold(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("{s.a: true, q.color: blue}",
                                                    "{s.a: true, q.color: green}"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 19, 9)}: example of rule 'good_rule' should stay silent, but 'good_rule' "
        "has certainty 0.80")


def test_an_example_below_its_min_cf(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace(
        "        expect: fires\n",
        "        expect: fires\n        min_cf: 0.9\n        name: strong\n"))
    assert str(only(problems_of(kb))) == (
        f"{where(path, 17, 9)}: example 'strong' of rule 'good_rule' should fire with certainty "
        ">= 0.9, but 'good_rule' has certainty 0.80")


def test_examples_need_both_outcomes(kb, where):
    path = kb.write("rules.yaml", GOOD_RULE.replace("expect: silent", "expect: fires"))
    problems = [str(p) for p in problems_of(kb, check_examples=False)]
    assert problems == [f"{where(path, 2, 5)}: rule 'good_rule' needs an example with "
                        "expect: silent"]


def test_python_object_tags_are_refused(kb, where):
    path = kb.write("rules.yaml", """\
        facts:
          - !!python/object:collections.OrderedDict {name: x.y, type: bool, meaning: m}
        rules: !!python/object/apply:os.system ["echo pwned"]
        """)
    problem = only(problems_of(kb))
    assert str(problem).startswith(f"{where(path, 2, 5)}: YAML: the tag "
                                   "'tag:yaml.org,2002:python/object:collections.OrderedDict' "
                                   "is not allowed")
    path = kb.write("rules.yaml", "facts:\n  - name: !!python/name:os.system\n")
    problem = only(problems_of(kb))
    assert str(problem) == (f"{where(path, 2, 11)}: YAML: could not determine a constructor for "
                            "the tag 'tag:yaml.org,2002:python/name:os.system'")


def test_recursive_alias_is_a_problem_not_a_crash(kb, where):
    path = kb.write("rules.yaml", "facts: &loop [*loop]\n")
    assert str(only(problems_of(kb))) == (
        f"{where(path, 1, 8)}: YAML: an alias refers to a node that contains it")


def test_several_structure_problems_in_one_file_are_all_reported(kb, where):
    path = kb.write("rules.yaml", """\
        rules:
          - id: Bad-Id
            title: ""
            kind: reason
            severity: error
            cf: 2
            when: {fact: s.a, is: true}
            explanation: Because.
            sources: []
            examples:
              - {given: {s.a: true}, expect: fires}
              - {given: {s.a: false}, expect: silence}
            colour: red
        """)
    problems = [str(p) for p in problems_of(kb)]
    assert problems == [
        f"{where(path, 2, 9)}: 'id' 'Bad-Id' does not match ^[a-z][a-z0-9_]*$ (lower-case words "
        "joined by '_' or '.')",
        f"{where(path, 3, 12)}: 'title' must not be empty",
        f"{where(path, 4, 11)}: 'kind' must be one of symptom, cause, remedy; got string 'reason'",
        f"{where(path, 6, 9)}: 'cf' must be at most 1, got 2",
        f"{where(path, 9, 14)}: 'sources' needs at least 1 item(s), got 0",
        f"{where(path, 12, 39)}: 'expect' must be one of fires, silent; got string 'silence'; "
        "did you mean 'silent'?",
        f"{where(path, 13, 5)}: unknown field 'colour' in rule 'Bad-Id' (allowed: id, title, kind, "
        "severity, cf, when, explanation, remedies, sources, contested, examples, concludes, "
        "replaces, tags)",
    ]


def test_several_reference_problems_are_all_reported(kb, where):
    path = kb.write("rules.yaml", """\
        rules:
          - id: refs
            title: References
            kind: cause
            severity: error
            cf: 0.8
            when:
              all:
                - {fact: s.zzz, is: true}
                - {fact: q.color, is: pink}
                - {rule: missing_rule}
            explanation: Because.
            sources: [{seed: 004.txt}]
            examples:
              - {given: {s.a: 3}, expect: fires}
              - {given: {nope: true}, expect: silent}
        """)
    problems = [str(p) for p in problems_of(kb)]
    assert problems == [
        f"{where(path, 9, 11)}: unknown fact 's.zzz'; declare it under 'facts:'",
        f"{where(path, 10, 11)}: string 'pink' is not a value of enum fact 'q.color' "
        "(allowed: red, green, blue)",
        f"{where(path, 11, 11)}: unknown rule 'missing_rule' in the condition of 'refs'",
        f"{where(path, 2, 5)}: rule 'refs' defines a diagnosis but has no remedies; add at "
        "least one, or make it kind: symptom",
        f"{where(path, 15, 18)}: fact 's.a' is bool, got number 3",
        f"{where(path, 16, 18)}: unknown fact 'nope'",
    ]


def test_problems_in_several_files_are_all_reported(kb, where):
    one = kb.write("one.yaml", GOOD_RULE.replace("cf: 0.8", "cf: high"))
    two = kb.write("two.yaml", "rules:\n  - id: [\n")
    problems = [str(p) for p in problems_of(kb)]
    assert len(problems) == 2
    assert problems[0] == f"{where(one, 6, 9)}: 'cf' must be a number, got string 'high'"
    assert problems[1].startswith(f"{where(two, 3, 1)}: YAML: ")


def test_missing_user_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(KBError) as info:
        load_kb([missing], builtin=False, use_env=False)
    assert [str(p) for p in info.value.problems] == [
        f"{missing}: no such knowledge file or directory"]


def test_top_level_must_be_a_mapping(kb, where):
    path = kb.write("rules.yaml", "- id: x\n")
    assert str(only(problems_of(kb))) == f"{where(path, 1, 1)}: file must be a mapping, got list"


def test_empty_file_is_fine(kb):
    kb.write("empty.yaml", "# nothing yet\n")
    kb.write("rules.yaml", GOOD_RULE)
    loaded = kb.load()
    assert len(loaded.files) == 3
