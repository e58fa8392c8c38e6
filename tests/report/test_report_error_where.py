"""Errors that say where (issue 8 #11): the user's error message, the file:line of the innermost
frame in their code and the phase, in text, Markdown, HTML and JSON. A hand-made report: the
probe fills `details["runtime_error_where"]`, the renderers must show it."""

from __future__ import annotations

import json

from advisor.report.probe import ProbeReport

MESSAGE = "RuntimeError: boom at call 50"
WHERE = "examples/my_setup.py:17"


def _report(**details) -> ProbeReport:
    return ProbeReport.from_dict({
        "schema": "advisor-probe-report/1",
        "setup": {"name": "examples/my_setup.py"}, "device": {"name": "cpu"},
        "timings": {"total": 1.5},
        "facts": {"runtime.error": "other", "runtime.error_message": MESSAGE},
        "observations": {"notes": [], "warnings": [], "details": {"training_steps": 50,
                                                                   **details}},
        "diagnoses": [],
    })


def test_text_shows_message_where_and_phase():
    text = _report(runtime_error_where=WHERE, runtime_error_phase="training").text()
    assert f"  error message: {MESSAGE}" in text
    assert f"  raised at {WHERE} during training" in text


def test_markdown_shows_message_where_and_phase():
    md = _report(runtime_error_where=WHERE, runtime_error_phase="training").markdown()
    assert "## Error in your code" in md
    assert f"- message: `{MESSAGE}`" in md
    assert f"- where: `{WHERE}`" in md
    assert "- phase: training" in md


def test_html_shows_message_where_and_phase():
    html = _report(runtime_error_where=WHERE, runtime_error_phase="the first forward").html()
    assert f"<li>message: <code>{MESSAGE}</code></li>" in html
    assert f"<li>where: <code>{WHERE}</code></li>" in html
    assert "<li>phase: the first forward</li>" in html


def test_json_carries_them():
    doc = json.loads(_report(runtime_error_where=WHERE, runtime_error_phase="training")
                     .to_json())
    assert doc["facts"]["runtime.error_message"] == MESSAGE
    assert doc["observations"]["details"]["runtime_error_where"] == WHERE
    assert doc["observations"]["details"]["runtime_error_phase"] == "training"


def test_without_a_location_the_phase_is_still_shown():
    report = _report(runtime_error_phase="setup")
    assert "  raised during setup" in report.text()
    assert "where:" not in report.markdown() and "- phase: setup" in report.markdown()


def test_no_error_no_section():
    report = _report()
    report.facts = {"runtime.error": "none"}
    assert "error message" not in report.text() and "Error in your code" not in report.markdown()
    assert "Error in your code" not in report.html()
