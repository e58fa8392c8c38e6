"""The renderers of a diagnosis (text, Markdown, JSON) and `kb show`, in process."""

from __future__ import annotations

import json

import pytest

from advisor.kb.display import rule_text
from advisor.report import diagnosis_document, render_json, render_markdown, render_text

# Written as rule authors write: a `|` block hard-wrapped at about 95 columns, two paragraphs.
RULES = """\
rules:
  - id: report_rule
    title: A rule whose texts are written like the built-in ones, with a fairly long title
    kind: cause
    severity: warning
    cf: 0.7
    when: {all: [{fact: s.a, is: true}, {fact: q.n, gt: 2}]}
    explanation: |
      The first sentence of the explanation is written on a long line that ends with alpha
      beta gamma delta. A second sentence follows on the same paragraph and wraps again here.

      A second paragraph, short.
      - a list item stays on its own line
    contested: |
      Some say otherwise, on a line that the author wrapped
      early.
    remedies:
      - action: Do the first thing, which is described in a sentence long enough to wrap twice.
        detail: |
          Details that were
          hard-wrapped short.
    sources:
      - {seed: 004_0fe40e4e1bcae822.txt, section: training loss explodes or diverges}
      - {ref: "https://example.org/a/very/long/url/that/must/never/be/broken/across/two/lines/ok"}
    examples:
      - {given: {s.a: true, q.n: 3}, expect: fires}
      - {given: {s.a: true, q.n: 1}, expect: silent}
"""


@pytest.fixture
def result(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", RULES)
    engine = kbdir.engine()
    return engine.diagnose({"s.a": True, "q.n": 3, "other.fact": 1})


def test_text_report_reflows_hard_wrapped_paragraphs(result):
    text = render_text(result)
    lines = text.splitlines()
    assert all(len(line) <= 80 or "https://" in line for line in lines), text
    # the author's line breaks inside a paragraph are not kept: the words flow on
    assert not any(line.strip().startswith("beta gamma delta") for line in lines), text
    assert "alpha beta" in " ".join(line.strip() for line in lines)
    assert any("Some say otherwise, on a line that the author wrapped early." in line
               for line in lines), text
    assert any("Details that were hard-wrapped short." in line for line in lines), text
    # paragraphs and list items stay apart
    assert "      A second paragraph, short." in lines
    assert "      - a list item stays on its own line" in lines
    # the URL is whole
    assert any(line.strip() == "- https://example.org/a/very/long/url/that/must/never/be/"
               "broken/across/two/lines/ok" for line in lines)


def test_text_report_header_and_summary(result):
    text = render_text(result)
    lines = text.splitlines()
    assert lines[0] == "Diagnosis: 0 error(s), 1 warning(s), 0 tip(s)"
    assert lines[2].startswith("WARN  A rule whose texts are written like the built-in ones")
    assert "[report_rule]" in text and "certainty 0.70" in text
    assert lines[-1] == "Ignored facts the knowledge base does not know: other.fact"


def test_kb_show_reflows_too(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", RULES)
    kb = kbdir.load()
    text = rule_text(kb, kb.rules["report_rule"])
    body = text.split("Why it matters:")[1].split("Sources:")[0].splitlines()
    assert all(len(line) <= 80 for line in body), text
    assert not any(line.strip().startswith("beta gamma delta") for line in body), text
    assert "  Some say otherwise, on a line that the author wrapped early." in body


def test_markdown_report(result):
    md = render_markdown(result)
    assert md.startswith("# Diagnosis\n\n0 error(s), 1 warning(s), 0 tip(s).\n")
    assert "| warning | A rule whose texts" in md
    assert "**Remedies**" in md and "1. Do the first thing" in md
    assert "- `s.a = yes` (observed yes)" in md
    assert "```\nreport_rule: certainty 0.70" in md


def test_json_report(result):
    doc = json.loads(render_json(result))
    assert doc == json.loads(json.dumps(diagnosis_document(result)))
    assert doc["schema"] == "advisor-diagnosis/1"
    assert doc["summary"] == {"error": 0, "warning": 1, "info": 0}
    [d] = doc["diagnoses"]
    assert d["id"] == "report_rule" and d["certainty"] == 0.7
    assert d["contested"].startswith("Some say otherwise")
    assert d["sources"][0] == "004_0fe40e4e1bcae822.txt § training loss explodes or diverges"
    assert doc["unknown_facts"] == ["other.fact"]


def test_empty_result(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", RULES)
    result = kbdir.engine().diagnose({})
    assert render_text(result) == ("Diagnosis: 0 error(s), 0 warning(s), 0 tip(s)\n\n"
                                   "Nothing in the knowledge base fired on these observations.\n")
    assert json.loads(render_json(result))["diagnoses"] == []
