"""`advisor tui LOG_PATH`: a finished run's logs open on the results screen, read from real log
files written here (a CSV table, torch's SummaryWriter, a Hugging Face trainer_state.json as
TrainerState.save_to_json writes it), with the real knowledge base and a user's --kb folder.

The screens are waited for by their state (tui_helpers.wait_for_screen / wait_until), never by a
clock. The built-in rules for the `logs.*` facts are written elsewhere, so what is asserted here
is what was read and the events; a diagnosis is asserted through a tiny rule of a --kb folder.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from advisor.tui.app import AdvisorApp, Start
from advisor.tui.launch import classify
from advisor.tui.logs import is_log_path, step_curve
from tui_helpers import pick, ready, rendered, text_of, wait_for_screen, wait_until

from advisor.cli import main
from advisor.errors import EXIT_USAGE
from tests.logs.test_readers import write_tb_run

NAN = float("nan")
SIZE = (110, 36)


def shown(pilot) -> str:
    """What the results screen says of the log, its columns' padding squeezed to one space."""
    return "\n".join(" ".join(line.split()) for line in text_of(pilot, "#results-log").splitlines())


# ------------------------------------------------------------------ log files, as written
def write_csv(path: Path, steps: int = 300, nan_from: int | None = None) -> Path:
    """A generic table: step, loss, lr (NaN written as pandas and csv.writer write it)."""
    lines = ["step,loss,lr"]
    for step in range(steps):
        loss = 2.5 * math.exp(-step / 60) + 0.02 * math.sin(step)
        if nan_from is not None and step >= nan_from:
            loss = NAN
        lines.append(f"{step},{loss},{1e-3 * min(1.0, (step + 1) / 20)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_trainer_state(path: Path, steps: int = 200, nan_from: int | None = None) -> Path:
    """log_history every 10 steps (an eval every 50), saved as TrainerState.save_to_json does;
    from `nan_from` on, loss 0.0 and grad_norm NaN: the Trainer hiding NaN losses."""
    history: list[dict] = []
    for step in range(10, steps + 1, 10):
        hidden = nan_from is not None and step >= nan_from
        history.append({"epoch": step / 100, "grad_norm": NAN if hidden else 1.5 - step / 1000,
                        "learning_rate": 5e-5 * (1 - step / steps),
                        "loss": 0.0 if hidden else round(2.3 - step / 200, 4), "step": step})
        if step % 50 == 0:
            history.append({"epoch": step / 100, "eval_loss": 2.0 - step / 300,
                            "eval_runtime": 1.2, "step": step})
    fields = dict(epoch=steps / 100, global_step=steps, max_steps=steps, logging_steps=10,
                  eval_steps=50, save_steps=100, train_batch_size=8, num_train_epochs=2,
                  total_flos=1.2e12, log_history=history)
    try:
        from transformers.trainer_callback import TrainerState
    except ImportError:
        TrainerState = None  # noqa: N806 (the class's own name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if TrainerState is not None:
        state = TrainerState(**fields)
        assert dataclasses.is_dataclass(state)
        state.save_to_json(str(path))
    else:  # the call transformers makes
        path.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


USER_KB_FACTS = """\
facts:
  - name: logs.loss_nonfinite
    type: bool
    meaning: The logged training loss is NaN or infinite at some step.
    measured: advisor logs, from the logged loss.
"""
USER_KB_RULES = """\
rules:
  - id: team_log_nan
    title: Our team's rule - the logged loss went NaN
    kind: symptom
    severity: error
    cf: 0.9
    when:
      all:
        - {fact: logs.loss_nonfinite, is: true}
    explanation: A NaN in the logged loss ends the useful part of the run.
    remedies:
      - action: Restart from the last checkpoint before the first NaN, with a lower learning rate.
    sources:
      - ref: https://pytorch.org/docs/stable/autograd.html#anomaly-detection
    examples:
      - {given: {logs.loss_nonfinite: true}, expect: fires}
      - {given: {logs.loss_nonfinite: false}, expect: silent}
"""


def user_kb(folder: Path) -> Path:
    folder.mkdir()
    (folder / "facts.yaml").write_text(USER_KB_FACTS, encoding="utf-8")
    (folder / "rules.yaml").write_text(USER_KB_RULES, encoding="utf-8")
    return folder


# ------------------------------------------------------------------ which targets are logs
def test_log_paths_are_told_from_reports_and_setups(tmp_path):
    state = write_trainer_state(tmp_path / "hf" / "state_copy.json")
    report = tmp_path / "probe.json"
    report.write_text(json.dumps({"schema": "advisor-probe-report/1", "facts": {}}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert classify(str(tmp_path)) == Start("logs", str(tmp_path))
    assert classify(str(tmp_path / "metrics.csv")) == Start("logs", str(tmp_path / "metrics.csv"))
    assert classify(str(tmp_path / "x.jsonl")).kind == "logs"
    # a .json by its content: the Trainer's state has a log_history, a report its facts
    assert classify(str(state)) == Start("logs", str(state))
    assert classify(str(report)) == Start("report", str(report))
    assert classify(str(broken)).kind == "report"  # its reader says where the JSON breaks
    assert classify("examples/setup.py:make").kind == "probe"
    assert not is_log_path("pkg.module:setup")


def test_the_loss_is_drawn_on_its_step_axis():
    # dense logging early, sparse late: equal step buckets, not one column per logged point
    steps = list(range(0, 100)) + list(range(100, 1100, 100))
    values = [1.0] * 100 + [5.0] * 10
    curve = step_curve(steps, values, points=10)
    assert len(curve) == 10
    assert curve[0] == 1.0 and curve[1:] == [5.0] * 9
    assert step_curve([0, 1, 2], [1.0, NAN, 3.0]) == [1.0, 3.0]


# ------------------------------------------------------------------ opening a log
async def test_a_csv_log_opens_on_its_results_and_exports_the_log_report(builtin_kb,
                                                                        tmp_path):
    log = write_csv(tmp_path / "run1.csv", steps=300, nan_from=180)
    app = AdvisorApp(kb=builtin_kb, start=Start("logs", str(log)), export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, "ResultsScreen")
        screen = app.screen
        report = screen.log_report
        assert report.setup["mode"] == "logs" and report.setup["source"] == "csv"
        text = shown(pilot)
        assert text.startswith("run1 (csv: ")
        assert "train loss loss (300 points, steps 0 to 299, 120 non-finite)" in text
        assert "learning rate lr (300 points" in text
        assert "event: the loss is first non-finite at step 180" in text
        assert screen.query("#results-loss")  # the logged loss, before the NaN
        assert len(screen.series["loss"]) == 180
        assert text_of(pilot, "#results-loss-caption").endswith(
            ", steps 0 to 179 (its finite points)")
        assert app.screen_stack[-2].__class__.__name__ == "HomeScreen"  # one run: no list
        # the exports write the log report: what `advisor logs --json/--markdown/--html` writes
        written = {kind: screen.export(kind, f"tui.{kind}") for kind in ("json", "md", "html")}
        assert all(written.values()), text_of(pilot, "#results-status")
        assert "What was read" in written["md"].read_text()
        assert "<svg" in written["html"].read_text()
        await pilot.press("H")  # the key asks where, as m and j do
        await wait_for_screen(pilot, "PromptScreen")
        assert app.screen.query_one("#prompt-input").value == str(tmp_path / "advisor-logs.html")
        await pilot.press("enter")
        await wait_for_screen(pilot, "ResultsScreen")
        assert screen.exported["html"] == (tmp_path / "advisor-logs.html").resolve()
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")
    assert main(["logs", str(log), "--json", str(tmp_path / "cli.json")]) == 0
    ours, theirs = (json.loads((tmp_path / name).read_text()) for name in ("tui.json", "cli.json"))
    for doc in (ours, theirs):
        doc.pop("timings")
    assert ours == theirs


async def test_a_folder_of_two_runs_asks_which_one(builtin_kb, tmp_path):
    runs = tmp_path / "runs"
    write_tb_run(runs / "calm", steps=120)
    write_tb_run(runs / "broken", steps=120, nan_from=70)
    app = AdvisorApp(kb=builtin_kb, start=Start("logs", str(runs)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, "LogsScreen")
        listing = app.screen
        await wait_until(pilot, lambda: listing.stage == "picking", "the runs listed")
        assert "2 runs found: pick one" in text_of(pilot, "#logs-status")
        names = [r.name for r in listing.runs]
        assert sorted(names) == ["broken", "calm"]
        await pick(pilot, names.index("broken"))
        await wait_for_screen(pilot, "ResultsScreen")
        assert app.screen.log_report.setup["name"] == "broken"
        assert app.screen.log_report.setup["source"] == "tensorboard"
        text = shown(pilot)
        assert "train loss train/loss" in text and "learning rate train/lr" in text
        assert "event: the loss is first non-finite at step 70" in text
        # escape comes back to the list, to open the other run
        await pilot.press("escape")
        await wait_for_screen(pilot, "LogsScreen")
        await pick(pilot, names.index("calm"))
        await wait_for_screen(pilot, "ResultsScreen")
        assert app.screen.log_report.setup["name"] == "calm"
        assert "non-finite" not in shown(pilot)


async def test_run_option_opens_that_run_without_asking(builtin_kb, tmp_path):
    runs = tmp_path / "runs"
    write_csv(runs / "a.csv", steps=100)
    write_csv(runs / "b.csv", steps=100, nan_from=40)
    app = AdvisorApp(kb=builtin_kb, start=Start("logs", str(runs)),
                     logs_options={"run": "b", "mapping": {"loss": "loss"}})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, "ResultsScreen")
        report = app.screen.log_report
        assert report.setup["name"] == "b" and report.options == {"run": "b",
                                                                   "map": {"loss": "loss"}}
        assert "first non-finite at step 40" in shown(pilot)


async def test_a_user_rule_diagnoses_a_trainer_state_end_to_end(tmp_path):
    """A trainer_state.json under another name (told by its content), hiding NaN losses the
    way the Trainer does; the diagnosis comes from a rule of the person's --kb folder."""
    state = write_trainer_state(tmp_path / "out" / "state_at_end.json", steps=200, nan_from=120)
    kb = user_kb(tmp_path / "team_kb")
    start = classify(str(state))
    assert start == Start("logs", str(state))
    app = AdvisorApp([str(kb)], start=start, builtin=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, "ResultsScreen")
        screen = app.screen
        assert app.kb_problems == []
        assert screen.log_report.setup["source"] == "huggingface"
        assert [f.id for f in screen.result.diagnoses] == ["team_log_nan"]
        text = shown(pilot)
        assert "event: the loss is first non-finite at step 120" in text
        assert "the trainer hid NaN losses" in text
        assert "validation loss eval_loss" in text
        assert "Restart from the last checkpoint" in text_of(pilot, "#remedies-text")
        await pilot.press("3")
        await pilot.pause()
        assert "logs.loss_nonfinite" in "".join(rendered(pilot, "#how-tree"))


async def test_a_tag_the_run_lacks_is_said_in_a_message(builtin_kb, tmp_path):
    log = write_csv(tmp_path / "run.csv", steps=50)
    app = AdvisorApp(kb=builtin_kb, start=Start("logs", str(log)),
                     logs_options={"mapping": {"loss": "train/missing"}})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_screen(pilot, "MessageScreen")
        assert "train/missing" in app.screen.message_text
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")


async def test_a_log_opens_from_the_home_screen_too(builtin_kb, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    log = write_csv(tmp_path / "run.csv", steps=60)
    app = AdvisorApp(kb=builtin_kb)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for path in (empty, log):
            await pilot.press("o")
            await wait_for_screen(pilot, "PromptScreen")
            app.screen.query_one("#prompt-input").value = str(path)
            await pilot.press("enter")
            if path == empty:  # said in a message, and back home
                await wait_for_screen(pilot, "MessageScreen")
                assert f"{empty}: no logs found" in app.screen.message_text
                await pilot.press("escape")
                await wait_for_screen(pilot, "HomeScreen")
        await wait_for_screen(pilot, "ResultsScreen")
        assert app.screen.log_report.setup["name"] == "run"


# ------------------------------------------------------------------ the command line
def test_tui_refuses_a_folder_without_logs_before_starting(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["tui", str(empty)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{empty}: no logs found in this folder or below" in err
    assert "TensorBoard" in err and "setup()" in err


def test_tui_refuses_an_unknown_run_and_run_without_a_log(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_csv(runs / "a.csv", steps=20)
    write_csv(runs / "b.csv", steps=20)
    assert main(["tui", str(runs), "--run", "c"]) == EXIT_USAGE
    assert "no run named 'c'; the runs found are: a, b" in capsys.readouterr().err
    assert main(["tui", "setup.py", "--run", "a"]) == EXIT_USAGE
    assert "--run goes with a training log TARGET" in capsys.readouterr().err
    assert main(["tui", str(runs), "--map", "loss"]) == EXIT_USAGE
    assert "bad mapping entry 'loss'" in capsys.readouterr().err
