"""The counts docs/knowledge-base.md quotes are those of the built-in base plus the page's own
worked example (issue 8 #16): computed here, so the page cannot fall behind the knowledge."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from advisor.engine.examples import run_examples
from advisor.kb import load_kb

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
    kb = worked_kb
    line = (f"knowledge base OK: {len(kb.facts)} facts, {len(kb.rules)} rules "
            f"({len(kb.diagnoses)} diagnoses) from {len(kb.files)} file(s); 0 warning(s)")
    quoted = re.findall(r"^knowledge base OK: .*$", doc, re.M)
    assert quoted == [line]


def test_kb_test_lines_quote_the_real_counts(doc, worked_kb):
    outcomes = run_examples(worked_kb)
    assert all(o.passed for o in outcomes)
    total = len(outcomes)
    quoted = re.findall(r"^\d+ passed, \d+ failed$", doc, re.M)
    # the passing run, then the same run with one example broken on purpose
    assert quoted == [f"{total} passed, 0 failed", f"{total - 1} passed, 1 failed"]
