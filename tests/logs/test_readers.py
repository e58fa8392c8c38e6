"""Log readers on files written by the real writers (SummaryWriter, TrainerState, CSVLogger).

Every error case must give a LogsError (never a traceback) that names the path and says what to
do; the CSV reader must stay on numpy arrays for a million points.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from advisor.errors import EXIT_USAGE
from advisor.logs import LoggedRun, LogsError, Series, assign_roles, read_logs
from advisor.logs.run import normalise_tag, parse_mapping

NAN = float("nan")


def _summary_writer():
    """torch's SummaryWriter, or a skip saying why (it needs the tensorboard package)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        pytest.skip(f"torch.utils.tensorboard needs the tensorboard package "
                    f"(pip install 'advisor[tensorboard]'): {exc}")
    return SummaryWriter


def write_tb_run(folder: Path, steps: int = 200, nan_from: int | None = None) -> None:
    """A run as torch's SummaryWriter writes it: loss, lr and grad norm per step."""
    writer = _summary_writer()(str(folder))
    for step in range(steps):
        loss = 2.5 * math.exp(-step / 60) + 0.05 * math.sin(step)
        if nan_from is not None and step >= nan_from:
            loss = NAN
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("train/lr", 1e-3 * min(1.0, (step + 1) / 20), step)
        writer.add_scalar("train/grad_norm", 1.0 if nan_from is None or step < nan_from
                          else math.inf, step)
        if step % 50 == 49:
            writer.add_scalar("val/loss", loss + 0.1, step)
    writer.close()


# --- TensorBoard ----------------------------------------------------------------------------

def test_tensorboard_two_runs_in_one_folder_keep_every_point_and_nan(tmp_path):
    write_tb_run(tmp_path / "runs" / "healthy", steps=12_000)
    write_tb_run(tmp_path / "runs" / "diverged", steps=300, nan_from=170)
    runs = {r.name: r for r in read_logs(tmp_path / "runs")}
    assert set(runs) == {"healthy", "diverged"}
    healthy = runs["healthy"]
    assert healthy.source == "tensorboard"
    # every point kept: the reader's default would have sampled 10,000 per tag
    assert len(healthy.get("loss")) == 12_000
    assert np.array_equal(healthy.get("loss").steps, np.arange(12_000))
    assert healthy.roles == {"loss": "train/loss", "lr": "train/lr",
                             "grad_norm": "train/grad_norm", "val_loss": "val/loss"}
    assert healthy.get("loss").wall is not None
    assert np.isfinite(healthy.get("loss").values).all()
    diverged = runs["diverged"]
    loss = diverged.get("loss")
    first_nan = int(loss.steps[np.isnan(loss.values)][0])
    assert first_nan == 170 and np.isnan(loss.values[170:]).all()
    assert np.isinf(diverged.get("grad_norm").values[170:]).all()


def test_tensorboard_single_event_file_and_run_selection(tmp_path):
    write_tb_run(tmp_path / "a", steps=20)
    write_tb_run(tmp_path / "b", steps=30)
    event_file = next((tmp_path / "a").glob("*tfevents*"))
    (run,) = read_logs(event_file)
    assert run.name == "a" and len(run.get("loss")) == 20
    (only_b,) = read_logs(tmp_path, run="b")
    assert only_b.name == "b" and len(only_b.get("loss")) == 30
    with pytest.raises(LogsError) as err:
        read_logs(tmp_path, run="c")
    assert "no run named 'c'" in str(err.value) and "a, b" in str(err.value)
    assert str(tmp_path) in str(err.value) and "--run" in str(err.value)


def test_tensorboard_tensor_encoded_scalars(tmp_path):
    """Newer writers store scalars as rank-0 tensors (torch's add_scalar(new_style=True))."""
    writer = _summary_writer()(str(tmp_path / "new"))
    for step in range(40):
        writer.add_scalar("loss", NAN if step == 33 else 1.0 / (step + 1), step, new_style=True)
    writer.close()
    (run,) = read_logs(tmp_path)
    loss = run.get("loss")
    assert len(loss) == 40 and np.isnan(loss.values[33])
    assert loss.values[1] == pytest.approx(0.5)


