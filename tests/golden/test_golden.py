"""The knowledge base and the engine on facts the probe really measured (recorded from every
example by record.py): the diagnoses, in order, are the recorded ones. Fast, no torch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.engine import Engine
from advisor.kb import load_kb

FACTS = sorted((Path(__file__).resolve().parent / "facts").glob("*.json"))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_kb([], use_env=False))


def test_every_example_has_golden_facts():
    examples = Path(__file__).resolve().parents[2] / "examples"
    names = {p.stem for p in examples.glob("[a-z]*.py")}
    assert names == {p.stem for p in FACTS}, "re-record: python tests/golden/record.py DIR"


@pytest.mark.parametrize("path", FACTS, ids=lambda p: p.stem)
def test_recorded_facts_give_the_recorded_diagnoses(engine, path):
    golden = json.loads(path.read_text())
    result = engine.diagnose(golden["facts"])
    assert [d.id for d in result.diagnoses] == golden["diagnoses"]
    assert not result.unknown_facts, "the catalogue lost a fact the probe measures"
