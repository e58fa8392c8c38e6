"""`advisor watch SCRIPT [ARGS...]` runs the user's unchanged script as `python SCRIPT ARGS`
would, stops it cleanly after the watched steps, and answers bad input (a missing script, one
that fails before training, never trains, uses torch.compile or DataLoader workers, or is
interrupted) with a clear message, an exit code and a report of what was seen.

Most runs are in-process through `advisor.cli.main` (the same code path as the command line);
the ones about processes (Ctrl-C, DataLoader workers, torch.compile's global state) run the
real command in a subprocess. Every run is bounded by steps; the only time bound is the
--budget test's script, which never trains at all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.errors import (
    EXIT_FAIL_ON,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_USER_CODE,
)

REPO = Path(__file__).resolve().parents[2]

# A seeded loop with argparse, printing every loss: the shape of a real script.
TRAIN = """\
import argparse
import json
import os
import sys

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--flag", action="store_true")
args = parser.parse_args()
with open("seen.json", "w") as f:      # relative: lands in the working directory
    json.dump({"argv": sys.argv, "name": __name__, "cwd": os.getcwd(),
               "flag": args.flag}, f)
print("hello from the script", flush=True)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
opt = torch.optim.SGD(model.parameters(), lr=args.lr)
x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
for step in range(args.steps):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    print("loss", step, repr(loss.item()), flush=True)
print("done", flush=True)
"""

# The loss overflows at step 2 (lr 10 on targets of size ~100) and is NaN from step 3.
NAN = """\
import torch
from torch import nn

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        return self.head(self.body(x))


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=10.0)
x, y = torch.randn(64, 4), torch.randn(64, 1) * 100
for step in range(60):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    print("loss", step, loss.item(), flush=True)
print("done", flush=True)
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def watch(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """`advisor watch ARGS` in this process: (exit code, stdout, stderr)."""
    code = main(["watch", "--quiet", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def report(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def watch_details(doc: dict) -> dict:
    return doc["observations"]["details"]["watch"]


def notes(doc: dict) -> str:
    return "\n".join(doc["observations"]["notes"])


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ADVISOR_KB_PATH", "ADVISOR_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def advisor_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "advisor", "watch", *map(str, args)]


# ------------------------------------------------------------------------------ point 1
def test_the_script_runs_as_python_would_run_it(tmp_path, monkeypatch, capsys):
    """Own argv (watch options before the script, the script's after it, even the same
    names), __main__, the caller's working directory, its folder importable, prints shown."""
    script = write(tmp_path / "code", "train.py", TRAIN)
    write(tmp_path / "code", "helper.py", "VALUE = 7\n")
    script.write_text(script.read_text() + "import helper\nprint('helper', helper.VALUE)\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv_before = list(sys.argv)

    code, out, err = watch(capsys, "--steps", 30, script, "--steps", 5, "--flag")

    assert code == EXIT_OK, err
    seen = json.loads((work / "seen.json").read_text())
    assert Path(seen.pop("cwd")).resolve() == work.resolve()
    assert seen == {"argv": [str(script), "--steps", "5", "--flag"], "name": "__main__",
                    "flag": True}
    assert "hello from the script" in out and "loss 4 " in out and "helper 7" in out
    assert out.index("done") < out.index("training steps watched")  # the report comes after
    assert sys.argv == argv_before


def test_double_dash_and_module_targets(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "train.py", TRAIN)
    code, _, err = watch(capsys, "--steps", 3, "--", "train.py", "--steps", "4")
    assert code == EXIT_OK, err
    assert json.loads((tmp_path / "seen.json").read_text())["argv"] == [
        "train.py", "--steps", "4"]

    write(tmp_path / "pkg", "__init__.py", "")
    write(tmp_path / "pkg", "train.py", TRAIN)
    # as from the `advisor` console script: the working directory is not on sys.path,
    # `python -m` puts it there
    monkeypatch.setattr(sys, "path", [p for p in sys.path
                                      if p not in ("", ".") and Path(p) != tmp_path])
    code, out, err = watch(capsys, "--steps", 3, "--json", "m.json", "-m", "pkg.train",
                           "--steps", "2", "--flag")
    assert code == EXIT_OK, err
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["name"] == "__main__" and seen["flag"] is True
    assert seen["argv"][0].endswith(os.path.join("pkg", "train.py"))
    assert seen["argv"][1:] == ["--steps", "2", "--flag"]
    assert "done" in out and watch_details(report(tmp_path / "m.json"))["ending"] == "finished"


def test_the_watch_stops_the_script_after_its_steps_without_a_traceback(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "train.py", TRAIN)
    code, out, err = watch(capsys, "--steps", 5, "--json", "r.json", "--markdown", "r.md",
                           "--html", "r.html", "train.py", "--steps", "100")
    assert code == EXIT_OK, err
    assert "loss 4 " in out and "loss 5 " not in out and "done" not in out
    assert "Traceback" not in out + err and "WatchStopped" not in out + err
    doc = report(tmp_path / "r.json")
    assert doc["setup"]["mode"] == "watch" and not doc["partial"]
    assert watch_details(doc)["ending"] == "stopped"
    assert watch_details(doc)["steps_watched"] == 5
    assert doc["facts"]["loop.optimizer_steps"] == 5
    assert len(doc["series"]["loss"]) == 5
    assert "# " in (tmp_path / "r.md").read_text() and \
        (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_follow_runs_the_script_to_its_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "train.py", TRAIN)
    code, out, err = watch(capsys, "--follow", "--steps", 5, "--json", "r.json", "train.py",
                           "--steps", 12)
    assert code == EXIT_OK, err
    assert "loss 11 " in out and "done" in out
    doc = report(tmp_path / "r.json")
    assert watch_details(doc)["ending"] == "finished"
    assert watch_details(doc)["steps_watched"] == 12


def test_follow_without_budget_is_not_capped(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "train.py", TRAIN)
    code, _, err = watch(capsys, "--follow", "--json", "r.json", "train.py", "--steps", 2)
    assert code == EXIT_OK, err
    assert report(tmp_path / "r.json")["options"]["budget"] > 1e8
    code, _, err = watch(capsys, "--json", "r.json", "train.py", "--steps", 2)
    assert report(tmp_path / "r.json")["options"]["budget"] == 300


def test_follow_stops_at_the_first_nan_with_its_step_and_module(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "nan.py", NAN)
    code, out, err = watch(capsys, "--follow", "--json", "r.json", "nan.py")
    assert code == EXIT_OK, err
    assert "done" not in out and "Traceback" not in out + err
    doc = report(tmp_path / "r.json")
    details = watch_details(doc)
    assert details["stop_reason"] == "nan"
    assert details["nonfinite_step"] == 2            # the first loss that was not finite
    assert details["nonfinite_module"] == "body.0"   # the first layer whose output was NaN
    assert doc["facts"]["loss.nonfinite"] is True


def test_exit_codes(tmp_path, monkeypatch, capsys):
    """0 done, 1 with --fail-on met, 2 for a missing script, 4 for a script error."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "nan.py", NAN)
    write(tmp_path, "boom.py", """\
        import torch
        from torch import nn

        model = nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(10):
            opt.zero_grad()
            loss = model(torch.randn(4, 3)).pow(2).mean()
            loss.backward()
            opt.step()
            if step == 3:
                raise RuntimeError("the data ran out")
        """)
    assert watch(capsys, "--follow", "nan.py")[0] == EXIT_OK
    assert watch(capsys, "--follow", "--fail-on", "error", "nan.py")[0] == EXIT_FAIL_ON
    code, _, err = watch(capsys, "--json", "boom.json", "boom.py")
    assert code == EXIT_USER_CODE
    assert f"{os.path.join('.', 'boom.py')}:12" in err or "boom.py:12" in err
    assert "RuntimeError: the data ran out" in err and "Traceback" not in err
    doc = report(tmp_path / "boom.json")
    assert watch_details(doc)["ending"] == "crashed"
    assert watch_details(doc)["steps_watched"] == 4   # what was seen before the error
    assert doc["facts"]["runtime.error_message"].startswith("RuntimeError")


# ------------------------------------------------------------------------------ point 7
def test_a_missing_script_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = watch(capsys, "--json", "r.json", "nope.py", "--epochs", "3")
    assert code == EXIT_USAGE
    assert "nope.py: no such file" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()
    code, _, err = watch(capsys, "-m", "no_such_package_here.train")
    assert code == EXIT_USAGE and "no_such_package_here" in err
    code, _, err = watch(capsys, "--steps", "3")
    assert code == EXIT_USAGE and "give the script to watch" in err


@pytest.mark.parametrize("args", [["--help"], ["nope.py", "--epochs", "3"],
                                  ["--steps", "3", "-m", "no_such_package_here"]])
def test_help_and_a_wrong_target_are_answered_without_loading_torch(tmp_path, args):
    """Parsing `advisor watch ...` and refusing a wrong path cost no torch import (seconds)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "advisor", "watch",
                           *args], cwd=tmp_path, env=subprocess_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == (EXIT_OK if args == ["--help"] else EXIT_USAGE), done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported and not {m for m in imported if m.split(".")[0] == "torch"}


def test_a_script_that_exits_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "early.py", """\
        import sys

        import torch


        def check_data():
            sys.exit("data.csv not found")


        print("started", flush=True)
        check_data()
        """)
    code, out, err = watch(capsys, "--json", "r.json", "early.py")
    assert code == EXIT_USER_CODE
    assert "early.py:7" in err and "data.csv not found" in err and "Traceback" not in err
    doc = report(tmp_path / "r.json")
    assert watch_details(doc)["ending"] == "exited" and watch_details(doc)["exit_code"] == 1
    assert watch_details(doc)["steps_watched"] == 0
    assert "No training step was seen" in notes(doc)
    assert doc["observations"]["details"]["runtime_error_where"].endswith("early.py:7")


def test_a_script_that_ends_without_training_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "infer.py", """\
        import torch
        from torch import nn

        model = nn.Linear(3, 1).eval()
        with torch.no_grad():
            print("prediction", model(torch.ones(1, 3)).shape)
        """)
    code, out, err = watch(capsys, "--json", "r.json", "infer.py")
    assert code == EXIT_OK and "prediction" in out
    assert "ended without a training step" in err
    assert "No training step was seen" in notes(report(tmp_path / "r.json"))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads any file")
def test_an_unreadable_script_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    script = write(tmp_path, "locked.py", TRAIN)
    script.chmod(0)
    code, _, err = watch(capsys, "locked.py")
    assert code == EXIT_USAGE and "locked.py: cannot be read" in err


def test_a_script_that_does_not_compile_is_named_with_its_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "broken.py", "import torch\n\nfor step in range(3)\n    pass\n")
    code, _, err = watch(capsys, "--json", "r.json", "broken.py")
    assert code == EXIT_USER_CODE
    assert "broken.py:3" in err and "SyntaxError" in err and "Traceback" not in err
    assert report(tmp_path / "r.json")["observations"]["details"]["runtime_error_where"] \
        .endswith("broken.py:3")