def test_tensorboard_missing_package_names_the_extra(tmp_path):
    """A fresh interpreter where `import tensorboard` fails, as it does when it is not installed."""
    write_tb_run(tmp_path / "run", steps=5)
    script = (
        "import sys\n"
        "sys.modules['tensorboard'] = None  # import tensorboard now raises ImportError\n"
        "from advisor.logs import MissingExtra, read_logs\n"
        "try:\n"
        f"    read_logs({str(tmp_path)!r})\n"
        "except MissingExtra as exc:\n"
        "    print(exc.exit_code, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.startswith(f"{EXIT_USAGE} ")
    assert "pip install 'advisor[tensorboard]'" in out and str(tmp_path / "run") in out


# --- Hugging Face ---------------------------------------------------------------------------

def _trainer_state(log_history: list[dict], global_step: int) -> dict:
    """A TrainerState as the Trainer fills it (transformers' own class when installed)."""
    try:
        from transformers.trainer_callback import TrainerState
    except ImportError:
        TrainerState = None
    fields = dict(epoch=log_history[-1]["epoch"], global_step=global_step, max_steps=global_step,
                  logging_steps=10, eval_steps=50, save_steps=100, train_batch_size=8,
                  num_train_epochs=3, total_flos=1.2e12, log_history=log_history)
    if TrainerState is not None:
        return TrainerState(**fields)
    return fields


def write_trainer_state(path: Path, log_history: list[dict], global_step: int) -> Path:
    """Written exactly as TrainerState.save_to_json writes it (NaN as the bare token)."""
    state = _trainer_state(log_history, global_step)
    path.parent.mkdir(parents=True, exist_ok=True)
    if dataclasses.is_dataclass(state):
        state.save_to_json(str(path))
    else:  # the same call transformers makes
        path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def hf_history(steps: int, nan_from: int | None = None) -> list[dict]:
    """log_history every 10 steps, an eval every 50, the end-of-training summary last.

    From `nan_from` on, the loss is logged as 0.0 and grad_norm as NaN: what the Trainer writes
    with logging_nan_inf_filter=True once every loss of a window is NaN.
    """
    history: list[dict] = []
    for step in range(10, steps + 1, 10):
        epoch = step / 100
        hidden = nan_from is not None and step >= nan_from
        history.append({"epoch": epoch, "grad_norm": NAN if hidden else 1.5 - step / 1000,
                        "learning_rate": 5e-5 * (1 - step / steps),
                        "loss": 0.0 if hidden else round(2.3 - step / 200, 4), "step": step})
        if step % 50 == 0:
            history.append({"epoch": epoch, "eval_accuracy": 0.5 + step / 1000,
                            "eval_loss": 2.0 - step / 300, "eval_runtime": 1.2,
                            "eval_samples_per_second": 80.0, "eval_steps_per_second": 10.0,
                            "step": step})
    history.append({"epoch": steps / 100, "step": steps, "total_flos": 1.2e12,
                    "train_loss": 1.1, "train_runtime": 30.5,
                    "train_samples_per_second": 26.2, "train_steps_per_second": 3.3})
    return history


def test_huggingface_trainer_state_series_and_roles(tmp_path):
    path = write_trainer_state(tmp_path / "out" / "trainer_state.json", hf_history(200), 200)
    (run,) = read_logs(path)
    assert run.source == "huggingface" and run.name == "out"
    assert run.roles["loss"] == "loss" and run.roles["val_loss"] == "eval_loss"
    assert run.roles["lr"] == "learning_rate" and run.roles["grad_norm"] == "grad_norm"
    assert run.roles["epoch"] == "epoch" and run.roles["val_metric"] == "eval_accuracy"
    assert np.array_equal(run.get("loss").steps, np.arange(10, 201, 10))
    assert np.array_equal(run.get("val_loss").steps, np.arange(50, 201, 50))
    assert "train_runtime" not in run.series and "train_loss" not in run.series
    assert any("end of training" in n for n in run.notes)
    assert run.hidden_nan_steps == []


def test_huggingface_hidden_nan_pattern(tmp_path):
    path = write_trainer_state(tmp_path / "trainer_state.json", hf_history(200, nan_from=130),
                               200)
    assert "NaN" in path.read_text()  # the bare token, as Python's json writes it
    (run,) = read_logs(path)
    assert run.hidden_nan_steps == list(range(130, 201, 10))
    assert run.get("loss").values[-1] == 0.0  # kept as logged
    assert any("logging_nan_inf_filter" in n and "130" in n for n in run.notes)


def test_huggingface_output_dir_takes_the_checkpoint_that_logged_furthest(tmp_path):
    out = tmp_path / "out"
    write_trainer_state(out / "checkpoint-100" / "trainer_state.json", hf_history(100), 100)
    write_trainer_state(out / "checkpoint-200" / "trainer_state.json", hf_history(200), 200)
    (run,) = read_logs(out)
    assert run.name == "out" and run.path.endswith("checkpoint-200/trainer_state.json")
    assert run.get("loss").steps[-1] == 200
    assert any("left out" in n for n in run.notes)
    write_trainer_state(out / "trainer_state.json", hf_history(200), 200)
    (run,) = read_logs(out)
    assert Path(run.path) == out / "trainer_state.json"  # the top-level one wins a tie


def test_huggingface_malformed_json_gives_file_line_col(tmp_path):
    path = write_trainer_state(tmp_path / "trainer_state.json", hf_history(50), 50)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # cut short, as a killed writer leaves it
    with pytest.raises(LogsError) as err:
        read_logs(tmp_path)
    message = str(err.value)
    line = text[: len(text) // 2].count("\n") + 1
    assert message.startswith(f"{path}:{line}:")
    assert "checkpoint" in message


# --- Lightning ------------------------------------------------------------------------------

def _lightning_fit(save_dir: Path, lr: float) -> None:
    """A tiny real Lightning run logging to a CSVLogger."""
    import torch
    from lightning.pytorch import LightningModule, Trainer
    from lightning.pytorch.loggers import CSVLogger

    class Tiny(LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, _):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=lr)

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    trainer = Trainer(max_epochs=2, logger=CSVLogger(str(save_dir)), log_every_n_steps=1,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu", devices=1)
    trainer.fit(Tiny(), loader, loader)


def test_lightning_csvlogger_runs(tmp_path):
    pytest.importorskip("lightning.pytorch", reason="advisor[lightning] is not installed")
    _lightning_fit(tmp_path, lr=0.05)
    _lightning_fit(tmp_path, lr=0.05)
    runs = {r.name: r for r in read_logs(tmp_path)}
    assert set(runs) == {"lightning_logs/version_0", "lightning_logs/version_1"}
    run = runs["lightning_logs/version_0"]
    assert run.source == "lightning"
    assert run.roles["loss"] == "train_loss_step" and run.roles["val_loss"] == "val_loss"
    assert run.roles["epoch"] == "epoch"
    assert len(run.get("loss")) == 16  # 8 batches x 2 epochs, one row each
    assert len(run.get("val_loss")) == 2 and len(run.series["train_loss_epoch"]) == 2
    assert np.isfinite(run.get("loss").values).all()
    (one,) = read_logs(tmp_path / "lightning_logs" / "version_1" / "metrics.csv")
    assert one.name == "version_1" and one.source == "lightning"


def test_lightning_metrics_csv_keeps_nan_apart_from_empty(tmp_path):
    pytest.importorskip("lightning.pytorch", reason="advisor[lightning] is not installed")
    from lightning.pytorch.loggers import CSVLogger

    logger = CSVLogger(str(tmp_path))
    for step in range(6):
        logger.log_metrics({"train_loss_step": NAN if step >= 4 else 1.0 / (step + 1),
                            "epoch": 0}, step=step)
        if step % 3 == 2:
            logger.log_metrics({"val_loss": 0.9, "epoch": 0}, step=step)
    logger.save()
    (run,) = read_logs(tmp_path)
    loss = run.get("loss")
    assert np.array_equal(loss.steps, np.arange(6))
    assert np.isnan(loss.values[4:]).all() and np.isfinite(loss.values[:4]).all()
    assert np.array_equal(run.get("val_loss").steps, [2, 5])


# --- generic CSV and JSON Lines -------------------------------------------------------------

def test_csv_with_mapping_and_default_step_names(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("iteration,objective,rate,note\n"
                    "0,2.0,0.1,x\n1,1.5,0.1,\n2,nan,0.1,y\n3,,0.05,\n")
    (run,) = read_logs(path, mapping={"loss": "objective", "lr": "rate"})
    assert run.name == "log" and run.source == "csv"
    assert run.roles == {"loss": "objective", "lr": "rate"}
    loss = run.get("loss")
    assert np.array_equal(loss.steps, [0, 1, 2]) and np.isnan(loss.values[2])
    assert any("non-numeric" in n for n in run.notes)
    (mapped,) = read_logs(path, mapping={"step": "rate", "loss": "objective"})
    assert mapped.get("loss").steps.tolist() == [0, 0, 0]


def test_csv_short_rows_and_too_long_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("step,loss,lr\n0,1.0,0.1\n1,0.9\n2,0.8,0.1\n")
    (run,) = read_logs(path)
    assert run.get("loss").steps.tolist() == [0, 1, 2] and run.get("lr").steps.tolist() == [0, 2]
    path.write_text("step,loss\n0,1.0\n1,0.9,7\n")
    with pytest.raises(LogsError) as err:
        read_logs(path)
    assert str(err.value).startswith(f"{path}:3:") and "header" in str(err.value)


def test_huggingface_output_dir_with_its_tensorboard_runs(tmp_path):
    """report_to="tensorboard" puts a copy of the same log_history under output_dir/runs/:
    one run, the trainer_state.json, with a note; the copy is still read when given alone."""
    out = tmp_path / "out"
    write_trainer_state(out / "checkpoint-200" / "trainer_state.json", hf_history(200), 200)
    write_tb_run(out / "runs" / "Dec02_01-00-00_host", steps=10)
    (run,) = read_logs(out)
    assert (run.name, run.source) == ("out", "huggingface")
    assert any("TensorBoard copy" in n and "runs/Dec02_01-00-00_host" in n for n in run.notes)
    (copy,) = read_logs(out / "runs")
    assert (copy.name, copy.source) == ("Dec02_01-00-00_host", "tensorboard")
    # a TensorBoard run elsewhere under the folder is another run
    write_tb_run(tmp_path / "tb" / "baseline", steps=10)
    runs = {r.name: r.source for r in read_logs(tmp_path)}
    assert runs == {"out": "huggingface", "tb/baseline": "tensorboard"}


def test_jsonl_with_mapping_nan_and_epoch_fallback(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [{"epoch": e, "train/loss": 1.0 / (e + 1), "acc": 0.5} for e in range(3)]
    path.write_text("\n".join(json.dumps(x) for x in lines) + '\n{"epoch": 3, "train/loss": NaN}\n')
    (run,) = read_logs(path, mapping={"val_metric": "acc"})
    assert run.source == "jsonl" and run.roles["loss"] == "train/loss"
    assert run.roles["val_metric"] == "acc"
    assert np.isnan(run.get("loss").values[-1]) and run.get("loss").steps.tolist() == [0, 1, 2, 3]
    assert any("epochs are used as steps" in n for n in run.notes)


def test_roles_normalise_separators_and_case():
    run = LoggedRun("r", "csv", "r.csv", {t: Series(t, [0], [1.0]) for t in
                                          ("Train-Loss", "lr-AdamW", "Val.Loss")})
    assign_roles(run)
    assert run.roles == {"loss": "Train-Loss", "lr": "lr-AdamW", "val_loss": "Val.Loss"}
    assert normalise_tag("train/loss") == normalise_tag("TRAIN.loss") == "train_loss"
    assert parse_mapping("loss=a/b, lr = c") == {"loss": "a/b", "lr": "c"}


def test_series_sorts_stably_and_keeps_nonfinite():
    s = Series("x", [3, 1, 3, 2], [1.0, NAN, math.inf, 4.0])
    assert s.steps.tolist() == [1, 2, 3, 3]
    assert np.isnan(s.values[0]) and s.values[2] == 1.0 and math.isinf(s.values[3])


# --- error cases: a LogsError naming the path and what to do --------------------------------

def test_missing_path(tmp_path):
    with pytest.raises(LogsError) as err:
        read_logs(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(err.value) and "no such file" in str(err.value)
    assert "give a TensorBoard log folder" in str(err.value)


def test_empty_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(LogsError) as err:
        read_logs(tmp_path)
    assert str(tmp_path) in str(err.value) and "no logs found" in str(err.value)


def test_unknown_format(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x00\x01")
    with pytest.raises(LogsError) as err:
        read_logs(path)
    assert str(path) in str(err.value) and "unknown log format" in str(err.value)


def test_mapping_to_a_missing_tag_lists_the_tags(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("step,loss,lr\n0,1.0,0.1\n")
    with pytest.raises(LogsError) as err:
        read_logs(path, mapping={"val_loss": "validation/loss"})
    message = str(err.value)
    assert str(path) in message and "no tag 'validation/loss'" in message
    assert "loss, lr" in message and "--map val_loss=" in message
    with pytest.raises(LogsError, match="unknown role"):
        read_logs(path, mapping={"los": "loss"})
    with pytest.raises(LogsError, match="no column 'it'"):
        read_logs(path, mapping={"step": "it"})
    with pytest.raises(LogsError, match="ROLE=TAG"):
        parse_mapping("loss")


def test_malformed_jsonl_gives_file_line_col(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 0, "loss": 1.0}\n{"step": 1, "loss": }\n')
    with pytest.raises(LogsError) as err:
        read_logs(path)
    assert str(err.value).startswith(f"{path}:2:21:")  # the "}" where a value belongs


def test_empty_and_headerless_tables(tmp_path):
    (tmp_path / "a.csv").write_text("")
    with pytest.raises(LogsError, match="header row"):
        read_logs(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("step,loss\n")
    with pytest.raises(LogsError, match="no numeric column"):
        read_logs(tmp_path / "b.csv")
    (tmp_path / "c.jsonl").write_text("\n")
    with pytest.raises(LogsError, match="empty"):
        read_logs(tmp_path / "c.jsonl")


# --- scale ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_csv_of_a_million_points_stays_on_numpy(tmp_path, capsys):
    n = 1_000_000
    steps = np.arange(n)
    loss = 2.0 * np.exp(-steps / 2e5) + 0.01 * np.sin(steps)
    loss[777_777] = np.nan
    lr = np.full(n, 1e-3)
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("step,loss,lr\n")
        np.savetxt(f, np.column_stack([steps, loss, lr]), fmt=["%d", "%.6g", "%.6g"],
                   delimiter=",")
    # a sparse column too, as Lightning writes it: every 1000th row has val_loss
    text = path.read_text().splitlines()
    text[0] += ",val_loss"
    for i in range(1, n + 1):
        text[i] += ",0.5" if i % 1000 == 0 else ","
    path.write_text("\n".join(text) + "\n")
    del text
    start = time.perf_counter()
    read_logs(path)
    seconds = time.perf_counter() - start  # timed untraced: tracemalloc slows numpy 5x
    tracemalloc.start()
    (run,) = read_logs(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(run.get("loss")) == n and np.isnan(run.get("loss").values[777_777])
    assert len(run.get("val_loss")) == n // 1000
    size = path.stat().st_size
    with capsys.disabled():
        print(f"\n1M-row CSV ({size / 1e6:.0f} MB, 4 columns): read in {seconds:.2f} s, "
              f"peak traced memory {peak / 1e6:.0f} MB")
    # numpy arrays, not Python objects per cell: 1M x 4 float64 is 32 MB; the parser needs a
    # few copies of the table and of the text. Per-cell Python floats alone would be ~100 MB.
    assert peak < 12 * size + 200e6


# --- damaged event files: read what is there, say what was not ------------------------------

def _records(data: bytes) -> list[int]:
    """The byte offset of every TFRecord in an event file (8-byte length, CRC, data, CRC)."""
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += 16 + int.from_bytes(data[pos:pos + 8], "little")
    return offsets


def test_tensorboard_file_cut_short_reads_what_is_there(tmp_path):
    """A run killed mid-write leaves half a record at the end of its event file."""
    write_tb_run(tmp_path / "run", steps=300, nan_from=250)
    (event_file,) = (tmp_path / "run").glob("*tfevents*")
    data = event_file.read_bytes()
    last = _records(data)[-1]
    for cut in (last + 5, last + 14, len(data) - 1):  # in the length, in the data, in the CRC
        event_file.write_bytes(data[:cut])
        (run,) = read_logs(tmp_path / "run")
        assert len(run.get("loss")) == len(run.get("grad_norm")) == 300
        assert len(run.get("val_loss")) == 5  # the last event (val/loss at 299), cut short
        assert np.isnan(run.get("loss").values[250:]).all()
        (note,) = run.notes
        assert event_file.name in note and "ends inside a record" in note
        assert f"from byte {last}" in note


def test_tensorboard_damaged_records_are_skipped_or_end_the_file(tmp_path):
    write_tb_run(tmp_path / "run", steps=100)
    (event_file,) = (tmp_path / "run").glob("*tfevents*")
    data = bytearray(event_file.read_bytes())
    offsets = _records(bytes(data))
    # a flipped bit in one scalar event's data: its CRC fails, that record alone is skipped
    damaged = bytearray(data)
    damaged[offsets[10] + 12 + 3] ^= 0x10
    event_file.write_bytes(bytes(damaged))
    (run,) = read_logs(tmp_path / "run")
    assert sum(len(s) for s in run.series.values()) == 3 * 100 + 2 - 1
    (note,) = run.notes
    assert "1 record(s) with damaged data" in note and f"at byte {offsets[10]}" in note
    # a flipped bit in a record's length: where the next record starts is lost, reading stops
    damaged = bytearray(data)
    damaged[offsets[40] + 1] ^= 0x01
    event_file.write_bytes(bytes(damaged))
    (run,) = read_logs(tmp_path / "run")
    assert sum(len(s) for s in run.series.values()) == 39  # the 39 scalar events before it
    (note,) = run.notes
    assert "damaged length" in note and f"record at byte {offsets[40]}" in note
    # nothing readable at all: a LogsError that says why, never a traceback
    event_file.write_bytes(bytes(data[:offsets[1] + 7]))
    with pytest.raises(LogsError) as err:
        read_logs(tmp_path / "run")
    assert "hold no scalars" in str(err.value) and "ends inside a record" in str(err.value)


def _accumulated(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """What TensorBoard's own EventAccumulator shows: every scalar, orphans purged."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()[ea.SCALARS]}


def test_tensorboard_restart_drops_orphans_as_tensorboard_does(tmp_path):
    """A run resumed from its step-300 checkpoint after logging to step 499: TensorBoard shows
    the resumed run from 300 on (SessionLog.START), and a file without a version purges on a
    step that goes back; the reader keeps exactly what TensorBoard shows, with a note."""
    pytest.importorskip("tensorboard", reason="advisor[tensorboard] is not installed")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.summary.writer.record_writer import RecordWriter

    def scalar(step: int, tag: str, value: float) -> event_pb2.Event:
        return event_pb2.Event(step=step, wall_time=1.7e9 + step, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]))

    restart = tmp_path / "restart"
    restart.mkdir()
    for attempt, (first, last) in enumerate([(0, 500), (300, 600)]):
        writer = EventFileWriter(str(tmp_path / f"attempt{attempt}"))
        if attempt:
            writer.add_event(event_pb2.Event(step=first, wall_time=1.8e9, session_log=(
                event_pb2.SessionLog(status=event_pb2.SessionLog.START))))
        for step in range(first, last):
            writer.add_event(scalar(step, "loss", step + 1000.0 * attempt))
        writer.close()
        # named by its start time as the writer names it; the two attempts an hour apart
        (written,) = (tmp_path / f"attempt{attempt}").glob("*tfevents*")
        written.rename(restart / f"events.out.tfevents.{1_700_000_000 + 3600 * attempt}.host")
    legacy = tmp_path / "legacy"  # TF1-era: no file version, so out-of-order steps purge
    legacy.mkdir()
    with (legacy / "events.out.tfevents.1.host").open("wb") as f:
        record = RecordWriter(f)
        for step in [*range(0, 50), *range(20, 60)]:
            record.write(scalar(step, "a" if step % 2 else "b", float(step))
                         .SerializeToString())
    for folder, dropped in ((restart, 200), (legacy, 30)):
        (run,) = read_logs(folder)
        shown = _accumulated(folder)
        assert {t: list(zip(s.steps.tolist(), s.values.tolist(), strict=True))
                for t, s in run.series.items()} == shown
        assert any(f"{dropped} point(s) dropped" in n for n in run.notes)
    loss = read_logs(restart)[0].get("loss")
    assert loss.steps.tolist() == list(range(600)) and loss.values[300] == 1300.0


def test_add_scalars_folders_are_one_run(tmp_path):
    """SummaryWriter.add_scalars("loss", {"train": .., "val": ..}) writes each key to a child
    folder (exp/loss_train, exp/loss_val) under the tag "loss": one run whose loss/val is the
    validation loss, not three runs whose "loss" would all read as a training loss."""
    writer = _summary_writer()(str(tmp_path / "exp"))
    for step in range(100):
        writer.add_scalars("loss", {"train": 2.0 / (step + 1), "val": 1.0 + step / 100}, step)
        writer.add_scalar("lr", 1e-3, step)
    writer.close()
    # a run of its own nested in a run folder stays a run
    nested = _summary_writer()(str(tmp_path / "exp" / "seed_1"))
    nested.add_scalar("train/loss", 1.0, 0)
    nested.close()
    runs = {r.name: r for r in read_logs(tmp_path)}
    assert sorted(runs) == ["exp", "exp/seed_1"]
    run = runs["exp"]
    assert run.roles["loss"] == "loss/train" and run.roles["val_loss"] == "loss/val"
    assert run.get("val_loss").values[-1] == pytest.approx(1.99)
    assert any("add_scalars" in n for n in run.notes)


def test_pytorch_tutorial_test_tags_are_validation(tmp_path):
    """PyTorch's TensorBoard tutorial logs "Loss/train", "Loss/test", "Accuracy/test"."""
    path = tmp_path / "log.csv"
    path.write_text("step,Loss/train,Loss/test,Accuracy/test\n0,2.0,2.1,0.1\n1,1.5,1.7,0.4\n")
    (run,) = read_logs(path)
    assert run.roles["loss"] == "Loss/train" and run.roles["val_loss"] == "Loss/test"
    assert run.roles["val_metric"] == "Accuracy/test"
    # add_scalars("Loss", {"training": .., "validation": ..}) read as one run
    path.write_text("step,Loss/training,Loss/validation\n0,2.0,2.1\n1,1.5,1.7\n")
    (run,) = read_logs(path)
    assert run.roles["loss"] == "Loss/training" and run.roles["val_loss"] == "Loss/validation"


def test_hidden_nan_pattern_in_the_trainers_tensorboard_copy(tmp_path):
    """report_to="tensorboard": the Trainer sends the same filtered loss (0.0 beside a NaN
    grad_norm) to TensorBoard, so the pattern is read there too."""
    writer = _summary_writer()(str(tmp_path / "Dec02_host"))
    for step in range(2, 200, 2):
        broken = step >= 100
        writer.add_scalar("train/loss", 0.0 if broken else 4.0 - step / 100, step)
        writer.add_scalar("train/grad_norm", NAN if broken else 1.0, step)
    writer.close()
    (run,) = read_logs(tmp_path / "Dec02_host")
    assert run.hidden_nan_steps[0] == 100 and len(run.hidden_nan_steps) == 50
    assert any("logging_nan_inf_filter" in n for n in run.notes)
    (healthy,) = read_logs(tmp_path / "Dec02_host", mapping={"grad_norm": "train/loss"})
    assert healthy.hidden_nan_steps == []


def test_csv_step_beyond_int64_is_left_out(tmp_path):
    """A step of 1e30 (a mistyped cell) would wrap around to -9.2e18 when cast to int64."""
    path = tmp_path / "log.csv"
    path.write_text("step,loss\n0,2.0\n1,1.5\n1e30,1.0\n2,1.2\n")
    (run,) = read_logs(path)
    assert run.get("loss").steps.tolist() == [0, 1, 2]
    assert any("1 row(s) without a usable step" in n for n in run.notes)


def test_jsonl_nested_objects_and_numbers_as_text(tmp_path):
    """{"train": {"loss": ..}} reads as train/loss; "2.5" as 2.5; other text is named."""
    path = tmp_path / "log.jsonl"
    lines = [{"step": s, "train": {"loss": 2.0 / (s + 1)}, "lr": "1e-3", "phase": "train"}
             for s in range(5)]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    (run,) = read_logs(path)
    assert run.roles["loss"] == "train/loss" and run.get("lr").values.tolist() == [1e-3] * 5
    assert any("phase (5)" in n for n in run.notes)


def test_an_empty_run_does_not_hide_the_folders_other_runs(tmp_path):
    """A SummaryWriter opened and killed before it logged leaves an empty event file: the
    folder's other runs are still reported, with a note; alone or chosen, it is the error."""
    write_tb_run(tmp_path / "good", steps=30)
    (tmp_path / "killed").mkdir()
    (tmp_path / "killed" / "events.out.tfevents.1.host").write_bytes(b"")
    (run,) = read_logs(tmp_path)
    assert run.name == "good"
    assert any("run 'killed' not read" in n and "no events at all" in n for n in run.notes)
    for chosen in (dict(path=tmp_path, run="killed"), dict(path=tmp_path / "killed")):
        with pytest.raises(LogsError, match="no events at all"):
            read_logs(**chosen)
    for f in (tmp_path / "good").glob("events.*"):
        f.write_bytes(b"")
    with pytest.raises(LogsError, match="none of its 2 runs could be read"):
        read_logs(tmp_path)


def test_step_mapping_on_a_tensorboard_run_is_said_to_be_ignored(tmp_path):
    write_tb_run(tmp_path / "run", steps=30)
    (run,) = read_logs(tmp_path / "run", mapping={"step": "train/lr"})
    assert run.get("loss").steps.tolist() == list(range(30))
    assert any(n.startswith("--map step=train/lr ignored") for n in run.notes)


def test_wandb_chart_export(tmp_path):
    """W&B's "Download CSV" of a chart: Step, "RUN - TAG" and its __MIN/__MAX envelope."""
    path = tmp_path / "wandb_export.csv"
    rows = [f"{s},{2.0 / (s + 1)},{1.8 / (s + 1)},{2.2 / (s + 1)}" for s in range(30)]
    path.write_text("Step,fine-sun-3 - train/loss,fine-sun-3 - train/loss__MIN,"
                    "fine-sun-3 - train/loss__MAX\n" + "\n".join(rows) + "\n")
    (run,) = read_logs(path)
    assert run.tags == ["train/loss"] and run.roles["loss"] == "train/loss"
    assert run.get("loss").values[1] == pytest.approx(1.0)
    path.write_text("Step,a - train/loss,b - train/loss\n0,1.0,2.0\n1,0.9,1.9\n")
    (both,) = read_logs(path)
    assert both.tags == ["a - train/loss", "b - train/loss"] and "loss" not in both.roles
    assert any("2 runs (a, b)" in n for n in both.notes)
