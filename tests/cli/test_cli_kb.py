"""`advisor kb ...` through a real subprocess, against a user knowledge directory in tmp_path."""

from __future__ import annotations

import json

import pytest

USER_FACTS = """\
facts:
  - name: cli.flag
    type: bool
    meaning: A flag for the command-line tests.
    measured: by the tests
  - name: cli.level
    type: number
    meaning: A level.
    ask:
      question: Which level?
      help: A number.
"""

USER_RULES = """\
rules:
  - id: cli_flag_set
    title: The test flag is set
    kind: cause
    severity: error
    cf: 0.8
    when: {fact: cli.flag, is: true}
    explanation: The flag is set.
    remedies: [{action: Clear the flag.}]
    sources: [{ref: "https://example.org/cli"}]
    examples:
      - {given: {cli.flag: true}, expect: fires}
      - {given: {cli.flag: false}, expect: silent}
  - id: cli_level_high
    title: The level is high
    kind: cause
    severity: warning
    cf: 0.6
    when: {all: [{rule: cli_flag_set}, {fact: cli.level, gt: 3}]}
    explanation: High level with the flag.
    remedies: [{action: Lower the level.}]
    sources: [{seed: 001_test.txt, section: levels}]
    examples:
      - {given: {cli.flag: true, cli.level: 5}, expect: fires}
      - {given: {cli.flag: true, cli.level: 1}, expect: silent}
"""


@pytest.fixture
def userkb(kbdir):
    kbdir.write("facts.yaml", USER_FACTS)
    kbdir.write("rules.yaml", USER_RULES)
    return kbdir


