"""The counts docs/knowledge-base.md quotes are those of the built-in base plus the page's own
worked example (issue 8 #16): computed here, so the page cannot fall behind the knowledge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from advisor.commands.kb import validate_line
from advisor.engine.examples import run_examples
from advisor.kb import load_kb
from advisor.kb.trials import synthesised, trials_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "knowledge-base.md"


def _block_after(text: str, marker: str, lang: str) -> str:
    start = text.index(marker)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    assert match, f"no ```{lang} block after {marker!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def worked_kb(doc, tmp_path_factory):
    mykb = tmp_path_factory.mktemp("doc") / "mykb"
    mykb.mkdir()
    (mykb / "facts.yaml").write_text(_block_after(doc, "declare it in `mykb/facts.yaml`:", "yaml"))
    (mykb / "rules.yaml").write_text(_block_after(doc, "`mykb/rules.yaml`:", "yaml"))
    return load_kb([mykb], use_env=False, check_examples=False)


def test_validate_line_quotes_the_real_counts(doc, worked_kb):
    """The counts are those the files define: the trial evidence the loader synthesises (a
    fact and two rules per diagnosis with trials) is left out, and the page says so."""
    kb = worked_kb
    facts, rules = synthesised(kb)
    tried = sum(1 for d in kb.diagnoses if trials_of(d))
    assert facts and len(rules) == 2 * len(facts) == 2 * tried
    line = (f"knowledge base OK: {len(kb.facts) - len(facts)} facts, "
            f"{len(kb.rules) - len(rules)} rules ({len(kb.diagnoses)} diagnoses, {tried} with "
            f"trials) from {len(kb.files)} file(s); 0 warning(s)")
    quoted = re.findall(r"^knowledge base OK: .*$", doc, re.M)
    assert quoted == [line]
    assert validate_line(kb, 0) == line
    assert "without the synthesised facts and rules" in doc


def test_kb_test_lines_quote_the_real_counts(doc, worked_kb):
    outcomes = run_examples(worked_kb)
    assert all(o.passed for o in outcomes)
    total = len(outcomes)
    quoted = re.findall(r"^\d+ passed, \d+ failed$", doc, re.M)
    # the passing run, then the same run with one example broken on purpose
    assert quoted == [f"{total} passed, 0 failed", f"{total - 1} passed, 1 failed"]
