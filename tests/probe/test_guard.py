"""User code that never returns or ends the process (issue 8 #9 hangs, #10 exits).

The watchdog tests run real threads and real asynchronous exceptions; every loop they interrupt
is bounded (it fails the test after 60 s instead of hanging). The worker tests run real child
processes on tiny real setups written to tmp_path, bounded by steps and by generous deadlines;
no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import random
import re
import textwrap
import threading
import time
from pathlib import Path

import pytest

from advisor.errors import EXIT_INTERRUPTED, EXIT_USAGE, EXIT_USER_CODE
from advisor.probing.watchdog import HANG_DETAIL, UserCodeHung, Watchdog

BOUND_S = 60.0  # a loop the watchdog fails to interrupt ends the test here, as a failure


def spin_until_interrupted(seconds: float = BOUND_S) -> None:
    """A pure-Python loop that only an asynchronous exception ends early."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    pytest.fail(f"not interrupted within {seconds:g} s")


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "advisor-watchdog" and t.is_alive()]


# =============================================================================== the watchdog
def test_watchdog_interrupts_a_pure_python_infinite_loop():
    started = time.monotonic()
    with pytest.raises(UserCodeHung) as caught, Watchdog(1.0, phase="training") as dog:
        dog.beat("training", 3, "forward")
        spin_until_interrupted()
    exc = caught.value
    assert exc.watchdog is dog and dog.hung is exc.hang
    assert (exc.phase, exc.step, exc.activity, exc.seconds) == ("training", 3, "forward", 1.0)
    assert str(exc) == "forward did not return within 1 s during the training phase at step 3"
    assert exc.hang.to_dict()["message"] == str(exc)
    assert time.monotonic() - started < BOUND_S
    assert not watchdog_threads()
    assert not isinstance(exc, (Exception, KeyboardInterrupt))  # user code cannot swallow it


def test_watchdog_interrupts_the_thread_that_entered_it():
    """The TUI runs the probe in a worker thread: that thread is interrupted, not the main."""
    seen: list[BaseException] = []

    def probe_thread() -> None:
        try:
            with Watchdog(0.5, phase="training", activity="backward"):
                spin_until_interrupted()
        except UserCodeHung as exc:
            seen.append(exc)

    thread = threading.Thread(target=probe_thread)
    thread.start()
    thread.join(BOUND_S + 5)
    assert [str(e) for e in seen] == ["backward did not return within 0.5 s during the "
                                      "training phase"]


def test_code_that_returns_in_time_is_never_interrupted():
    for i in range(200):
        with Watchdog(30.0) as dog:
            dog.beat("training", i, "forward")
            sum(range(1000))
            dog.rest()
        assert dog.hung is None
    assert not watchdog_threads()


def test_no_stray_exception_after_blocks_that_end_at_the_limit():
    """Blocks that end right around a tiny limit: the exception is raised inside the `with`
    statement or not at all, `dog.hung` says which, and nothing surfaces afterwards."""
    rng = random.Random(0)
    for i in range(200):
        raised = None
        try:
            with Watchdog(0.002) as dog:
                spin(rng.uniform(0, 0.004))
                dog.beat("training", i, "forward")
                spin(rng.uniform(0, 0.004))
        except UserCodeHung as exc:
            raised = exc
        assert (raised is not None) == (dog.hung is not None)
        if raised is not None:
            assert raised.watchdog is dog and raised.hang is dog.hung
    spin(1.0)  # a stray exception sent for any of the blocks would land here
    assert not watchdog_threads()


def test_rest_stops_watching_until_the_next_beat():
    with Watchdog(0.3) as dog:
        dog.rest()
        spin(1.0)  # the probe's own work: not watched
    assert dog.hung is None
    with pytest.raises(UserCodeHung), Watchdog(0.3) as dog:
        dog.rest()
        dog.beat("overfit test", 2, "optimizer step")
        spin_until_interrupted()
    assert dog.hung is not None and dog.hung.activity == "optimizer step"


def test_nested_watchdogs_each_raise_their_own():
    with pytest.raises(UserCodeHung) as outer_caught, Watchdog(2.0, phase="run") as outer:
        with pytest.raises(UserCodeHung) as inner_caught, Watchdog(0.3) as inner:
            inner.beat("training", 1, "forward")
            spin_until_interrupted()
        assert inner_caught.value.watchdog is inner and outer.hung is None
        spin_until_interrupted()  # now the outer limit runs out
    assert outer_caught.value.watchdog is outer
    assert inner.hung.activity == "forward" and outer.hung.phase == "run"
    assert not watchdog_threads()


