"""Shared fixtures: small knowledge bases written to real files, and the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class KBDir:
    """A user knowledge directory in tmp_path: write YAML files into it, then load it."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, text: str) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return target

    def load(self, **kwargs):
        from advisor.kb import load_kb

        kwargs.setdefault("builtin", False)
        kwargs.setdefault("use_env", False)
        return load_kb([self.path], **kwargs)

    def engine(self, **kwargs):
        from advisor.engine import Engine

        return Engine(self.load(**kwargs))


def _where(path: Path, line: int, col: int) -> str:
    """How the loader prints a location: the path relative to the working directory."""
    return f"{os.path.relpath(path)}:{line}:{col}"


@pytest.fixture
def where():
    return _where


@pytest.fixture
def kbdir(tmp_path: Path) -> KBDir:
    return KBDir(tmp_path / "kb")


@pytest.fixture(autouse=True)
def _no_user_kb_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVISOR_KB_PATH", raising=False)


def _cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ADVISOR_KB_PATH", "ADVISOR_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _run_advisor(*args: str, cwd: Path | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m advisor ARGS` in a real subprocess."""
    return subprocess.run([sys.executable, "-m", "advisor", *map(str, args)], cwd=cwd or REPO,
                          env=env or _cli_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture
def advisor():
    """Run the command line: `advisor("kb", "list", cwd=tmp_path)` -> CompletedProcess."""
    return _run_advisor


@pytest.fixture
def cli_env():
    return _cli_env


# A small fact catalogue most tests start from: measured bools, asked facts of every type.
FACTS_YAML = """\
facts:
  - name: s.a
    type: bool
    meaning: Measured flag a.
    measured: by the probe
  - name: s.b
    type: bool
    meaning: Measured flag b.
    measured: by the probe
  - name: s.c
    type: bool
    meaning: Measured flag c.
    measured: by the probe
  - name: q.flag
    type: bool
    meaning: Asked flag.
    ask:
      question: Is the flag set?
      help: Look at the flag.
  - name: q.n
    type: number
    meaning: Asked number.
    ask:
      question: How many?
      help: Count them.
  - name: q.color
    type: enum
    values: [red, green, blue]
    meaning: Asked colour.
    measured: by the probe
    ask:
      question: Which colour?
      help: Pick one.
      choices: {red: Red, green: Green, blue: Blue}
  - name: s.label
    type: string
    meaning: Measured label.
    measured: by the probe
"""


def _rule_yaml(rid: str, when: object, *, cf: float = 0.8, kind: str = "cause",
               severity: str = "error", title: str = "", concludes: str = "",
               fires: object = None, silent: object = None, extra: str = "") -> str:
    """One rule as a YAML list item (flow style for `when` and the examples' facts)."""
    import json

    lines = [f"  - id: {rid}",
             f"    title: {title or rid.replace('_', ' ').capitalize()}",
             f"    kind: {kind}",
             f"    severity: {severity}",
             f"    cf: {cf}",
             f"    when: {json.dumps(when)}",
             "    explanation: A rule written for the tests.",
             "    sources: [{ref: 'https://example.org/kb'}]"]
    if concludes:
        lines.append(f"    concludes: {concludes}")
    elif kind != "symptom":
        lines.append("    remedies: [{action: Fix it.}]")
    lines += ["    examples:",
              f"      - {{given: {json.dumps(fires or {})}, expect: fires}}",
              f"      - {{given: {json.dumps(silent or {})}, expect: silent}}"]
    if extra:
        lines += ["    " + line for line in textwrap.dedent(extra).strip().splitlines()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def rule_yaml():
    return _rule_yaml


@pytest.fixture
def facts_yaml() -> str:
    return FACTS_YAML


@pytest.fixture
def new_kbdir(tmp_path: Path):
    """Several knowledge directories in one test: `new_kbdir("user")`."""
    return lambda name: KBDir(tmp_path / name)


# ------------------------------------------------------------------------------ test tiers
# `make test` runs the fast tier (`pytest -m "not slow"`); `make test-all` and CI run everything.
# Whole folders that belong to the full suite only: real Textual apps (Pilot, snapshots) and
# the wheel build. Single slow tests elsewhere carry @pytest.mark.slow themselves.
FULL_SUITE_ONLY = ("tui", "test_packaging.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent
    for item in items:
        try:
            first = Path(str(item.fspath)).resolve().relative_to(root).parts[0]
        except ValueError:
            continue
        if first in FULL_SUITE_ONLY:
            item.add_marker(pytest.mark.slow)
