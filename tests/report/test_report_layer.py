"""The reporting layer: one representation, one formatter, every rendering from it, and a stored
version-1 probe report (recorded with the code before the layer existed) read back and rendered
exactly as the probe printed it then."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.report import Diagnosis, render_json, render_markdown, render_text
from advisor.report import format as fmt
from advisor.report.probe import ProbeReport
from advisor.report.reader import read_report

DATA = Path(__file__).parent / "data"
V1 = DATA / "report_v1.json"


@pytest.fixture(scope="module")
def builtin_kb():
    from advisor.kb import load_kb

    return load_kb(use_env=False, check_examples=False)


def test_format_one_way_for_every_value():
    assert [fmt.fact_value(v) for v in (None, True, False, 0.000123456, 2.0, 3, "x")] == [
        "unknown", "yes", "no", "0.0001235", "2", "3", "x"]
    assert fmt.fact_value(None, missing="don't know") == "don't know"
    assert fmt.fact_value({"value": 0.5, "cf": 0.8}) == "0.5 (cf 0.8)"
    assert fmt.certainty(0.6549) == "0.65" and fmt.signed_certainty(0.7) == "+0.70"
    assert fmt.signed_certainty(None) == "unknown"
    assert fmt.duration(12.345) == "12.3 s" and fmt.seconds(1.234) == "1.23"


def test_a_v1_report_renders_as_the_probe_printed_it():
    """Text and HTML of the stored report are byte for byte what the old code wrote (an
    unverified report shows no trace of verification)."""
    data = json.loads(V1.read_text(encoding="utf-8"))
    report = ProbeReport.from_dict(data)
    # nothing lost; added only what --verify measures, empty: a report from before it reads
    # as an unverified one (still version 1: the new keys are optional)
    unverified = {**data, "trials": [], "verification": None}
    assert report.to_dict() == unverified
    assert json.loads(report.to_json()) == unverified
    expected = (DATA / "report_v1.txt").read_text(encoding="utf-8")
    assert report.text() == expected
    assert report.html() == (DATA / "report_v1.html").read_text(encoding="utf-8")
    md = report.markdown()
    assert md.startswith("# advisor probe: examples/lr_too_high_sgd.py on cpu")
    # the findings are sections of "## Diagnosis" (they were at its level before)
    assert "\n## Diagnosis\n" in md and "\n### Learning rate too high (`lr_too_high`" in md


def test_the_reader_reads_a_v1_report_strictly(builtin_kb):
    stored = read_report(V1, builtin_kb, strict=True)
    data = json.loads(V1.read_text(encoding="utf-8"))
    assert stored.is_report and stored.schema == "advisor-probe-report/1"
    assert stored.facts == data["facts"]
    assert [f.id for f in stored.diagnosis().diagnoses] == [d["id"] for d in data["diagnoses"]]
    assert stored.series["loss"] and stored.locations["optim.lr"].line > 1


def test_engine_result_and_stored_document_render_the_same(builtin_kb):
    """A diagnosis read back from its JSON renders exactly like the fresh one."""
    from advisor.engine import Engine

    facts = json.loads(V1.read_text(encoding="utf-8"))["facts"]
    result = Engine(builtin_kb).diagnose(facts)
    fresh = Diagnosis.from_result(result)
    stored = Diagnosis.from_dict(json.loads(render_json(result)))
    assert stored.to_dict() == json.loads(json.dumps(fresh.to_dict()))
    assert render_text(stored, explain=True) == render_text(result, explain=True)
    assert render_markdown(stored) == render_markdown(result)
    # the document is the engine's own: every key of DiagnosisResult.to_dict, same values
    assert json.loads(render_json(result))["diagnoses"] == json.loads(
        json.dumps(result.to_dict()["diagnoses"], default=str))


def test_explanations_format_values_like_everything_else(builtin_kb):
    """Bug fixed: the "How it was concluded" tree printed raw Python values (True, 2.0,
    27.060955491596097) while the evidence above it printed yes, 2, 27.06."""
    report = ProbeReport.from_dict(json.loads(V1.read_text(encoding="utf-8")))
    text = render_text(report.diagnosis(), explain=True)
    assert "[observed False;" not in text and "[observed no;" in text
    assert "observed 27.060955491596097" not in text and "[observed 27.06;" in text


def test_the_layer_imports_neither_torch_nor_textual():
    code = ("import sys, advisor.report, advisor.report.probe, advisor.report.reader, "
            "advisor.report.html, advisor.report.panes\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'textual')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
