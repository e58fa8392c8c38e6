"""The plain training scripts of examples/scripts/ that `advisor watch` diagnoses.

They are the watch's test subjects, so they must hold what the watch relies on: each one runs
as a plain `python SCRIPT.py` without crashing, is seeded (two runs print the same), makes
enough optimizer steps with its defaults for a 200-step watch and validates within the first
~150 steps, and examples/scripts/expected.yaml names the diagnosis of every one of them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPTS_DIR = REPO / "examples" / "scripts"
# ddp_*.py run under torchrun (advisor watch --nproc 2): tests/watch/test_distributed.py
SCRIPTS = sorted(path.name for path in SCRIPTS_DIR.glob("*.py")
                 if not path.name.startswith("ddp_"))

# The loop diagnosis ids of issue 10 (WATCH_SPEC.md "Diagnosis ids (exactly these)").
LOOP_DIAGNOSIS_IDS = {
    "missing_zero_grad",
    "double_backward",
    "model_left_in_eval_mode",
    "scheduler_stepped_per_batch",
    "scheduler_misuse",
    "accumulation_without_loss_scaling",
    "optimizer_step_missing",
    "no_gradient_flow",
    "validation_gradients_leak",
    "untrained_parameters",
}

# The watch observes 200 steps by default: a script's default run must go past that, and its
# first validation pass (model.eval()) must come early enough to be seen.
MIN_DEFAULT_STEPS = 250
MAX_STEPS_BEFORE_VALIDATION = 150

# Modules a plain user script may import: the standard library, torch, scikit-learn. Never
# advisor: the watch must see an unchanged script.
ALLOWED_TOP_LEVEL_IMPORTS = {"argparse", "math", "torch", "sklearn"}

# Runs a script as `python SCRIPT.py args` would (runpy, __main__, its own argv) and counts,
# with public hooks only, its optimizer steps, its backward passes and the step count at the
# first model.eval(); prints them as one JSON line on stderr when the script ends.
STEP_COUNTER = r'''
import atexit, json, runpy, sys
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

counts = {"optimizer_steps": 0, "backward_passes": 0, "first_eval_at": None}


def count_step(*_):
    counts["optimizer_steps"] += 1


register_optimizer_step_post_hook(count_step)
original_backward = torch.Tensor.backward
original_eval = torch.nn.Module.eval


def counting_backward(self, *args, **kwargs):
    counts["backward_passes"] += 1
    return original_backward(self, *args, **kwargs)


def recording_eval(self):
    if counts["first_eval_at"] is None:
        counts["first_eval_at"] = counts["optimizer_steps"] or counts["backward_passes"]
    return original_eval(self)


torch.Tensor.backward = counting_backward
torch.nn.Module.eval = recording_eval
atexit.register(lambda: print("STEP-COUNTS " + json.dumps(counts), file=sys.stderr))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def load_expected() -> dict:
    with open(SCRIPTS_DIR / "expected.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def script_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def run_script(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO, env=script_env(),
        timeout=timeout,
    )


def default_epochs(script: str) -> int:
    """The script's own --epochs default, read from its argparse call."""
    source = (SCRIPTS_DIR / script).read_text(encoding="utf-8")
    found = re.search(r'"--epochs", type=int, default=(\d+)', source)
    assert found, f"{script}: no `--epochs` argument with an int default"
    return int(found.group(1))


def test_there_are_healthy_scripts_and_one_per_loop_diagnosis():
    expected = load_expected()
    healthy = [name for name, diagnosis in expected.items() if diagnosis is None]
    assert len(healthy) >= 8
    assert set(expected.values()) - {None} == LOOP_DIAGNOSIS_IDS
    assert len(SCRIPTS) >= 18


def test_expected_yaml_lists_every_script_and_only_scripts():
    assert sorted(load_expected()) == SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_expected_diagnosis_is_an_issue_id_or_null(script):
    diagnosis = load_expected()[script]
    assert diagnosis is None or diagnosis in LOOP_DIAGNOSIS_IDS, (
        f"{script}: {diagnosis!r} is not one of the loop diagnosis ids"
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_docstring_states_the_same_expected_diagnosis(script):
    docstring = ast.get_docstring(ast.parse((SCRIPTS_DIR / script).read_text(encoding="utf-8")))
    assert docstring, f"{script} has no module docstring"
    stated = re.search(r"Expected diagnosis: (\w+)\.", docstring)
    assert stated, f"{script}: its docstring does not say 'Expected diagnosis: ...'"
    expected = load_expected()[script]
    assert stated.group(1) == (expected or "none")
    if expected is not None:
        assert "Bug:" in docstring or "Bugs:" in docstring, f"{script}: the bug is not described"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_a_plain_user_script(script):
    """argparse, a seeded shuffling DataLoader, an explicit loop, a __main__ guard, and only
    torch/scikit-learn/standard-library imports (never advisor)."""
    source = (SCRIPTS_DIR / script).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= ALLOWED_TOP_LEVEL_IMPORTS, f"{script} imports {imported}"
    for needed in ('"--epochs"', '"--batch-size"', '"--lr"', '"--seed"',
                   "torch.manual_seed(args.seed)", "shuffle=True", "generator=generator",
                   "for xb, yb in", 'if __name__ == "__main__":'):
        assert needed in source, f"{script} lacks {needed}"


def test_readme_table_has_every_script_with_its_diagnosis():
    readme = (SCRIPTS_DIR / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].endswith(".py"):
            rows[cells[0]] = cells[1]
    assert sorted(rows) == SCRIPTS
    for script, diagnosis in load_expected().items():
        assert rows[script] == (diagnosis or "none"), script


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_runs_an_epoch_and_has_enough_steps(script, tmp_path):
    counter = tmp_path / "count_steps.py"
    counter.write_text(STEP_COUNTER, encoding="utf-8")
    result = run_script([str(counter), str(SCRIPTS_DIR / script), "--epochs", "1",
                         "--device", "cpu"])
    assert result.returncode == 0, f"{script} failed:\n{result.stderr[-3000:]}"
    assert re.search(r"^final .*val_", result.stdout, re.MULTILINE), result.stdout
    counts_line = [line for line in result.stderr.splitlines() if line.startswith("STEP-COUNTS")]
    counts = json.loads(counts_line[-1].split(" ", 1)[1])
    assert counts["backward_passes"] > 0
    steps_per_epoch = counts["first_eval_at"]
    assert steps_per_epoch, f"{script}: no model.eval() (validation) after the first epoch"
    assert steps_per_epoch <= MAX_STEPS_BEFORE_VALIDATION
    assert steps_per_epoch * default_epochs(script) >= MIN_DEFAULT_STEPS, (
        f"{script}: {steps_per_epoch} steps per epoch x {default_epochs(script)} epochs"
    )


@pytest.mark.slow
@pytest.mark.parametrize("script", ["healthy_mlp.py", "healthy_transformer.py"])
def test_healthy_script_is_seeded(script):
    """Two runs print the same losses: the watch's bit-identity check compares such runs."""
    args = [str(SCRIPTS_DIR / script), "--epochs", "2", "--device", "cpu"]
    first, second = run_script(args), run_script(args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "val_loss" in first.stdout
    assert first.stdout == second.stdout
