"""The worked example of docs/knowledge-base.md, run as the page shows it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "knowledge-base.md"


def _block_after(text: str, marker: str, lang: str) -> str:
    start = text.index(marker)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    assert match, f"no ```{lang} block after {marker!r}"
    return match.group(1)


def _console(text: str, command: str) -> str:
    """The output the page shows for `$ command` (up to the end of its block)."""
    start = text.index(f"$ {command}\n")
    end = text.index("```", start)
    return text[start + len(command) + 3:end]


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture
def worked(tmp_path, doc, advisor):
    (tmp_path / "mykb").mkdir()
    schema = advisor("kb", "schema", cwd=tmp_path)
    assert schema.returncode == 0
    (tmp_path / "kb-schema.json").write_text(schema.stdout)
    (tmp_path / "mykb" / "facts.yaml").write_text(
        _block_after(doc, "declare it in `mykb/facts.yaml`:", "yaml"))
    (tmp_path / "mykb" / "rules.yaml").write_text(_block_after(doc, "`mykb/rules.yaml`:", "yaml"))
    (tmp_path / "facts.yaml").write_text(_block_after(doc, "works as well. `facts.yaml`:", "yaml"))
    return tmp_path


def test_the_schema_comment_points_at_the_schema(worked):
    for name in ("facts.yaml", "rules.yaml"):
        first = (worked / "mykb" / name).read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../kb-schema.json"


def test_worked_example_validates_tests_and_diagnoses(worked, doc, advisor):
    done = advisor("kb", "validate", "mykb", cwd=worked)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("knowledge base OK: ")
    done = advisor("kb", "test", "--kb", "mykb", "-v", cwd=worked)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "PASS  lr_not_scaled_for_gpus  (3/3)" in done.stdout
    assert done.stdout.splitlines()[-1].endswith(" passed, 0 failed")
    done = advisor("diagnose", "facts.yaml", "--kb", "mykb", cwd=worked)
    assert done.returncode == 0, done.stderr
    assert done.stdout == _console(doc, "advisor diagnose facts.yaml --kb mykb")
    done = advisor("diagnose", "facts.yaml", "--kb", "mykb", "--explain", cwd=worked)
    shown = _console(doc, "advisor diagnose facts.yaml --kb mykb --explain")
    assert shown.startswith("...\n")
    assert done.stdout.endswith(shown[len("...\n"):])
