"""`advisor diagnose FILE` through a real subprocess, with a user knowledge directory."""

from __future__ import annotations

import json
import re

import pytest

FACTS = """\
facts:
  - name: dx.flag
    type: bool
    meaning: A flag.
    measured: by the tests
  - name: dx.level
    type: number
    meaning: A level.
    measured: by the tests
  - name: dx.mode
    type: enum
    values: [calm, busy, chaotic]
    meaning: A mode.
    measured: by the tests
"""

LONG_URL = "https://example.org/" + "a-very-long-path-segment/" * 4 + "index.html"

RULES = f"""\
rules:
  - id: dx_softmax_applied_twice_before_the_cross_entropy_loss
    title: Softmax applied before CrossEntropyLoss, which applies log-softmax itself again
    kind: cause
    severity: error
    cf: 0.9
    when: {{fact: dx.flag, is: true}}
    explanation: >
      CrossEntropyLoss expects raw logits and applies log-softmax itself. A softmax before it
      squashes the logits into [0, 1], so the gradients all but vanish and training stalls
      with a loss that barely moves away from its initial value.
    remedies:
      - action: Remove the final softmax layer from the model and feed the raw logits to the loss.
        detail: Keep a softmax only where probabilities are needed, at inference time, outside
          the module that the loss sees during training.
    sources:
      - ref: {LONG_URL}
      - seed: 004_0fe40e4e1bcae822.txt
        section: training loss explodes or diverges, or stays flat for a long time
    examples:
      - {{given: {{dx.flag: true}}, expect: fires}}
      - {{given: {{dx.flag: false}}, expect: silent}}
  - id: dx_level_high
    title: Level high
    kind: cause
    severity: warning
    cf: 0.7
    when: {{fact: dx.level, gt: 3}}
    explanation: The level is high.
    remedies: [{{action: Lower it.}}]
    sources: [{{ref: "https://example.org/level"}}]
    examples:
      - {{given: {{dx.level: 5}}, expect: fires}}
      - {{given: {{dx.level: 1}}, expect: silent}}
  - id: dx_chaos
    title: Chaotic mode
    kind: remedy
    severity: info
    cf: 0.5
    when: {{fact: dx.mode, is: chaotic}}
    explanation: Chaos.
    remedies: [{{action: Calm down.}}]
    sources: [{{ref: "https://example.org/mode"}}]
    examples:
      - {{given: {{dx.mode: chaotic}}, expect: fires}}
      - {{given: {{dx.mode: calm}}, expect: silent}}
"""

ERROR_ID = "dx_softmax_applied_twice_before_the_cross_entropy_loss"


@pytest.fixture
def setup(kbdir, tmp_path):
    kbdir.write("facts.yaml", FACTS)
    kbdir.write("rules.yaml", RULES)
    return tmp_path


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def diagnose(advisor, cwd, *args):
    return advisor("diagnose", *args, "--kb", "kb", cwd=cwd)


def assert_fits_80_columns(text: str) -> None:
    for line in text.splitlines():
        if len(line) > 80:
            assert re.search(r"https?://\S{40,}", line), f"line over 80 columns: {line!r}"


def test_text_report(advisor, setup):
    write(setup, "facts.yaml", "dx.flag: true\ndx.level: 5\ndx.mode: chaotic\n")
    done = diagnose(advisor, setup, "facts.yaml")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Diagnosis: 1 error(s), 1 warning(s), 1 tip(s)\n")
    assert f"[{ERROR_ID}]" in out
    assert "certainty 0.90" in out
    assert "- dx.flag = yes (observed yes)" in out
    assert "1. Remove the final softmax layer" in out
    assert out.index(ERROR_ID) < out.index("dx_level_high") < out.index("dx_chaos")
    assert_fits_80_columns(out)
    assert LONG_URL in out  # a URL is never broken across lines


def test_text_report_with_explanations(advisor, setup):
    write(setup, "facts.yaml", "dx.flag: true\ndx.level: 5\n")
    done = diagnose(advisor, setup, "facts.yaml", "--explain")
    assert done.returncode == 0, done.stderr
    assert "How it was concluded:" in done.stdout
    assert "dx.level > 3  [observed 5; +1.00]" in done.stdout
    assert_fits_80_columns(done.stdout)


def test_nothing_fires(advisor, setup):
    write(setup, "facts.yaml", "dx.flag: false\n")
    done = diagnose(advisor, setup, "facts.yaml", "--fail-on", "warning")
    assert done.returncode == 0, done.stderr
    assert "Nothing in the knowledge base fired on these observations." in done.stdout


