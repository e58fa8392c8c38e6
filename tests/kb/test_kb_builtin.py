"""The shipped knowledge base: it loads, every rule's own examples hold, and the commands that
check it exit 0."""

from __future__ import annotations

import functools
import json
import re

import pytest

from advisor.engine.examples import run_examples
from advisor.kb import KBError, load_kb


@functools.cache
def _builtin():
    """The built-in base without its examples checked (they are the tests below)."""
    try:
        return load_kb(use_env=False, check_examples=False), None
    except KBError as exc:
        return None, exc


@functools.cache
def _outcomes():
    kb, _ = _builtin()
    by_rule: dict[str, list] = {}
    for outcome in run_examples(kb):
        by_rule.setdefault(outcome.rule.id, []).append(outcome)
    return by_rule


def _rule_ids() -> list[str]:
    kb, _ = _builtin()
    return list(kb.rules) if kb is not None else ["<the built-in base does not load>"]


def test_builtin_base_loads_and_validates():
    _, error = _builtin()
    assert error is None, f"built-in knowledge base has problems:\n{error}"
    kb = load_kb(use_env=False)  # with the examples checked, as `advisor kb validate` does
    assert kb.rules and kb.facts
    assert kb.diagnoses


@pytest.mark.parametrize("rule_id", _rule_ids())
def test_rule_examples_hold(rule_id):
    kb, error = _builtin()
    assert error is None, f"built-in knowledge base has problems:\n{error}"
    outcomes = _outcomes()[rule_id]
    expects = {o.example.expect for o in outcomes}
    assert expects == {"fires", "silent"}
    failed = [f"{o.example.location}: {o.describe()}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)


def test_kb_validate_exits_0(advisor, tmp_path):
    done = advisor("kb", "validate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("knowledge base OK: ")
    assert "Traceback" not in done.stderr


def test_kb_test_exits_0(advisor, tmp_path):
    done = advisor("kb", "test", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.fullmatch(r"\d+ passed, 0 failed", done.stdout.splitlines()[-1])


def test_diagnose_builtin_facts(advisor, tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text("loss.trend: diverging\noptim.lr: 0.5\noptim.kind: sgd\n"
                     "grad.max_norm: 1000\ntask.kind: multiclass\n", encoding="utf-8")
    done = advisor("diagnose", facts, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["diagnoses"], "the built-in base found nothing in a diverging run"
    for d in doc["diagnoses"]:
        assert -1.0 <= d["certainty"] <= 1.0 and d["remedies"] or d["kind"] == "symptom"
    text = advisor("diagnose", facts, "--explain", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    for line in text.stdout.splitlines():
        assert len(line) <= 80 or re.search(r"https?://\S{30,}", line), line


def test_kb_show_every_listed_rule_id_exists(advisor, tmp_path):
    done = advisor("kb", "list", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    kb, _ = _builtin()
    assert [r["id"] for r in rows] == list(kb.rules)
