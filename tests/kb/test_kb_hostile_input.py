"""Hostile or broken input costs bounded time and memory and gets a located message (issue 8,
points 1-3 and 7): alias bombs, huge files, non-UTF-8 bytes, tabs, empty knowledge folders."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from advisor.kb import KBError, Location, load_kb
from advisor.kb.semantics import check_facts
from advisor.kb.yamlsource import YamlError, parse_yaml

REPO = Path(__file__).resolve().parents[2]

# "Billion laughs": nine levels of nine aliases each, 400 bytes that expand to 9**9 strings.
BOMB = "".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]\n"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)]
)


def _run_capped(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a child limited to 1 GiB of address space; the old loader grew without
    end on BOMB, so a regression hits the cap (MemoryError) or the timeout instead of the box."""
    prelude = textwrap.dedent("""\
        import resource
        limit = 1 << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("ADVISOR_KB_PATH", None)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def test_alias_bomb_in_a_knowledge_folder_is_refused_with_its_location(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "rules.yaml").write_text(BOMB, encoding="utf-8")
    # load_kb is what `advisor kb validate` and the TUI's "load a knowledge folder" call
    done = _run_capped("""
        from advisor.kb import KBError, load_kb
        try:
            load_kb(["kb"], builtin=False, use_env=False)
        except KBError as exc:
            print("\\n".join(map(str, exc.problems)))
        """, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (
        "kb/rules.yaml:2:10: YAML: an alias of a list (anchored at line 1, column 5) is not "
        "allowed in advisor files: write the values out (aliases let a few hundred bytes "
        "expand to gigabytes)")


def test_alias_bomb_in_a_facts_file_is_refused_by_diagnose(tmp_path):
    (tmp_path / "facts.yaml").write_text(BOMB, encoding="utf-8")
    done = _run_capped("""
        import sys
        from advisor.cli import main
        sys.exit(main(["diagnose", "facts.yaml"]))
        """, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "facts.yaml:2:10: YAML: an alias of a list (anchored at line 1, column 5) is not " \
           "allowed" in done.stderr
    assert "Traceback" not in done.stderr


def test_alias_bomb_as_text_is_refused_by_parse_yaml(tmp_path):
    """What every other reader (reports included) calls."""
    done = _run_capped(f"""
        from advisor.kb.yamlsource import YamlError, parse_yaml
        try:
            parse_yaml({BOMB!r}, "report.yaml")
        except YamlError as exc:
            print(exc.problem)
        """, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("report.yaml:2:10: YAML: an alias of a list")


def test_aliases_are_placed_at_the_alias_in_lists_and_mappings():
    with pytest.raises(YamlError) as info:
        parse_yaml("base: &b {x: 1}\nitems:\n  - 1\n  - *b\n", "f.yaml")
    assert str(info.value.problem).startswith("f.yaml:4:5: YAML: an alias of a mapping "
                                              "(anchored at line 1, column 7)")
    with pytest.raises(YamlError) as info:
        parse_yaml("base: &b {x: 1}\nmore: {<<: *b, y: 2}\n", "f.yaml")
    assert str(info.value.problem).startswith("f.yaml:2:8: YAML: a merge key (<<) is not "
                                              "allowed")


def test_alias_placement_counts_characters_not_bytes():
    with pytest.raises(YamlError) as info:
        parse_yaml("caf\u00e9: &b {x: 1}\nitems: [1, *b]\n", "f.yaml")
    assert str(info.value.problem).startswith("f.yaml:2:12: YAML: an alias of a mapping "
                                              "(anchored at line 1, column 7)")


def test_an_alias_of_a_single_value_is_harmless_and_kept():
    assert parse_yaml("a: &lr 0.5\nb: *lr\n", "f.yaml").data == {"a": 0.5, "b": 0.5}


def test_non_utf8_file_gets_line_column_and_what_to_do(kbdir, where):
    path = kbdir.path / "rules.yaml"
    kbdir.path.mkdir(parents=True, exist_ok=True)
    path.write_bytes("rules:\n  # caf\u00e9 ok\n  - id: x\xe9y\n".encode("utf-8")
                     .replace("x\xc3\xa9y".encode("latin-1"), b"x\xe9y"))
    with pytest.raises(KBError) as info:
        kbdir.load()
    assert [str(p) for p in info.value.problems] == [
        f"{where(path, 3, 10)}: not UTF-8 text (byte 0xe9 at column 10); save the file as UTF-8"]


def test_read_yaml_file_reports_non_utf8_for_any_reader(tmp_path):
    from advisor.kb.yamlsource import read_yaml_file

    path = tmp_path / "facts.yaml"
    path.write_bytes(b"optim.lr: 0.1\nnote: \xff\n")
    with pytest.raises(YamlError) as info:
        read_yaml_file(path, "facts.yaml")
    assert str(info.value.problem) == ("facts.yaml:2:7: not UTF-8 text (byte 0xff at column 7); "
                                       "save the file as UTF-8")


def test_tab_in_a_facts_file_says_use_spaces():
    with pytest.raises(YamlError) as info:
        parse_yaml("optim:\n\tlr: 0.1\n", "facts.yaml")
    assert str(info.value.problem) == ("facts.yaml:2:1: YAML: a tab in the indentation; use "
                                       "spaces for indentation, not tabs")


@pytest.mark.slow
def test_many_unknown_facts_are_listed_capped(kbdir, facts_yaml, tmp_path):
    """200,000 unknown names: 20 listed with a did-you-mean, then one line counting the rest.
    The old code ran difflib over the whole catalogue for every name (about 0.5 ms each)."""
    kbdir.write("facts.yaml", facts_yaml)
    kb = kbdir.load(check_examples=False)
    text = "".join(f"unknown.name_{i}: {i}\n" for i in range(200_000)) + "s.a: true\n"
    doc = parse_yaml(text, "many.yaml")
    locations = {k: doc.at((k,), key=True) for k in doc.data}
    problems = check_facts(kb, doc.data, Location("many.yaml", 1, 1), locations)
    assert len(problems) == 21
    assert str(problems[0]) == "many.yaml:1:1: unknown fact 'unknown.name_0'"
    assert str(problems[19]) == "many.yaml:20:1: unknown fact 'unknown.name_19'"
    assert str(problems[20]) == ("many.yaml:1:1: unknown fact names: 199,980 more not listed "
                                 "(200,000 in all; the first 20 are above)")


def test_a_huge_value_is_echoed_cut(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kb = kbdir.load(check_examples=False)
    huge = "x" * 5_000_000
    doc = parse_yaml(f"q.n: {huge}\n", "big.yaml")
    [problem] = check_facts(kb, doc.data, Location("big.yaml", 1, 1))
    assert str(problem) == ("big.yaml:1:1: fact 'q.n' is number, got string '" + "x" * 79
                            + "…' (5,000,000 characters)")


def test_bad_values_are_capped_too(kbdir, facts_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kb = kbdir.load(check_examples=False)
    problems = check_facts(kb, {"q.n": "many", "s.a": "yes"}, Location("f.yaml"), listed=1)
    assert [p.message for p in problems] == [
        "fact 'q.n' is number, got string 'many'",
        "values a fact does not accept: 1 more not listed (2 in all; the first 1 are above)"]


def test_progress_is_reported_per_file_and_stage(kbdir, facts_yaml, rule_yaml):
    from advisor.engine.examples import check_kb_examples

    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + rule_yaml("r", {"fact": "s.a", "is": True},
                                                     fires={"s.a": True}, silent={"s.a": False}))
    calls: list[tuple[str, int, int]] = []
    kbdir.load(progress=lambda what, done, total: calls.append((what, done, total)),
               example_checker=check_kb_examples)
    files = [os.path.relpath(kbdir.path / name) for name in ("facts.yaml", "rules.yaml")]
    assert calls == [(files[0], 0, 2), (files[1], 1, 2), ("checking references", 0, 1),
                     ("checking the rule graph", 0, 1), ("checking examples", 0, 1)]


def test_an_empty_knowledge_folder_is_a_problem(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("not yaml\n", encoding="utf-8")
    with pytest.raises(KBError) as info:
        load_kb([empty], builtin=False, use_env=False, check_examples=False)
    assert [str(p) for p in info.value.problems] == [
        f"{os.path.relpath(empty)}: holds no YAML files (*.yaml, *.yml)"]