def test_validate_user_dir(advisor, userkb, tmp_path):
    done = advisor("kb", "validate", userkb.path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("knowledge base OK: ")
    assert "Traceback" not in done.stderr


def test_validate_broken_user_dir_reports_file_line_col(advisor, userkb, tmp_path):
    userkb.write("rules.yaml", USER_RULES.replace("cf: 0.6", "cf: strong")
                 .replace("{fact: cli.flag, is: true}", "{fact: cli.flagg, is: true}"))
    userkb.write("more.yaml", "rules:\n  - id: [\n")
    done = advisor("kb", "validate", "kb", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert "kb/more.yaml:3:1: YAML: " in done.stderr
    assert "kb/rules.yaml:18:9: 'cf' must be a number, got string 'strong'" in lines
    assert lines[-1] == ("2 problem(s) found; fix them and run `advisor kb validate` again.")
    assert done.stdout == ""


def test_validate_reports_a_semantic_problem_with_location(advisor, userkb, tmp_path):
    userkb.write("rules.yaml", USER_RULES.replace("{fact: cli.flag, is: true}",
                                                  "{fact: cli.flagg, is: true}"))
    done = advisor("kb", "validate", "--kb", "kb", cwd=tmp_path)
    assert done.returncode == 2
    assert ("kb/rules.yaml:7:11: unknown fact 'cli.flagg'; did you mean 'cli.flag'?; declare "
            "it under 'facts:'") in done.stderr.splitlines()
    assert "Traceback" not in done.stderr


def test_validate_with_env_var(advisor, userkb, tmp_path, cli_env):
    userkb.write("rules.yaml", USER_RULES.replace("cf: 0.6", "cf: strong"))
    done = advisor("kb", "validate", cwd=tmp_path, env=cli_env(ADVISOR_KB_PATH=str(userkb.path)))
    assert done.returncode == 2
    assert "rules.yaml:18:9: 'cf' must be a number" in done.stderr


def test_validate_missing_dir(advisor, tmp_path):
    done = advisor("kb", "validate", "nowhere", cwd=tmp_path)
    assert done.returncode == 2
    assert "nowhere: no such knowledge file or directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_list_text_and_json(advisor, userkb, tmp_path):
    text = advisor("kb", "list", "--kb", userkb.path, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    flag = next(line for line in lines if line.startswith("cli_flag_set "))
    assert "error" in flag and "+0.80" in flag and "The test flag is set" in flag
    done = advisor("kb", "list", "--format", "json", "--kb", userkb.path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert isinstance(rows, list) and all(isinstance(r, dict) and "id" in r for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id["cli_level_high"]["severity"] == "warning"
    assert by_id["cli_level_high"]["file"] == "kb/rules.yaml"
    assert by_id["cli_level_high"]["line"] == 14
    assert by_id["cli_level_high"]["sources"] == ["001_test.txt § levels"]
    assert len(rows) == len(lines)


def test_show_rule_and_fact(advisor, userkb, tmp_path):
    done = advisor("kb", "show", "cli_level_high", "--kb", userkb.path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("cli_level_high: The level is high\n")
    assert "defined at kb/rules.yaml:14:5" in out
    assert "conclusion cli_flag_set" in out and "cli.level > 3" in out
    assert "1. Lower the level." in out
    done = advisor("kb", "show", "cli_flag_set", "--kb", userkb.path, cwd=tmp_path)
    assert "Used by: cli_level_high" in done.stdout
    done = advisor("kb", "show", "cli.level", "--kb", userkb.path, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("cli.level (number)")
    assert "Asked: Which level?" in done.stdout and "Used by: cli_level_high" in done.stdout


def test_show_unknown_id(advisor, userkb, tmp_path):
    done = advisor("kb", "show", "cli_flag_sett", "--kb", userkb.path, cwd=tmp_path)
    assert done.returncode == 2
    assert "no rule or fact named 'cli_flag_sett'" in done.stderr
    assert "Did you mean: cli_flag_set" in done.stderr
    assert done.stdout == ""


def test_graph_dot_and_json(advisor, userkb, tmp_path):
    dot = advisor("kb", "graph", "--format", "dot", "--kb", userkb.path, cwd=tmp_path)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith("digraph advisor_kb {")
    assert dot.stdout.rstrip().endswith("}")
    assert '"fact:cli.flag" -> "rule:cli_flag_set";' in dot.stdout
    assert '"conclusion:cli_flag_set" -> "rule:cli_level_high";' in dot.stdout
    assert '"rule:cli_level_high" -> "conclusion:cli_level_high";' in dot.stdout
    done = advisor("kb", "graph", "--format", "json", "--kb", userkb.path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    graph = json.loads(done.stdout)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes["rule:cli_level_high"]["kind"] == "rule"
    assert nodes["fact:cli.level"]["asked"] is True
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert ("fact:cli.level", "rule:cli_level_high") in edges
    assert ("conclusion:cli_flag_set", "rule:cli_level_high") in edges


def test_kb_test_counts_and_failures(advisor, userkb, tmp_path):
    done = advisor("kb", "test", "--kb", userkb.path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    passed, failed = last.split(", ")
    assert passed.endswith(" passed") and failed == "0 failed"
    total = int(passed.split()[0])
    assert total >= 4
    # a failing example: `kb test` still runs (it does not stop at validation) and says where
    userkb.write("rules.yaml", USER_RULES.replace("{cli.flag: true, cli.level: 1}",
                                                  "{cli.flag: true, cli.level: 9}"))
    done = advisor("kb", "test", "-v", userkb.path, cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[-1] == f"{total - 1} passed, 1 failed"
    assert "FAIL  cli_level_high  (1/2)" in lines
    assert "PASS  cli_flag_set  (2/2)" in lines
    assert any(line.strip().startswith("kb/rules.yaml:25:9: example of rule 'cli_level_high' "
                                       "should stay silent") for line in lines)


def test_no_kb_subcommand_is_a_usage_error(advisor, tmp_path):
    done = advisor("kb", cwd=tmp_path)
    assert done.returncode == 2
    assert "usage: advisor kb" in done.stderr


def test_help_lists_the_commands(advisor, tmp_path):
    done = advisor("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("kb", "diagnose", "probe", "demo", "tui"):
        assert command in done.stdout


def test_validate_strict_fails_on_warnings(advisor, userkb, tmp_path):
    userkb.write("orphan.yaml", """\
facts:
  - {name: cli.nobody, type: bool, meaning: Nothing measures or asks it.}
rules:
  - id: cli_orphan
    title: Orphan
    kind: symptom
    severity: warning
    cf: 0.5
    when: {fact: cli.nobody, is: true}
    explanation: Never fires.
    sources: [{ref: "https://example.org/orphan"}]
    examples:
      - {given: {cli.nobody: true}, expect: fires}
      - {given: {cli.nobody: false}, expect: silent}
""")
    done = advisor("kb", "validate", "kb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warning = ("kb/orphan.yaml:4:5: rule 'cli_orphan' can never fire: no fact it needs is "
               "measured or asked [warning]")
    assert warning in done.stderr.splitlines()
    strict = advisor("kb", "validate", "--strict", "kb", cwd=tmp_path)
    assert strict.returncode == 2
    assert warning in strict.stderr.splitlines()


def test_long_loads_show_progress_when_asked(advisor, tmp_path, cli_env):
    """Issue 8 #2: a long load says how far it got (on a terminal, or with ADVISOR_PROGRESS=1);
    a plain redirected run stays quiet."""
    loud = advisor("kb", "validate", cwd=tmp_path, env=cli_env(ADVISOR_PROGRESS="1"))
    assert loud.returncode == 0, loud.stderr
    assert "advisor kb: " in loud.stderr and "facts.yaml (0/" in loud.stderr
    assert "checking the rule graph" in loud.stderr
    quiet = advisor("kb", "validate", cwd=tmp_path, env=cli_env())
    assert quiet.returncode == 0 and quiet.stderr == ""
