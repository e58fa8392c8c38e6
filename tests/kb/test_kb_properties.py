"""Property-based: whatever is written in a knowledge file, loading it gives a KnowledgeBase or
a KBError whose every problem has a file:line:col, never another exception."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.kb import KBError, KnowledgeBase, load_kb

VALID = {
    "facts": [
        {"name": "h.flag", "type": "bool", "meaning": "Flag.", "measured": "probe"},
        {"name": "h.kind", "type": "enum", "values": ["a", "b"], "meaning": "Kind.",
         "ask": {"question": "Which?", "help": "", "choices": {"a": "A", "b": "B"}}},
        {"name": "h.n", "type": "number", "meaning": "N.", "measured": "probe"},
    ],
    "rules": [
        {"id": "h_one", "title": "One", "kind": "symptom", "severity": "info", "cf": 0.9,
         "when": {"fact": "h.flag", "is": True}, "explanation": "x",
         "sources": [{"ref": "r"}],
         "examples": [{"given": {"h.flag": True}, "expect": "fires"},
                      {"given": {"h.flag": False}, "expect": "silent"}]},
        {"id": "h_two", "title": "Two", "kind": "cause", "severity": "error", "cf": 0.8,
         "when": {"all": [{"rule": "h_one"}, {"not": {"fact": "h.kind", "in": ["a"]}},
                          {"any": [{"fact": "h.n", "gt": 1, "le": 9}]}]},
         "explanation": "x", "remedies": [{"action": "Do."}], "sources": [{"seed": "s.txt"}],
         "examples": [{"given": {"h.flag": True, "h.kind": "b", "h.n": 5}, "expect": "fires",
                       "min_cf": 0.5},
                      {"given": {"h.flag": True, "h.kind": "a", "h.n": 5},
                       "expect": "silent"}]},
    ],
}

LOCATED = re.compile(r"^.+:[1-9][0-9]*:[1-9][0-9]*: ")


def load_text(directory, text: str):
    (directory / "kb.yaml").write_text(text, encoding="utf-8")
    try:
        return load_kb([directory], builtin=False, use_env=False)
    except KBError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.location.file.endswith("kb.yaml"), str(problem)
            assert problem.location.line >= 1 and problem.location.col >= 1, str(problem)
            assert LOCATED.match(str(problem)), str(problem)
        return exc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("kbprop")


def test_the_valid_document_loads(workdir):
    assert isinstance(load_text(workdir, yaml.safe_dump(VALID)), KnowledgeBase)


TOKENS = ["\n", "\n  ", "\n    ", " ", "- ", ": ", ":", "-", "[", "]", "{", "}", ", ", "'", '"',
          "#", "&a ", "*a", "<<: ", "? ", "|", ">", "!!int ", "!!float ", "!!timestamp ",
          "!!bool ", "!!binary ", "!!set ", "!!python/object:os.system ", "!!str ", "!x ",
          "%YAML 1.1\n", "---\n", "...\n", "\t", "\\", "~", "null", "true", "no", "1", "0.5",
          "-1e9", ".nan", "2020-01-01", "facts", "rules", "name", "type", "id", "when", "fact",
          "rule", "all", "any", "not", "is", "in", "gt", "examples", "given", "expect", "fires",
          "cf", "h.flag", "h_one", "bool", "enum", "values", "é", "\x00", "\ufeff"]
yaml_ish = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(yaml_ish, st.text(max_size=60)))
def test_random_text_loads_or_fails_with_located_problems(workdir, text):
    result = load_text(workdir, text)
    assert isinstance(result, (KnowledgeBase, KBError))


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                    st.sampled_from(["h.flag", "h_one", "fires", "silent", "bool", "enum", "a",
                                     "error", "cause", "symptom"]))
keys = st.one_of(st.sampled_from(["facts", "rules", "name", "type", "meaning", "id", "title",
                                  "when", "fact", "rule", "all", "any", "not", "is", "in", "gt",
                                  "cf", "given", "expect", "value", "values", "ask",
                                  "examples", "concludes", "replaces", "h.flag", "h.n"]),
                 st.text(max_size=5), st.integers(-3, 3), st.booleans())
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(structures)
def test_random_structures_load_or_fail_with_located_problems(workdir, data):
    result = load_text(workdir, yaml.safe_dump(data))
    assert isinstance(result, (KnowledgeBase, KBError))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


ALL_PATHS = list(_paths(VALID))[1:]


def _replace(data, path, value):
    data = copy.deepcopy(data)
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return data


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), structures), min_size=1, max_size=3))
def test_mutated_valid_documents_load_or_fail_with_located_problems(workdir, mutations):
    data = VALID
    for path, value in mutations:
        try:
            data = _replace(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    result = load_text(workdir, yaml.safe_dump(data, sort_keys=False))
    assert isinstance(result, (KnowledgeBase, KBError))
