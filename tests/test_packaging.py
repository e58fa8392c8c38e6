"""The wheel ships the knowledge base and the TUI, and a fresh install validates its base from
any directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORED = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache",
           ".hypothesis", "node_modules"}

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the working tree (no stale build/ folder can leak in)."""
    root = tmp_path_factory.mktemp("pkg")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=lambda d, names: [
        n for n in names if n in IGNORED or n.endswith(".egg-info") or n.endswith(".pyc")])
    out = root / "dist"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
          "-w", out], cwd=source)
    [built] = out.glob("advisor-*.whl")
    return built


def test_wheel_contains_knowledge_and_tui(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "advisor/knowledge/facts.yaml" in names
    assert "advisor/knowledge/schema.json" in names
    rules = [n for n in names if fnmatch(n, "advisor/knowledge/rules/*.yaml")]
    expected = sorted("advisor/" + p.relative_to(REPO).as_posix()
                      for p in (REPO / "knowledge" / "rules").glob("*.yaml"))
    assert rules and sorted(rules) == expected
    assert "advisor/tui/__init__.py" in names
    assert any(fnmatch(n, "advisor/tui/*.tcss") or fnmatch(n, "advisor/tui/**/*.tcss")
               for n in names)
    for module in ("advisor/cli.py", "advisor/kb/loader.py", "advisor/engine/forward.py",
                   "advisor/report/render.py", "advisor/commands/kb.py",
                   "advisor/commands/logs.py", "advisor/logs/readers/tensorboard.py"):
        assert module in names
    for measured in ("probing", "watching", "logs"):
        assert f"advisor/{measured}/MEASUREMENTS.md" in names
    # nothing generic at the top level of site-packages, and no dev-only scripts
    tops = {n.split("/")[0] for n in names}
    assert tops == {"advisor", next(t for t in tops if t.endswith(".dist-info"))}, tops
    assert not [n for n in names if "screenshots" in n or "capture" in n]


def test_installed_wheel_validates_its_builtin_base(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "ADVISOR_KB_PATH", "PYTHONHOME")}
    _run([python, "-m", "pip", "install", "--no-deps", "--quiet", wheel], cwd=tmp_path, env=env)
    _run([python, "-m", "pip", "install", "--quiet", "pyyaml", "networkx", "rich"],
         cwd=tmp_path, env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run([bindir / "advisor", "kb", "validate"], cwd=elsewhere, env=env)
    assert done.stdout.startswith("knowledge base OK: ")
    rule_files = len(list((REPO / "knowledge" / "rules").glob("*.yaml")))
    files = int(done.stdout.split(" from ")[1].split(" file")[0])
    assert files >= rule_files + 1  # facts.yaml and every rule file, found in site-packages
    where = _run([python, "-c", "import advisor.kb as k; print(k.builtin_dir())"],
                 cwd=elsewhere, env=env).stdout.strip()
    assert "site-packages" in where and str(REPO) not in where
    # and it diagnoses with the installed base
    facts = elsewhere / "facts.yaml"
    facts.write_text("loss.trend: diverging\noptim.lr: 0.5\n", encoding="utf-8")
    done = _run([bindir / "advisor", "diagnose", facts, "--format", "json"], cwd=elsewhere,
                env=env)
    assert '"schema": "advisor-diagnosis/1"' in done.stdout
