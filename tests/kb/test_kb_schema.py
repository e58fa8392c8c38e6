"""The published JSON Schema: no drift from the code, valid on the built-in files, and in
agreement with the loader on broken documents."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from advisor.kb import KBError, builtin_dir
from advisor.kb.schema import kb_file_schema

SCHEMA_FILE = builtin_dir() / "schema.json"
KNOWLEDGE_FILES = sorted(builtin_dir().rglob("*.yaml"))


def validator() -> jsonschema.protocols.Validator:
    schema = kb_file_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_published_schema_matches_the_code():
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == kb_file_schema(), (
        "knowledge/schema.json is out of date: run "
        "`python -m advisor kb schema > knowledge/schema.json`")


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = kb_file_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_there_are_knowledge_files():
    names = {p.name for p in KNOWLEDGE_FILES}
    assert "facts.yaml" in names


@pytest.mark.parametrize("path", KNOWLEDGE_FILES,
                         ids=[str(p.relative_to(builtin_dir())) for p in KNOWLEDGE_FILES])
def test_builtin_file_validates_against_the_schema(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data is None:
        return
    errors = sorted(validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20])


GOOD = """\
version: 1
facts:
  - name: t.flag
    type: bool
    meaning: A flag.
    measured: by the probe
  - name: t.kind
    type: enum
    values: [a, b]
    meaning: A kind.
    ask: {question: "Which kind?", help: "", choices: {a: The a, b: The b}}
rules:
  - id: t_rule
    title: A rule
    kind: cause
    severity: warning
    cf: 0.5
    when:
      all:
        - {fact: t.flag, is: true}
        - any: [{fact: t.kind, in: [a]}, {not: {fact: t.kind, is: b}}]
    explanation: Because.
    remedies: [{action: Do it., detail: Carefully., sources: ["seed.txt#part"]}]
    sources: [{seed: seed.txt, section: part}, {ref: "https://example.org", note: n}]
    contested: Maybe.
    tags: [test]
    examples:
      - {name: strong, given: {t.flag: true, t.kind: a}, expect: fires, min_cf: 0.5}
      - {given: {t.flag: false}, expect: silent}
"""

BROKEN = {
    "unknown top-level key": GOOD.replace("version: 1", "verison: 1"),
    "wrong version": GOOD.replace("version: 1", "version: 2"),
    "missing when": GOOD.replace("    when:\n      all:", "    whenever:\n      all:"),
    "cf out of range": GOOD.replace("cf: 0.5", "cf: -1.5"),
    "cf is a string": GOOD.replace("cf: 0.5", "cf: half"),
    "bad severity": GOOD.replace("severity: warning", "severity: fatal"),
    "bad fact type": GOOD.replace("type: bool", "type: integer"),
    "bad fact name": GOOD.replace("name: t.flag", "name: T.Flag"),
    "bad rule id": GOOD.replace("id: t_rule", "id: t-rule"),
    "two condition heads": GOOD.replace("{fact: t.flag, is: true}",
                                        "{fact: t.flag, is: true, rule: t_rule}"),
    "fact test without comparison": GOOD.replace("{fact: t.flag, is: true}", "{fact: t.flag}"),
    "empty all": GOOD.replace("any: [{fact: t.kind, in: [a]}, {not: {fact: t.kind, is: b}}]",
                              "any: []"),
    "gt with a string": GOOD.replace("{fact: t.flag, is: true}", "{fact: t.flag, gt: big}"),
    "only one example": GOOD.replace("      - {given: {t.flag: false}, expect: silent}\n", ""),
    "bad expect": GOOD.replace("expect: silent", "expect: quiet"),
    "no sources": GOOD.replace(
        'sources: [{seed: seed.txt, section: part}, {ref: "https://example.org", note: n}]',
        "sources: []"),
    "empty source": GOOD.replace('{ref: "https://example.org", note: n}', "{}"),
    "ask without question": GOOD.replace("ask: {question: \"Which kind?\",", "ask: {"),
    "remedy without action": GOOD.replace("{action: Do it., ", "{"),
    "rules is a mapping": "rules: {id: x}\n",
    "top level is a list": "- 1\n- 2\n",
}


def test_good_document_is_accepted_by_both(kbdir):
    assert list(validator().iter_errors(yaml.safe_load(GOOD))) == []
    kbdir.write("good.yaml", GOOD)
    kb = kbdir.load()
    assert set(kb.rules) == {"t_rule"}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_document_is_rejected_by_both(name, kbdir):
    text = BROKEN[name]
    assert text != GOOD
    assert list(validator().iter_errors(yaml.safe_load(text))), "jsonschema accepted it"
    kbdir.write("broken.yaml", text)
    with pytest.raises(KBError) as info:
        kbdir.load()
    for problem in info.value.problems:
        assert problem.location.file.endswith("broken.yaml")
        assert problem.location.line >= 1 and problem.location.col >= 1


def test_kb_schema_command_prints_the_schema(advisor):
    done = advisor("kb", "schema")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == kb_file_schema()
    assert done.stdout == SCHEMA_FILE.read_text(encoding="utf-8")
