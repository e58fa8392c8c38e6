"""One reader, two modes: strict (diagnose: every problem an error with file:line) and lenient
(the TUI: what can be read is kept, the rest listed); and the one rule for output folders."""

from __future__ import annotations

import json

import pytest

from advisor.errors import UsageError
from advisor.report import MissingFolderError, write_atomic
from advisor.report.reader import ReportError, read_report


@pytest.fixture
def kb(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    return kbdir.load()


def test_strict_lists_every_problem_with_its_line(kb, tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text("s.a: true\nq.n: many\nq.color: purple\n", encoding="utf-8")
    with pytest.raises(ReportError) as err:
        read_report(path, kb, strict=True)
    message = str(err.value)
    assert f"{path}:2:1: fact 'q.n' is number, got string 'many'" in message
    assert f"{path}:3:1: " in message and "purple" in message
    assert len(err.value.problems) == 2


def test_lenient_keeps_what_it_can_and_lists_the_rest(kb, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"schema": "advisor-probe-report/1",
                                "facts": {"s.a": True, "q.n": "many", "new.fact": 1},
                                "series": {"loss": [2.0, None, 1.0]}}), encoding="utf-8")
    stored = read_report(path, kb, strict=False)
    assert stored.facts == {"s.a": True}
    assert stored.ignored == ["new.fact"]
    assert [p.location.line for p in stored.problems] == [1]
    assert "many" in stored.problems[0].message
    assert stored.series == {"loss": [2.0, 1.0]}


def test_a_report_sets_aside_unknown_facts_but_a_facts_file_names_the_typo(kb, tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"facts": {"s.a": True, "probe.only": 3}}), encoding="utf-8")
    assert read_report(report, kb, strict=True).facts == {"s.a": True, "probe.only": 3}
    plain = tmp_path / "facts.yaml"
    plain.write_text("s.a: true\ns.b: false\nq.nn: 3\n", encoding="utf-8")
    with pytest.raises(ReportError, match=rf"{plain}:3:1: unknown fact 'q.nn'"):
        read_report(plain, kb, strict=True)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("r.json", '{"facts": {"s.a": true,,}}', "r.json:1:24: not valid JSON"),
    ("r.yaml", "s.a: [true\n", "r.yaml:2:1: YAML: "),
    ("r.json", json.dumps({"schema": "advisor-probe-report/3", "facts": {}}),
     "reads advisor-probe-report/1, advisor-diagnosis/1, not 'advisor-probe-report/3'"),
    ("r.yaml", "- s.a\n", "r.yaml:1:1: expected a mapping of fact names to values"),
])
def test_unreadable_files_say_where_in_both_modes(kb, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    for strict in (True, False):
        with pytest.raises(ReportError) as err:
            read_report(path, kb, strict=strict)
        if strict or "mapping" not in message:
            assert message in str(err.value)


def test_a_file_that_is_not_utf8_names_the_line(kb, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"s.a: true\nq.color: \xff\n")
    with pytest.raises(ReportError, match=r"r.yaml:2:\d+: not UTF-8 text.*save the file as UTF-8"):
        read_report(path, kb)


def test_write_atomic_refuses_a_folder_that_does_not_exist(tmp_path):
    target = tmp_path / "missing" / "r.json"
    with pytest.raises(MissingFolderError) as err:
        write_atomic(target, "{}")
    assert str(err.value) == (f"the folder {tmp_path / 'missing'} does not exist; create it "
                              "or choose another path")
    assert isinstance(err.value, UsageError)  # exit 2, like the probe's --json check
    assert not (tmp_path / "missing").exists()
    (tmp_path / "missing").mkdir()
    assert write_atomic(target, "{}").read_text() == "{}"