def test_json_report(advisor, setup):
    write(setup, "facts.json", json.dumps({"dx.flag": True, "dx.level": {"value": 9, "cf": 0.5}}))
    done = diagnose(advisor, setup, "facts.json", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "advisor-diagnosis/1"
    assert doc["summary"] == {"error": 1, "warning": 1, "info": 0}
    assert [d["id"] for d in doc["diagnoses"]] == [ERROR_ID, "dx_level_high"]
    assert doc["diagnoses"][1]["certainty"] == pytest.approx(0.35)
    assert doc["facts"] == {"dx.flag": True, "dx.level": {"value": 9, "cf": 0.5}}
    assert doc["unknown_facts"] == []


def test_markdown_report(advisor, setup):
    write(setup, "facts.yaml", "dx.level: 5\n")
    done = diagnose(advisor, setup, "facts.yaml", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("# Diagnosis\n")
    assert "| warning | Level high | `dx_level_high` | 0.70 |" in out
    assert "## Level high (`dx_level_high`, warning, certainty 0.70)" in out
    assert "<details><summary>How it was concluded</summary>" in out


def test_output_file(advisor, setup):
    write(setup, "facts.yaml", "dx.level: 5\n")
    (setup / "out").mkdir()  # the folder must exist: advisor never creates folders
    done = diagnose(advisor, setup, "facts.yaml", "--format", "json", "-o", "out/report.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    doc = json.loads((setup / "out" / "report.json").read_text())
    assert doc["summary"]["warning"] == 1
    assert [p.name for p in (setup / "out").iterdir()] == ["report.json"]


@pytest.mark.parametrize(
    ("facts", "fail_on", "code"),
    [
        ("dx.flag: true\n", "error", 1),
        ("dx.flag: true\n", "warning", 1),  # an error is worse than a warning
        ("dx.level: 5\n", "error", 0),
        ("dx.level: 5\n", "warning", 1),
        ("dx.mode: chaotic\n", "warning", 0),  # a tip never fails
        ("dx.flag: true\n", None, 0),
    ],
)
def test_fail_on(advisor, setup, facts, fail_on, code):
    write(setup, "facts.yaml", facts)
    args = ["facts.yaml", "--format", "json"] + (["--fail-on", fail_on] if fail_on else [])
    done = diagnose(advisor, setup, *args)
    assert done.returncode == code, done.stderr
    json.loads(done.stdout)  # the report is written either way


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dx.flag: true\ndx.levle: 3\n",
         "facts.yaml:2:1: unknown fact 'dx.levle'; did you mean 'dx.level'?"),
        ("dx.mode: quiet\n",
         "facts.yaml:1:1: string 'quiet' is not a value of enum fact 'dx.mode' "
         "(allowed: calm, busy, chaotic)"),
        ("dx.flag: true\ndx.level: high\n",
         "facts.yaml:2:1: fact 'dx.level' is number, got string 'high'"),
        ("dx.flag: {value: true, cf: 1.5}\n",
         "facts.yaml:1:1: certainty of 'dx.flag' is 1.5: the certainty of an observation must "
         "be in (0, 1]; to say a fact is false use its value, and leave out a fact you do not "
         "know"),
        ("dx.flag: {value: true, cf: sure}\n",
         "facts.yaml:1:1: certainty of 'dx.flag' must be a number in (0, 1], got "
         "string 'sure'"),
        ("dx.flag: [true\n", "facts.yaml:2:1: YAML: "),
        ("- dx.flag\n", "facts.yaml:1:1: expected a mapping of fact names to values"),
    ],
)
def test_bad_facts_exit_2_with_location(advisor, setup, text, message):
    write(setup, "facts.yaml", text)
    done = diagnose(advisor, setup, "facts.yaml")
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_file_exits_2(advisor, setup):
    done = diagnose(advisor, setup, "nope.yaml")
    assert done.returncode == 2
    assert "nope.yaml: no such file" in done.stderr
    assert "Traceback" not in done.stderr


def test_broken_knowledge_base_exits_2(advisor, setup, kbdir):
    kbdir.write("rules.yaml", RULES.replace("cf: 0.7", "cf: much"))
    write(setup, "facts.yaml", "dx.level: 5\n")
    done = diagnose(advisor, setup, "facts.yaml")
    assert done.returncode == 2
    assert "the knowledge base has problems" in done.stderr
    assert "kb/rules.yaml:27:9: 'cf' must be a number, got string 'much'" in done.stderr


def test_probe_report_with_facts_mapping(advisor, setup):
    report = {"schema": "advisor-probe/1", "facts": {"dx.level": 7, "probe.only.fact": 3}}
    write(setup, "report.json", json.dumps(report, indent=2))
    done = diagnose(advisor, setup, "report.json", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [d["id"] for d in doc["diagnoses"]] == ["dx_level_high"]
    assert doc["unknown_facts"] == ["probe.only.fact"]


def test_output_file_is_written_atomically_readable_and_a_bad_path_is_a_usage_error(advisor,
                                                                                    setup):
    import os
    import stat

    write(setup, "facts.yaml", "dx.flag: true\n")
    out = setup / "reports" / "dx.md"
    out.parent.mkdir()
    done = diagnose(advisor, setup, "facts.yaml", "--format", "markdown", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("# Diagnosis")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask  # not mkstemp's private 0600
    assert [p.name for p in out.parent.iterdir()] == ["dx.md"]  # no temporary file left
    blocker = setup / "blocker"
    blocker.write_text("a file, not a folder")
    bad = diagnose(advisor, setup, "facts.yaml", "-o", str(blocker / "dx.txt"))
    assert bad.returncode == 2
    assert "is a file, not a folder" in bad.stderr and "Traceback" not in bad.stderr
