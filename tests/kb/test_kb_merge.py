"""Merging user knowledge with the built-in base: clashes, `replaces: true`, ADVISOR_KB_PATH.

The built-in folder is pointed at a small base in tmp_path (`builtin_dir` is the loader's only
notion of "built-in"), so these tests do not depend on the shipped knowledge files.
"""

from __future__ import annotations

import os

import pytest

from advisor.kb import KBError, load_kb
from advisor.kb import loader as kb_loader


@pytest.fixture
def builtin(new_kbdir, facts_yaml, rule_yaml, monkeypatch):
    base = new_kbdir("builtin")
    base.write("facts.yaml", facts_yaml)
    base.write("rules/core.yaml", "rules:\n" + rule_yaml(
        "core_rule", {"fact": "s.a", "is": True}, cf=0.6, title="Core rule",
        fires={"s.a": True}, silent={"s.a": False}))
    monkeypatch.setattr(kb_loader, "builtin_dir", lambda: base.path)
    return base


def problems(extra, **kwargs) -> list[str]:
    with pytest.raises(KBError) as info:
        load_kb(extra, **kwargs)
    return [str(p) for p in info.value.problems]


def test_builtin_alone_loads(builtin):
    kb = load_kb(use_env=False)
    assert list(kb.rules) == ["core_rule"]
    assert kb.files == [os.path.relpath(builtin.path / "facts.yaml"),
                        os.path.relpath(builtin.path / "rules" / "core.yaml")]


def test_user_rule_with_a_builtin_id_is_an_error_naming_both_files(builtin, new_kbdir,
                                                                 rule_yaml, where):
    user = new_kbdir("user")
    path = user.write("mine.yaml", "rules:\n" + rule_yaml(
        "core_rule", {"fact": "s.b", "is": True}, fires={"s.b": True}, silent={"s.b": False}))
    assert problems([user.path], use_env=False) == [
        f"{where(path, 2, 5)}: duplicate rule id 'core_rule': already defined at "
        f"{where(builtin.path / 'rules' / 'core.yaml', 2, 5)}; rename it, or add "
        "'replaces: true' to a user rule that deliberately replaces a built-in one"]


def test_replaces_true_replaces_the_builtin_rule(builtin, new_kbdir, rule_yaml, facts_yaml):
    user = new_kbdir("user")
    user.write("extra_facts.yaml", "facts:\n  - {name: u.x, type: bool, meaning: U, "
                                   "measured: probe}\n")
    user.write("mine.yaml", "rules:\n" + rule_yaml(
        "core_rule", {"fact": "s.b", "is": True}, cf=0.9, title="My core rule",
        fires={"s.b": True}, silent={"s.b": False}, extra="replaces: true")
        + rule_yaml("u_rule", {"fact": "u.x", "is": True}, fires={"u.x": True},
                    silent={"u.x": False}))
    kb = load_kb([user.path], use_env=False)
    assert kb.rules["core_rule"].title == "My core rule"
    assert kb.rules["core_rule"].replaces
    assert list(kb.rules) == ["core_rule", "u_rule"]
    from advisor.engine import Engine

    result = Engine(kb).diagnose({"s.a": True, "s.b": True})
    assert result.get("core_rule").certainty == pytest.approx(0.9)  # only the user's rule


def test_replaces_true_cannot_replace_another_user_rule(builtin, new_kbdir, rule_yaml, where):
    one, two = new_kbdir("one"), new_kbdir("two")
    text = "rules:\n" + rule_yaml("u_rule", {"fact": "s.b", "is": True}, fires={"s.b": True},
                                  silent={"s.b": False}, extra="replaces: true")
    first = one.write("a.yaml", text)
    second = two.write("b.yaml", text)
    found = problems([one.path, two.path], use_env=False)
    assert len(found) == 1
    assert found[0].startswith(f"{where(second, 2, 5)}: duplicate rule id 'u_rule': already "
                               f"defined at {where(first, 2, 5)}")


def test_user_fact_replacing_a_builtin_fact(builtin, new_kbdir, where):
    user = new_kbdir("user")
    path = user.write("facts.yaml", """\
        facts:
          - name: q.n
            type: number
            meaning: My own meaning.
            measured: my probe
        """)
    assert problems([user.path], use_env=False) == [
        f"{where(path, 2, 5)}: duplicate fact name 'q.n': already defined at "
        f"{where(builtin.path / 'facts.yaml', 20, 5)}; rename it, or add 'replaces: true' to a "
        "user fact that deliberately replaces a built-in one"]
    user.write("facts.yaml", path.read_text() + "    replaces: true\n")
    kb = load_kb([user.path], use_env=False)
    assert kb.facts["q.n"].meaning == "My own meaning."


def test_user_file_path_instead_of_a_directory(builtin, new_kbdir, rule_yaml):
    user = new_kbdir("user")
    path = user.write("single.yaml", "rules:\n" + rule_yaml(
        "u_rule", {"fact": "s.b", "is": True}, fires={"s.b": True}, silent={"s.b": False}))
    user.write("ignored.txt", "not yaml: [")
    kb = load_kb([path], use_env=False)
    assert set(kb.rules) == {"core_rule", "u_rule"}


def test_env_var_adds_user_directories(builtin, new_kbdir, rule_yaml, monkeypatch):
    one, two = new_kbdir("one"), new_kbdir("two")
    one.write("a.yml", "rules:\n" + rule_yaml(
        "u_one", {"fact": "s.b", "is": True}, fires={"s.b": True}, silent={"s.b": False}))
    two.write("b.yaml", "rules:\n" + rule_yaml(
        "u_two", {"fact": "s.c", "is": True}, fires={"s.c": True}, silent={"s.c": False}))
    monkeypatch.setenv("ADVISOR_KB_PATH", os.pathsep.join([str(one.path), "", str(two.path)]))
    kb = load_kb()
    assert list(kb.rules) == ["core_rule", "u_one", "u_two"]
    assert list(load_kb(use_env=False).rules) == ["core_rule"]
    monkeypatch.setenv("ADVISOR_KB_PATH", str(one.path / "missing"))
    assert problems(()) == [f"{one.path / 'missing'}: no such knowledge file or directory"]


def test_examples_may_use_builtin_facts_and_rules(builtin, new_kbdir, rule_yaml):
    user = new_kbdir("user")
    user.write("mine.yaml", "rules:\n" + rule_yaml(
        "u_more", {"fact": "s.c", "is": True}, cf=0.5, concludes="core_rule",
        fires={"s.c": True, "s.a": True}, silent={"s.c": False})
        + rule_yaml("u_uses", {"rule": "core_rule"}, cf=0.9, severity="warning",
                    fires={"s.a": True}, silent={"s.a": False}))
    kb = load_kb([user.path], use_env=False)
    assert kb.rules["u_more"].conclusion == "core_rule"
    assert [r.id for r in kb.diagnoses] == ["core_rule", "u_uses"]
