"""The setup contract: files and modules load as scripts would; anything unusable becomes one
ProbeSetupError naming the setup, what is wrong and what was expected (CLI: exit 2, no
traceback)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import advisor
from advisor.probing.setup import ProbeSetup, ProbeSetupError, coerce_setup, load_setup, parse_spec

GOOD = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from helper import N  # a sibling module: the file's folder is on sys.path

def {name}():
    x, y = torch.randn(N, 4), torch.randint(0, 2, (N,))
    return {{"model": nn.Linear(4, 2), "train_data": DataLoader(TensorDataset(x, y), 8),
            "loss_fn": nn.CrossEntropyLoss()}}
"""


def write(tmp_path, text, name="my_setup.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def good_file(tmp_path):
    write(tmp_path, "N = 32\n", "helper.py")
    write(tmp_path, GOOD.format(name="make"), "other_setup.py")
    return write(tmp_path, GOOD.format(name="setup"))


def test_parse_spec():
    assert parse_spec("a/b.py") == ("a/b.py", "setup", True)
    assert parse_spec("a/b.py:make") == ("a/b.py", "make", True)
    assert parse_spec("pkg.mod:build") == ("pkg.mod", "build", False)


def test_loads_file_with_sibling_imports(good_file):
    setup = load_setup(str(good_file))
    assert isinstance(setup, ProbeSetup)
    assert setup.optimizer is None and setup.name == str(good_file)


def test_loads_named_function(good_file):
    assert load_setup(f"{good_file.parent / 'other_setup.py'}:make").model is not None


def test_loads_module_spec():
    assert load_setup("advisor.probing.demo_setup:setup").loss_fn is not None


def test_probe_setup_is_exported_lazily():
    assert advisor.ProbeSetup is ProbeSetup


@pytest.mark.parametrize("text, fragment", [
    ("def setup():\n    return 42\n", "returned a int"),
    ("def setup():\n    return {'model': 1, 'train_data': [], 'loss_fn': len}\n",
     "'model' is a int, not a torch.nn.Module"),
    ("def setup():\n    return {'train_data': []}\n", "missing 'model', 'loss_fn'"),
    ("def setup():\n    raise RuntimeError('no data here')\n",
     "setup() raised RuntimeError: no data here"),
    ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
    ("x = 1\n", "no function 'setup'"),
    ("import torch\ndef setup():\n    return {'model': torch.nn.Linear(2, 2), "
     "'train_data': (torch.zeros(4, 2), torch.zeros(4)), 'loss_fn': torch.nn.MSELoss()}\n",
     "pair of tensors"),
    ("import torch\ndef setup():\n    return {'model': torch.nn.Linear(2, 2), "
     "'train_data': [], 'loss_fn': torch.nn.MSELoss(), 'task': 'ranking'}\n",
     "'task' is 'ranking'"),
])
def test_unusable_setups_give_one_clear_message(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ProbeSetupError) as info:
        load_setup(str(path))
    message = str(info.value)
    assert str(path) in message, message
    assert fragment in message, message
    assert "Traceback" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ProbeSetupError, match="no such file"):
        load_setup(str(tmp_path / "nope.py"))


def test_batches_that_are_not_pairs_need_a_step():
    import torch
    from torch import nn

    setup = {"model": nn.Linear(3, 1), "train_data": [torch.zeros(4, 3)] * 3,
             "loss_fn": nn.MSELoss()}
    with pytest.raises(ProbeSetupError, match="'step'"):
        advisor.probe(**setup, steps=5, budget=2)


def test_coerce_accepts_a_probe_setup():
    import torch

    s = ProbeSetup(model=torch.nn.Linear(2, 2), train_data=[], loss_fn=torch.nn.MSELoss())
    assert coerce_setup(s, "x").name == "x"


def test_cli_prints_the_message_and_exits_2(tmp_path, advisor):
    path = write(tmp_path, "def setup():\n    return None\n")
    done = advisor("probe", str(path), "--quiet")
    assert done.returncode == 2
    assert "expected a dict" in done.stderr and "Traceback" not in done.stderr
    assert str(path) in done.stderr



def test_advisor_probe_stays_a_function_after_the_probe_modules_load(tmp_path, cli_env):
    """`advisor.probe` is a plain function; importing the probing package does not rebind it."""
    code = ("import advisor, types\n"
            "f = advisor.probe\n"
            "import advisor.report.probe\n"
            "assert isinstance(advisor.probe, types.FunctionType) and advisor.probe is f\n"
            "from advisor import ProbeSetupError, AdvisorError\n"
            "assert issubclass(ProbeSetupError, AdvisorError)\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=cli_env(), timeout=120)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_module_with_a_missing_dependency_names_the_dependency(tmp_path, monkeypatch):
    package = tmp_path / "pkg_missing_dep"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text("import not_installed_anywhere_xyz\n\ndef setup():\n"
                                      "    return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ProbeSetupError) as info:
        load_setup("pkg_missing_dep.train:setup")
    assert "needs the module 'not_installed_anywhere_xyz'" in str(info.value)
    with pytest.raises(ProbeSetupError) as info:
        load_setup("no_such_package_xyz.train:setup")
    assert "cannot import module 'no_such_package_xyz.train'" in str(info.value)