def test_a_script_that_changes_folder_and_stdout_leaves_the_report_where_asked(
        tmp_path, monkeypatch, capsys):
    """`python train.py` does not care, but the report goes where the user pointed: the
    runner gives back the working directory and the standard output the script changed."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    write(tmp_path, "moving.py", TRAIN.replace(
        'print("hello from the script", flush=True)',
        'import io\nos.chdir("elsewhere")\nsys.stdout = io.StringIO()'))
    code, out, err = watch(capsys, "--steps", 3, "--json", "r.json", "moving.py")
    assert code == EXIT_OK, err
    assert (tmp_path / "r.json").exists() and not (tmp_path / "elsewhere" / "r.json").exists()
    assert Path(os.getcwd()).resolve() == tmp_path.resolve()
    assert "3 training steps watched" in out


def test_a_script_that_never_creates_an_optimizer_within_the_budget(tmp_path, monkeypatch,
                                                                    capsys):
    """The budget's alarm stops code that never reaches a hook (here: a wait that never
    ends). The outcome does not depend on speed: the script never trains."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "stuck.py", """\
        import time

        from torch import nn

        model = nn.Linear(3, 3)
        print("started", flush=True)
        while True:          # waiting for data that never comes
            time.sleep(0.05)
        """)
    code, out, err = watch(capsys, "--budget", 1, "--json", "r.json", "stuck.py")
    assert code == EXIT_USER_CODE
    assert "budget (1 s) ran out before any training step" in err and "Traceback" not in err
    doc = report(tmp_path / "r.json")
    assert doc["partial"] is True
    assert watch_details(doc)["ending"] == "capped"
    assert watch_details(doc)["steps_watched"] == 0
    assert "No training step was seen" in notes(doc)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)   # no alarm left behind


def test_a_budget_that_ends_a_training_script_says_after_how_many_steps(tmp_path, monkeypatch,
                                                                        capsys):
    """Three steps, then a wait that never ends: the budget stops it with what was seen."""
    import torch

    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # torch's lazy imports done
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "hangs.py", """\
        import time

        import torch
        from torch import nn

        model = nn.Linear(8, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):
            opt.zero_grad()
            nn.functional.mse_loss(model(torch.ones(4, 8)), torch.zeros(4, 2)).backward()
            opt.step()
        while True:          # a validation that waits on a lock forever
            time.sleep(0.05)
        """)
    code, _, err = watch(capsys, "--budget", 2, "--json", "r.json", "hangs.py")
    assert code == EXIT_OK
    assert "budget (2 s) ran out after 3 of 200 training steps" in err
    doc = report(tmp_path / "r.json")
    assert doc["partial"] is True and watch_details(doc)["ending"] == "capped"
    assert doc["facts"]["loop.optimizer_steps"] == 3


COMPILED = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
# backend="eager": dynamo captures the graph as for any backend (that is what hides the
# layers from hooks) without needing a C compiler
compiled = torch.compile(model, backend="eager")
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
for step in range(20):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(compiled(x), y)
    loss.backward()
    opt.step()
"""