def test_keyboard_interrupt_stays_a_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt), Watchdog(30.0) as dog:
        raise KeyboardInterrupt
    assert dog.hung is None and not watchdog_threads()


def test_beat_outside_the_block_is_a_programming_error():
    dog = Watchdog(1.0)
    with pytest.raises(RuntimeError, match="outside its `with` block"):
        dog.beat("training", 1, "forward")
    with pytest.raises(ValueError):
        Watchdog(0)


# =============================================================================== sys.exit in setup
def write_setup(folder: Path, body: str, name: str = "guarded_setup.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def test_sys_exit_in_setup_is_a_setup_error(tmp_path):
    from advisor.probing.setup import ProbeSetupError, load_setup

    path = write_setup(tmp_path, """
        import sys

        def setup():
            sys.exit(3)
        """)
    with pytest.raises(ProbeSetupError) as caught:
        load_setup(str(path))
    assert str(caught.value) == (f"{path}: setup() called sys.exit(3) at {path}:4; a setup "
                                 "function must return the setup, not exit.")
    assert caught.value.exit_code == EXIT_USAGE


def test_sys_exit_when_the_file_is_imported_says_to_guard_the_entry_point(tmp_path):
    from advisor.probing.setup import ProbeSetupError, load_setup

    path = write_setup(tmp_path, """
        import sys

        def setup():
            return {}

        sys.exit("done")
        """)
    with pytest.raises(ProbeSetupError, match=r"running .* called sys.exit\('done'\) at .*:6; "
                                              r".*if __name__ == \"__main__\":"):
        load_setup(str(path))


def test_argparse_exiting_in_setup_explains_sys_argv(tmp_path):
    from advisor.probing.setup import ProbeSetupError, load_setup

    path = write_setup(tmp_path, """
        import argparse

        def setup():
            parser = argparse.ArgumentParser()
            parser.add_argument("--data", required=True)
            args = parser.parse_args()
            return {}
        """)
    with pytest.raises(ProbeSetupError, match=r"called sys.exit\(2\) at .*:6; .*argparse "
                                              r"rejected the command line"):
        load_setup(str(path))


@pytest.mark.slow
def test_cli_sys_exit_in_setup_exits_2_with_a_message(tmp_path, advisor):
    path = write_setup(tmp_path, """
        import sys

        def setup():
            sys.exit(3)
        """)
    result = advisor("probe", str(path), "--quiet")
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "setup() called sys.exit(3)" in result.stderr and "Traceback" not in result.stderr


# =============================================================================== the worker
SETUP = """
import os
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

MISBEHAVE = {misbehave!r}
AT_CALL = 5


class Net(nn.Module):
    calls = 0

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 4)

    def forward(self, x):
        Net.calls += 1
        if Net.calls == AT_CALL:
            if MISBEHAVE == "os._exit":
                os._exit(7)
            if MISBEHAVE == "loop":
                while True:
                    pass
            if MISBEHAVE == "sleep":  # stuck in C: no watchdog can interrupt it
                time.sleep(3600)
            if MISBEHAVE == "sys.exit":
                sys.exit(5)
        return self.lin(x)


def setup():
    print("hello from the setup")
    torch.manual_seed(0)  # the same weights in the child and in this process
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    return {{"model": Net(), "train_data": DataLoader(TensorDataset(x, y), batch_size=32),
            "loss_fn": nn.CrossEntropyLoss()}}
"""


def misbehaving_setup(tmp_path: Path, misbehave: str | None) -> str:
    name = "setup_" + re.sub(r"\W", "_", misbehave or "ok") + ".py"
    return str(write_setup(tmp_path, SETUP.format(misbehave=misbehave), name))


def run_worker(spec: str, budget: float = 30.0, steps: int = 10, **kwargs):
    from advisor.probing.context import ProbeOptions
    from advisor.probing.worker import run_in_worker

    return run_in_worker(spec, ProbeOptions(steps=steps, budget=budget, quiet=True), **kwargs)


def measured(facts: dict) -> dict:
    """The facts that do not depend on the machine's speed."""
    return {k: v for k, v in facts.items() if not k.startswith("perf.")}


@pytest.mark.slow
def test_worker_gives_the_same_facts_as_in_process(tmp_path, capfd):
    from advisor.probing.api import run_setup
    from advisor.probing.context import ProbeOptions
    from advisor.probing.setup import load_setup

    spec = misbehaving_setup(tmp_path, None)
    events: list[tuple] = []
    outcome = run_worker(spec, progress=lambda *event: events.append(event))
    assert outcome.ending == "finished" and outcome.exit_status() is None
    assert not outcome.partial and outcome.exit_code == 0
    assert ("training", 10, 10) in [e[:3] for e in events]
    assert "hello from the setup" in capfd.readouterr().out  # the user's prints still show
    here = run_setup(load_setup(spec), ProbeOptions(steps=10, budget=30.0, quiet=True))
    assert measured(outcome.report["facts"]) == measured(here.facts)
    assert outcome.report["diagnoses"] == here.to_dict()["diagnoses"]


@pytest.mark.slow
def test_worker_survives_os_exit_in_forward(tmp_path):
    outcome = run_worker(misbehaving_setup(tmp_path, "os._exit"))
    assert outcome.ending == "exited" and outcome.exit_code == 7
    assert outcome.exit_status() == EXIT_USER_CODE and outcome.partial
    assert outcome.message.startswith("the setup's code ended the process (exit code 7) "
                                      f"during the {outcome.phase} phase")
    assert outcome.phase in ("data", "first batch", "training")
    assert outcome.report["observations"]["notes"][-1].startswith(
        "The setup's code ended the process (exit code 7)")
    assert outcome.report["observations"]["details"]["user_code_ended"]["code"] == 7


@pytest.mark.slow
def test_worker_partial_report_keeps_the_facts_of_the_phases_that_ended(tmp_path):
    outcome = run_worker(misbehaving_setup(tmp_path, "os._exit"))
    assert outcome.ending == "exited"
    assert outcome.report["facts"].get("model.param_count") == 36  # the model phase ended


@pytest.mark.slow
def test_worker_interrupts_an_infinite_loop_in_forward(tmp_path):
    """Pure Python: the Watchdog inside the child interrupts it and the child reports."""
    outcome = run_worker(misbehaving_setup(tmp_path, "loop"), budget=2.0, watch_s=10.0,
                         grace_s=BOUND_S)
    assert outcome.ending == "hung" and outcome.exit_status() == EXIT_USER_CODE
    # the runner's watchdog or the child's backstop (both 10 s here), whichever fires first
    assert "did not return within 10 s during the " in outcome.message
    assert outcome.partial
    assert outcome.report["observations"]["details"][HANG_DETAIL]["seconds"] == 10.0


@pytest.mark.slow
def test_worker_kills_code_stuck_in_c_at_the_hard_deadline(tmp_path):
    """time.sleep holds no bytecode boundary: only killing the process ends it."""
    outcome = run_worker(misbehaving_setup(tmp_path, "sleep"), budget=2.0, grace_s=6.0)
    assert outcome.ending == "hung" and outcome.exit_status() == EXIT_USER_CODE
    assert outcome.exit_code is not None and outcome.exit_code < 0  # killed
    assert outcome.message.startswith("the setup's code did not return within 8 s during the ")
    assert outcome.message.endswith("; the probe stopped its process")
    assert outcome.report["partial"] is True


@pytest.mark.slow
def test_worker_sys_exit_during_the_run_leaves_a_report(tmp_path):
    outcome = run_worker(misbehaving_setup(tmp_path, "sys.exit"))
    report = outcome.report
    said = " ".join(report["observations"]["notes"]) + str(
        report["facts"].get("runtime.error_message"))
    assert "sys.exit(5)" in said or "SystemExit: 5" in said


@pytest.mark.slow
def test_worker_sys_exit_in_setup_is_a_setup_error(tmp_path):
    from advisor.probing.setup import ProbeSetupError

    path = write_setup(tmp_path, """
        import sys

        def setup():
            sys.exit(3)
        """)
    with pytest.raises(ProbeSetupError, match=r"setup\(\) called sys.exit\(3\) at .*:4; a setup "
                                              "function must return the setup, not exit"):
        run_worker(str(path))


@pytest.mark.slow
def test_ctrl_c_in_the_parent_returns_the_run_as_interrupted(tmp_path):
    """Ctrl-C reaches the parent (the child has its own process group): here it arrives while
    the parent forwards the first training step, as it would from the terminal."""
    def progress(phase, done, total, loss):
        if phase == "training":
            raise KeyboardInterrupt

    outcome = run_worker(misbehaving_setup(tmp_path, None), steps=100_000, budget=60.0,
                         progress=progress)
    assert outcome.ending == "interrupted" and outcome.exit_status() == EXIT_INTERRUPTED
    assert outcome.exit_code == 0  # the child caught its SIGINT and sent its partial report
    assert outcome.partial and outcome.report["facts"]["model.param_count"] == 36
    assert any(n.startswith("Interrupted") for n in outcome.report["observations"]["notes"])

