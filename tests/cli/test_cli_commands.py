"""The command table and the rules every command shares: `--version`, knowledge folders checked
before any work, numbers refused at the command line, output paths refused up front, folders
named where a file is expected, and Ctrl-C exiting 130 with what was done written."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from advisor import __version__
from advisor.cli import COMMANDS, build_parser, main
from advisor.errors import EXIT_INTERRUPTED, EXIT_USAGE

# A setup whose setup() leaves a marker file: a test can tell whether the probe started.
MARKED_SETUP = """\
import pathlib

def setup():
    pathlib.Path(__file__).with_name("setup_ran").write_text("yes")
    raise SystemExit("the probe must not get this far")
"""

# A real little classifier whose forward sends SIGINT to its own process at its Nth call: Ctrl-C
# at a known point of the training run, with no timing involved.
INTERRUPTING_SETUP = """\
import os
import signal

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CALLS = {"n": 0}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x):
        CALLS["n"] += 1
        if CALLS["n"] == AT_CALL:
            os.kill(os.getpid(), signal.SIGINT)
        return self.body(x)


def setup():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = torch.randint(0, 3, (256,), generator=g)
    data = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                      generator=torch.Generator().manual_seed(0))
    return {"model": Net(), "train_data": data, "loss_fn": nn.CrossEntropyLoss()}