@pytest.mark.slow
def test_torch_compile_is_watched_and_the_note_says_what_hooks_cannot_see(tmp_path):
    write(tmp_path, "compiled.py", COMPILED)
    run = subprocess.run(advisor_command("--steps", 6, "--json", "r.json", "compiled.py"),
                         cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == EXIT_OK, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    # the warning torch gives about the watch's own global hooks is not the user's
    assert "global hooks on modules" not in run.stderr
    doc = report(tmp_path / "r.json")
    assert watch_details(doc)["steps_watched"] == 6
    assert "global hooks" not in json.dumps(doc["observations"]["warnings"])
    text = notes(doc)
    assert "torch.compile is in use (OptimizedModule)" in text
    assert "module forward hooks cannot see inside" in text


WORKERS = """\
import os

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Numbers(Dataset):
    def __len__(self):
        return 512

    def __getitem__(self, i):
        info = torch.utils.data.get_worker_info()
        if info is not None:   # record this worker's pid once
            mark = f"worker_{os.getpid()}.pid"
            if not os.path.exists(mark):
                open(mark, "w").close()
        g = torch.Generator().manual_seed(i)
        return torch.randn(8, generator=g), i % 2


def main():
    torch.manual_seed(0)
    loader = DataLoader(Numbers(), batch_size=16, shuffle=True, num_workers=2)
    model = nn.Linear(8, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(1000):
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()


if __name__ == "__main__":
    main()
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dataloader_workers_end_with_the_script(tmp_path):
    write(tmp_path, "workers.py", WORKERS)
    run = subprocess.run(advisor_command("--steps", 5, "--json", "r.json", "workers.py"),
                         cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                         timeout=600)   # a hang would end here, not pass
    assert run.returncode == EXIT_OK, run.stderr
    assert "Traceback" not in run.stderr
    pids = [int(p.name.split("_")[1].split(".")[0]) for p in tmp_path.glob("worker_*.pid")]
    assert pids, "the workers never loaded a batch"
    assert [pid for pid in pids if _alive(pid)] == []    # no orphan worker left behind
    doc = report(tmp_path / "r.json")
    assert watch_details(doc)["ending"] == "stopped"
    assert watch_details(doc)["steps_watched"] == 5
    assert "The DataLoader uses 2 worker processes" in notes(doc)


FOREVER = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(8, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
step = 0
while True:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    step += 1
    if step == 3:
        print("started", flush=True)
"""


@pytest.mark.slow
def test_ctrl_c_exits_130_with_a_partial_report(tmp_path):
    write(tmp_path, "forever.py", FOREVER)
    proc = subprocess.Popen(advisor_command("--follow", "--json", "r.json", "forever.py"),
                            cwd=tmp_path, env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:          # three training steps are done when it prints
            if line.startswith("started"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted at" in err and "forever.py:" in err and "partial report" in err
    doc = report(tmp_path / "r.json")
    assert doc["partial"] is True
    assert watch_details(doc)["ending"] == "interrupted"
    assert watch_details(doc)["steps_watched"] >= 3


def test_the_hooks_are_gone_after_a_watched_script(tmp_path, monkeypatch, capsys):
    """The runner leaves this process as it found it: backward unwrapped, no alarm, no
    warning filter of its own left behind."""
    import warnings

    import torch

    monkeypatch.chdir(tmp_path)
    write(tmp_path, "train.py", TRAIN)
    backward = torch.autograd.backward
    filters = list(warnings.filters)
    alarm = signal.getsignal(signal.SIGALRM)
    assert watch(capsys, "--steps", 2, "train.py")[0] == EXIT_OK
    assert torch.autograd.backward is backward
    assert warnings.filters == filters
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is alarm


def test_the_scripts_own_module_wins_over_one_of_the_same_name_loaded_before(tmp_path,
                                                                              monkeypatch,
                                                                              capsys):
    """`python train.py` in a fresh process imports train.py's own helper.py: one named the
    same that this process loaded from elsewhere (a probed setup's folder, an earlier watch)
    must not stand in for it, and is back after the watch."""
    monkeypatch.chdir(tmp_path)  # the script writes seen.json where it runs
    other = write(tmp_path / "other", "helper.py", "VALUE = 'other'\n")
    monkeypatch.syspath_prepend(str(other.parent))
    import importlib

    stale = importlib.import_module("helper")
    monkeypatch.setitem(sys.modules, "helper", stale)
    script = write(tmp_path / "code", "train.py", TRAIN)
    write(tmp_path / "code", "helper.py", "VALUE = 7\n")
    script.write_text(script.read_text() + "import helper\nprint('helper', helper.VALUE)\n")
    code, out, err = watch(capsys, "--steps", 30, script, "--steps", 3)
    assert code == EXIT_OK, err
    assert "helper 7" in out
    assert sys.modules["helper"] is stale