"""


def _write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def marked(tmp_path):
    return _write(tmp_path / "marked_setup.py", MARKED_SETUP)


# ----------------------------------------------------------------------------- the table
def test_every_command_is_one_row_of_the_table_with_add_arguments_and_run():
    assert [c.name for c in COMMANDS] == ["kb", "diagnose", "probe", "demo", "tui", "watch",
                                         "logs"]
    for command in COMMANDS:
        module = command.load()
        assert module.__name__ == f"advisor.commands.{command.name}"
        assert callable(module.add_arguments) and callable(module.run), command.name


def test_the_old_probe_cli_module_is_gone():
    import importlib.util

    assert importlib.util.find_spec("advisor.probing.cli") is None


def test_kb_option_is_added_once_per_command():
    parser = build_parser()
    for argv in (["kb", "list"], ["diagnose", "f.yaml"], ["probe", "s.py"], ["demo"], ["tui"]):
        args = parser.parse_args([*argv, "--kb", "a", "--kb", "b"])
        assert args.kb == ["a", "b"], argv


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"advisor {__version__}\n"
    assert __version__ == "0.1.0"


def test_python_m_advisor_probing_is_the_probe_command(tmp_path, cli_env, marked):
    done = subprocess.run([sys.executable, "-m", "advisor.probing", str(tmp_path), "--quiet"],
                          cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "is a directory" in done.stderr
    done = subprocess.run([sys.executable, "-m", "advisor.probing", "--steps", "0", "x.py"],
                          cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == EXIT_USAGE and "usage: advisor probe" in done.stderr


def test_an_unforeseen_error_is_an_internal_error_without_traceback(monkeypatch, capsys):
    import advisor.commands.kb as kb_command

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(kb_command, "load_kb", broken)
    monkeypatch.delenv("ADVISOR_DEBUG", raising=False)
    assert main(["kb", "list"]) == 3
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: boom" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- knowledge folders
def _broken_kb(tmp_path):
    folder = tmp_path / "broken_kb"
    folder.mkdir()
    (folder / "rules.yaml").write_text("rules:\n  - id: x\n    when: [unclosed\n",
                                       encoding="utf-8")
    return folder


def test_probe_refuses_a_missing_knowledge_folder_before_running(tmp_path, advisor, marked):
    done = advisor("probe", marked, "--kb", tmp_path / "no_such_kb", "--fail-on", "error",
                   "--quiet", cwd=tmp_path)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "no_such_kb" in done.stderr and "no such knowledge file or directory" in done.stderr
    assert not (tmp_path / "setup_ran").exists(), "the probe ran before the check"
    assert "Traceback" not in done.stderr


def test_probe_refuses_a_broken_knowledge_file_with_its_line(tmp_path, advisor, marked):
    broken = _broken_kb(tmp_path)
    done = advisor("probe", marked, "--kb", broken, "--quiet", cwd=tmp_path)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "rules.yaml:" in done.stderr and "knowledge base has problems" in done.stderr
    assert not (tmp_path / "setup_ran").exists(), "the probe ran before the check"


def test_probe_refuses_a_broken_ADVISOR_KB_PATH(tmp_path, advisor, cli_env, marked):
    broken = _broken_kb(tmp_path)
    done = advisor("probe", marked, "--quiet", cwd=tmp_path,
                   env=cli_env(ADVISOR_KB_PATH=str(broken)))
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "rules.yaml:" in done.stderr
    assert not (tmp_path / "setup_ran").exists(), "the probe ran before the check"


def test_diagnose_checks_the_knowledge_folders_before_reading_its_file(tmp_path, capsys):
    code = main(["diagnose", str(tmp_path / "missing_facts.yaml"),
                 "--kb", str(tmp_path / "no_such_kb")])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "no such knowledge file or directory" in err and "missing_facts" not in err


def test_tui_refuses_broken_knowledge_before_starting(tmp_path, cli_env):
    done = subprocess.run([sys.executable, "-m", "advisor", "tui", "--kb",
                           str(tmp_path / "no_such_kb")], cwd=tmp_path, env=cli_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_USAGE, done.stderr[-2000:]
    assert "no such knowledge file or directory" in done.stderr


# ----------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("budget", ["inf", "-inf", "nan", "-1", "0", "soon"])
def test_budget_must_be_a_finite_positive_number(budget, capsys):
    with pytest.raises(SystemExit) as done:
        main(["probe", "setup.py", "--budget", budget])
    assert done.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "argument --budget" in err and "Traceback" not in err


@pytest.mark.parametrize("steps", ["0", "-3", "2.5", "many"])
def test_steps_must_be_a_positive_integer(steps, capsys):
    with pytest.raises(SystemExit) as done:
        main(["demo", "--steps", steps])
    assert done.value.code == EXIT_USAGE
    assert "argument --steps" in capsys.readouterr().err


def test_a_finite_budget_is_accepted():
    args = build_parser().parse_args(["probe", "s.py", "--budget", "2.5", "--steps", "7"])
    assert (args.budget, args.steps) == (2.5, 7)


# ----------------------------------------------------------------------------- paths
def test_diagnose_refuses_an_output_folder_that_does_not_exist(tmp_path, capsys):
    facts = _write(tmp_path / "facts.yaml", "loss.trend: diverging\n")
    target = tmp_path / "nonexistent" / "x" / "out.txt"
    assert main(["diagnose", str(facts), "-o", str(target)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "does not exist" in err and "create it" in err
    assert not (tmp_path / "nonexistent").exists(), "diagnose created folders"


def test_probe_refuses_an_output_path_that_is_a_folder(tmp_path, advisor, marked):
    done = advisor("probe", marked, "--json", tmp_path, "--quiet", cwd=tmp_path)
    assert done.returncode == EXIT_USAGE
    assert "is a directory" in done.stderr
    assert not (tmp_path / "setup_ran").exists()


@pytest.mark.parametrize("spelled", ["{dir}", "{dir}/", "folder"])
def test_probe_says_a_folder_is_a_folder(tmp_path, advisor, spelled):
    (tmp_path / "folder").mkdir()
    target = spelled.format(dir=tmp_path / "folder")
    done = advisor("probe", target, "--quiet", cwd=tmp_path)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "is a directory" in done.stderr and "no such file" not in done.stderr
    assert "setup()" in done.stderr and "package.module:" in done.stderr


def test_tui_says_a_folder_is_a_folder(tmp_path, cli_env):
    done = subprocess.run([sys.executable, "-m", "advisor", "tui", str(tmp_path)], cwd=tmp_path,
                          env=cli_env(), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == EXIT_USAGE, done.stderr[-2000:]
    assert "is a directory" in done.stderr and ".json" in done.stderr
    assert "setup()" in done.stderr


# ----------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_during_a_probe_exits_130_and_writes_the_partial_report(tmp_path, advisor):
    setup = _write(tmp_path / "interrupting.py", INTERRUPTING_SETUP.replace("AT_CALL", "12"))
    out = tmp_path / "out.json"
    done = advisor("probe", setup, "--json", out, "--steps", "40", "--budget", "60",
                   "--quiet", cwd=tmp_path)
    assert done.returncode == EXIT_INTERRUPTED, done.stderr[-2000:]
    assert "interrupted during the" in done.stderr and str(out) in done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["partial"] is True


def test_ctrl_c_while_the_setup_loads_exits_130(tmp_path, advisor):
    setup = _write(tmp_path / "interrupt_in_setup.py",
                   "import os, signal\n\ndef setup():\n"
                   "    os.kill(os.getpid(), signal.SIGINT)\n")
    done = advisor("probe", setup, "--quiet", cwd=tmp_path)
    assert done.returncode == EXIT_INTERRUPTED, done.stderr[-2000:]
    assert "advisor: interrupted" in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_in_any_other_command_exits_130(monkeypatch, capsys):
    import advisor.commands.kb as kb_command

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kb_command, "load_kb", interrupted)
    assert main(["kb", "validate"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "advisor: interrupted\n"
