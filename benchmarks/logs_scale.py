"""Reading a run of a million logged points per tag: time and memory of `advisor logs`' readers.

A healthy run of N steps (default 1,000,000) logs loss, lr and grad_norm at every step and
val_loss every 1,000 steps, written in each format `advisor logs` reads, as its writer lays it
out:

- tensorboard: an event file in a folder, one event per scalar as torch's SummaryWriter writes
  it (the `Event` protos serialized by protobuf, TFRecord-framed with their masked CRC-32C; the
  file is opened by TensorBoard's own EventFileWriter, which writes its name and file version).
  TensorBoard's writer itself takes about 70 us per event on two cores, over 3 minutes for 3M;
  tests/logs/test_scale.py checks that TensorBoard's EventAccumulator reads the same points;
- huggingface: trainer_state.json as TrainerState.save_to_json writes it (json.dumps, indent 2,
  sorted keys; written by hand at this size, byte-identical to json.dumps, see the test);
- lightning: metrics.csv as CSVLogger writes it: one row per log call, so a row of
  train_loss_step/grad_norm/epoch and a row of lr-AdamW (LearningRateMonitor) per step;
- csv: step,loss,lr,grad_norm,val_loss, one row per step, val_loss empty between evaluations;
- jsonl: one object per step, val_loss only where evaluated.

Each format is then read in a FRESH Python process (so one format's memory never counts for
another): `advisor.logs.read_logs` timed, `advisor.facts.logs.judge_logs` timed on what it read,
the process's peak resident memory (ru_maxrss) and its resident memory after the imports, then a
second read under tracemalloc for the peak of Python allocations (numpy arrays included) during a
read (tracemalloc slows the read, so it is not the timed one). Printed: a table and ratios (bytes
of file per point, seconds per million points, traced bytes per point). Then, for the ratio
to what the TensorBoard reader was, TensorBoard's own EventAccumulator (every scalar kept) and
this reader on a run of --accumulator steps (default 100,000; the accumulator takes about 30 s
per million points). No assertion: the figures are for the issue's note.

Run: .venv/bin/python benchmarks/logs_scale.py [--points N] [--formats tensorboard,csv]
         [--keep DIR] [--json OUT] [--accumulator N]
     .venv/bin/python benchmarks/logs_scale.py --points 20000     (quick)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORMATS = ("tensorboard", "huggingface", "lightning", "csv", "jsonl")
EVAL_EVERY = 1000
CHUNK = 100_000  # steps generated and written at a time: the generator stays small too
WALL0 = 1.7e9


# --- the run ---------------------------------------------------------------------------------

def series(points: int, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
    """Steps start..stop of a healthy run of `points` steps: a noisy decaying loss, a linear
    warmup then cosine decay of the learning rate, a gradient norm clipped at 1.0 now and then.
    Deterministic per step (the noise is seeded by the step), so a chunk is reproducible."""
    stop = points if stop is None else stop
    step = np.arange(start, stop, dtype=np.int64)
    t = step / max(points, 1)
    noise = np.sin(step * 12.9898) * 43758.5453
    noise = (noise - np.floor(noise)) - 0.5  # uniform in [-0.5, 0.5), a hash of the step
    warmup = max(points // 100, 1)
    lr = np.where(step < warmup, 3e-4 * (step + 1) / warmup,
                  3e-4 * 0.5 * (1 + np.cos(math.pi * np.clip((step - warmup)
                                                             / max(points - warmup, 1), 0, 1))))
    loss = 0.4 + 2.0 * np.exp(-6 * t) + 0.15 * noise
    grad = np.minimum(0.6 + 0.5 * np.exp(-3 * t) + 0.4 * noise, 1.0)
    evals = step[(step + 1) % EVAL_EVERY == 0]
    val = 0.45 + 2.0 * np.exp(-6 * evals / max(points, 1))
    return {"step": step, "loss": loss, "lr": lr, "grad_norm": grad, "epoch": t * 3,
            "val_step": evals, "val_loss": val}


def _chunks(points: int):
    for start in range(0, points, CHUNK):
        yield series(points, start, min(points, start + CHUNK))


# --- writers ---------------------------------------------------------------------------------

def _frame(payloads: list[bytes]) -> bytes:
    """TFRecords of the payloads: length, masked CRC-32C of the length, data, its masked CRC."""
    from advisor.logs.readers.tensorboard import masked_crc32c

    lengths = np.fromiter((len(p) for p in payloads), np.int64, len(payloads))
    data = np.frombuffer(b"".join(payloads), np.uint8)
    data_at = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    headers = lengths.astype("<u8").view(np.uint8).reshape(-1, 8)
    header_crc = masked_crc32c(headers.reshape(-1), np.arange(lengths.size) * 8,
                               np.full(lengths.size, 8))
    data_crc = masked_crc32c(data, data_at, lengths)
    out_at = data_at + 16 * np.arange(lengths.size)
    out = np.empty(int(lengths.sum()) + 16 * lengths.size, np.uint8)
    for k in range(8):
        out[out_at + k] = headers[:, k]
    out[(out_at + 8)[:, None] + np.arange(4)] = header_crc.astype("<u4").view(np.uint8)\
        .reshape(-1, 4)
    out[np.repeat(out_at + 12 - data_at, lengths) + np.arange(data.size)] = data
    out[(out_at + 12 + lengths)[:, None] + np.arange(4)] = data_crc.astype("<u4")\
        .view(np.uint8).reshape(-1, 4)
    return out.tobytes()


def write_tensorboard(folder: Path, points: int) -> Path:
    """One event per scalar, as SummaryWriter.add_scalar writes it."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    EventFileWriter(str(folder)).close()  # names the file, writes the file_version event
    (path,) = folder.glob("*tfevents*")

    def event(step: int, tag: str, value: float) -> bytes:
        return Event(wall_time=WALL0 + step * 0.1, step=step, summary=Summary(
            value=[Summary.Value(tag=tag, simple_value=value)])).SerializeToString()

    with path.open("ab") as f:
        for c in _chunks(points):
            payloads: list[bytes] = []
            vals = iter(zip(c["val_step"].tolist(), c["val_loss"].tolist(), strict=True))
            pending = next(vals, None)
            for step, loss, lr, grad in zip(c["step"].tolist(), c["loss"].tolist(),
                                            c["lr"].tolist(), c["grad_norm"].tolist(),
                                            strict=True):
                payloads += [event(step, "train/loss", loss), event(step, "train/lr", lr),
                             event(step, "train/grad_norm", grad)]
                if pending is not None and pending[0] == step:
                    payloads.append(event(step, "val/loss", pending[1]))
                    pending = next(vals, None)
            f.write(_frame(payloads))
    return folder


def _json_float(x: float) -> str:
    """A float as Python's json writes it."""
    return repr(x) if math.isfinite(x) else ("NaN" if x != x else
                                             ("Infinity" if x > 0 else "-Infinity"))


def hf_entry(step: int, epoch: float, grad: float, lr: float, loss: float) -> str:
    return (f'    {{\n      "epoch": {_json_float(epoch)},\n      "grad_norm": '
            f'{_json_float(grad)},\n      "learning_rate": {_json_float(lr)},\n      "loss": '
            f'{_json_float(loss)},\n      "step": {step}\n    }}')


def hf_eval(step: int, epoch: float, val: float) -> str:
    return (f'    {{\n      "epoch": {_json_float(epoch)},\n      "eval_loss": '
            f'{_json_float(val)},\n      "eval_runtime": 1.5,\n      "step": {step}\n    }}')


def hf_head(points: int) -> dict:
    """The TrainerState fields around log_history."""
    return {"best_global_step": None, "best_metric": None, "best_model_checkpoint": None,
            "epoch": 3.0, "eval_steps": EVAL_EVERY, "global_step": points,
            "is_hyper_param_search": False, "is_local_process_zero": True,
            "is_world_process_zero": True, "logging_steps": 1, "max_steps": points,
            "num_input_tokens_seen": 0, "num_train_epochs": 3, "save_steps": 500,
            "stateful_callbacks": {}, "total_flos": 1.0e15, "train_batch_size": 8,
            "trial_name": None, "trial_params": None}


def write_huggingface(folder: Path, points: int) -> Path:
    """trainer_state.json byte for byte as json.dumps(state, indent=2, sort_keys=True)."""
    folder.mkdir(parents=True, exist_ok=True)
    head = json.dumps({k: v for k, v in hf_head(points).items()}, indent=2, sort_keys=True)
    before, after = head.split('  "logging_steps"')
    path = folder / "trainer_state.json"
    with path.open("w") as f:
        f.write(before + '  "log_history": [\n')
        first = True
        for c in _chunks(points):
            parts: list[str] = []
            epoch = c["epoch"].tolist()
            vals = dict(zip(c["val_step"].tolist(), c["val_loss"].tolist(), strict=True))
            for i, (step, loss, lr, grad) in enumerate(zip(
                    c["step"].tolist(), c["loss"].tolist(), c["lr"].tolist(),
                    c["grad_norm"].tolist(), strict=True)):
                parts.append(hf_entry(step, epoch[i], grad, lr, loss))
                if step in vals:
                    parts.append(hf_eval(step, epoch[i], vals[step]))
            f.write(("" if first else ",\n") + ",\n".join(parts))
            first = False
        f.write("\n  ],\n" + '  "logging_steps"' + after + "\n")
    return path


def _csv_float(x: float) -> str:
    return repr(x)  # the csv module writes str(float), which is repr


def write_lightning(folder: Path, points: int) -> Path:
    """lightning_logs/version_0/metrics.csv: a row per log call (two per step)."""
    version = folder / "lightning_logs" / "version_0"
    version.mkdir(parents=True, exist_ok=True)
    (version / "hparams.yaml").write_text("{}\n")
    path = version / "metrics.csv"
    with path.open("w") as f:
        f.write("epoch,grad_norm,lr-AdamW,step,train_loss_step,val_loss\n")
        for c in _chunks(points):
            vals = dict(zip(c["val_step"].tolist(), c["val_loss"].tolist(), strict=True))
            rows: list[str] = []
            for step, epoch, grad, lr, loss in zip(
                    c["step"].tolist(), (c["epoch"] // 1).astype(int).tolist(),
                    c["grad_norm"].tolist(), c["lr"].tolist(), c["loss"].tolist(),
                    strict=True):
                rows.append(f",,{_csv_float(lr)},{step},,\n")
                rows.append(f"{epoch},{_csv_float(grad)},,{step},{_csv_float(loss)},\n")
                if step in vals:
                    rows.append(f"{epoch},,,{step},,{_csv_float(vals[step])}\n")
            f.write("".join(rows))
    return folder


def write_csv(folder: Path, points: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "log.csv"
    with path.open("w") as f:
        f.write("step,loss,lr,grad_norm,val_loss\n")
        for c in _chunks(points):
            vals = dict(zip(c["val_step"].tolist(), c["val_loss"].tolist(), strict=True))
            f.write("".join(
                f"{s},{_csv_float(a)},{_csv_float(b)},{_csv_float(g)},"
                f"{_csv_float(vals[s]) if s in vals else ''}\n"
                for s, a, b, g in zip(c["step"].tolist(), c["loss"].tolist(), c["lr"].tolist(),
                                      c["grad_norm"].tolist(), strict=True)))
    return path


def write_jsonl(folder: Path, points: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "log.jsonl"
    with path.open("w") as f:
        for c in _chunks(points):
            vals = dict(zip(c["val_step"].tolist(), c["val_loss"].tolist(), strict=True))
            f.write("".join(
                f'{{"step": {s}, "loss": {_json_float(a)}, "lr": {_json_float(b)}, '
                f'"grad_norm": {_json_float(g)}'
                + (f', "val_loss": {_json_float(vals[s])}}}\n' if s in vals else "}\n")
                for s, a, b, g in zip(c["step"].tolist(), c["loss"].tolist(), c["lr"].tolist(),
                                      c["grad_norm"].tolist(), strict=True)))
    return path


WRITERS: dict[str, Callable[[Path, int], Path]] = {
    "tensorboard": write_tensorboard, "huggingface": write_huggingface,
    "lightning": write_lightning, "csv": write_csv, "jsonl": write_jsonl}

# The tag each role has in each format (what the test checks the read against).
TAGS = {
    "tensorboard": {"loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm",
                    "val_loss": "val/loss"},
    "huggingface": {"loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm",
                    "val_loss": "eval_loss"},
    "lightning": {"loss": "train_loss_step", "lr": "lr-AdamW", "grad_norm": "grad_norm",
                  "val_loss": "val_loss"},
    "csv": {"loss": "loss", "lr": "lr", "grad_norm": "grad_norm", "val_loss": "val_loss"},
    "jsonl": {"loss": "loss", "lr": "lr", "grad_norm": "grad_norm", "val_loss": "val_loss"},
}


def file_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- measuring, in a fresh process -----------------------------------------------------------

def _rss_mb() -> float:
    """The process's peak resident memory so far, in MB.

    Linux's VmHWM where there is one: ru_maxrss (KiB on Linux) keeps, across the exec that
    starts the child, the peak of the parent that forked it (which has just generated a large
    log), so it would report the generator's memory, not the reader's.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: str) -> dict:
    """Run in the child: read, judge, then a traced read. One JSON line on stdout."""
    import contextlib
    import tracemalloc

    from advisor.facts.logs import judge_logs
    from advisor.logs import read_logs

    with contextlib.suppress(ImportError):  # imported by the reader on first use: not timed
        from tensorboard.compat.proto import event_pb2  # noqa: F401
    baseline = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    runs = read_logs(path)
    read_s, read_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    judgements = [judge_logs(r) for r in runs]
    judge_s, judge_cpu = time.perf_counter() - start, time.process_time() - cpu
    rss = _rss_mb()
    points = {t: len(s) for r in runs for t, s in r.series.items()}
    facts = sum(len(j.facts) for j in judgements)
    notes = [n for r in runs for n in r.notes]
    del runs, judgements
    tracemalloc.start()
    read_logs(path)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"read_s": read_s, "read_cpu_s": read_cpu, "judge_s": judge_s,
            "judge_cpu_s": judge_cpu, "rss_peak_mb": rss, "rss_baseline_mb": baseline,
            "traced_peak_mb": traced / 1e6, "points": points, "facts": facts, "notes": notes}


def measure_accumulator(path: str) -> dict:
    """Run in the child: TensorBoard's EventAccumulator keeping every scalar (what the reader
    used before), its scalars turned into arrays as the old reader did."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    baseline = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    acc = ea.EventAccumulator(path, size_guidance={ea.SCALARS: 0})
    acc.Reload()
    points = {}
    for tag in acc.Tags()[ea.SCALARS]:
        events = acc.Scalars(tag)
        points[tag] = np.fromiter((e.value for e in events), np.float64, len(events)).size
    return {"read_s": time.perf_counter() - start, "read_cpu_s": time.process_time() - cpu,
            "rss_peak_mb": _rss_mb(), "rss_baseline_mb": baseline, "points": points}


def run_child(path: Path, mode: str = "--measure") -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    done = subprocess.run([sys.executable, __file__, mode, str(path)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"measuring {path} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict[str, dict], points: int) -> list[str]:
    lines = [f"{'format':<12}{'file MB':>8}{'B/pt':>6}{'write s':>8}{'read s':>8}"
             f"{'cpu s':>7}{'cpu s/Mpt':>10}{'judge s':>8}{'RSS MB':>7}{'+RSS MB':>8}"
             f"{'traced MB':>10}{'B/pt':>6}  points per tag"]
    for name, r in results.items():
        total = sum(r["points"].values())
        per_tag = sorted(set(r["points"].values()), reverse=True)
        lines.append(
            f"{name:<12}{r['bytes'] / 1e6:>8.1f}{r['bytes'] / total:>6.1f}{r['write_s']:>8.1f}"
            f"{r['read_s']:>8.2f}{r['read_cpu_s']:>7.2f}{r['read_cpu_s'] / (total / 1e6):>10.2f}"
            f"{r['judge_s']:>8.2f}"
            f"{r['rss_peak_mb']:>7.0f}{r['rss_peak_mb'] - r['rss_baseline_mb']:>8.0f}"
            f"{r['traced_peak_mb']:>10.0f}{r['traced_peak_mb'] * 1e6 / total:>6.0f}  "
            f"{'/'.join(str(n) for n in per_tag)} ({len(r['points'])} tags)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="steps (points per tag)")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--keep", metavar="DIR", help="write the logs here and keep them")
    parser.add_argument("--json", metavar="OUT", help="write the figures as JSON")
    parser.add_argument("--accumulator", type=int, default=100_000, metavar="N",
                        help="also time TensorBoard's EventAccumulator (the reader before) "
                             "against this reader on a run of N steps (0: skip; about 30 s "
                             "per million points)")
    parser.add_argument("--measure", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--measure-accumulator", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    if args.measure_accumulator:
        print(json.dumps(measure_accumulator(args.measure_accumulator)))
        return 0
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="logs_scale_"))
    print(f"logs scale: {args.points:,} steps; loss, lr, grad_norm every step, val_loss every "
          f"{EVAL_EVERY}; {os.cpu_count()} CPUs; numpy {np.__version__}; Python "
          f"{sys.version.split()[0]}; read and judge timed in a fresh process per format "
          "(wall clock and process CPU time: the machine may be shared), memory in MB (RSS = "
          "peak resident memory of that process, VmHWM; +RSS = over its RSS after imports; "
          "traced = tracemalloc peak of a second read)", flush=True)
    results: dict[str, dict] = {}
    try:
        for name in formats:
            start = time.perf_counter()
            path = WRITERS[name](base / name, args.points)
            write_s = time.perf_counter() - start
            result = run_child(path)
            result.update(write_s=write_s, bytes=file_bytes(path), path=str(path))
            results[name] = result
            print(f"  {name}: written in {write_s:.1f} s, read in {result['read_s']:.2f} s",
                  flush=True)
        if args.accumulator and "tensorboard" in formats:
            path = write_tensorboard(base / "accumulator", args.accumulator)
            before = run_child(path, "--measure-accumulator")
            now = run_child(path)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("\n".join(table(results, args.points)))
    for name, r in results.items():
        total = sum(r["points"].values())
        print(f"ratio {name}: {r['read_cpu_s'] / (total / 1e6):.2f} CPU s per million points "
              f"read ({r['read_s'] / (total / 1e6):.2f} s wall), "
              f"{r['traced_peak_mb'] * 1e6 / total:.0f} traced bytes per point (the series' "
              f"arrays alone: {24 if name == 'tensorboard' else 16}), "
              f"{r['bytes'] / total:.0f} file bytes per point; judge "
              f"{r['judge_s']:.2f} s ({r['facts']} facts)"
              + (f"; notes: {'; '.join(r['notes'])}" if r["notes"] else ""))
    if args.accumulator and "tensorboard" in formats:
        total = sum(before["points"].values())
        print(f"ratio tensorboard vs EventAccumulator ({args.accumulator:,} steps, "
              f"{total:,} points): {before['read_cpu_s']:.2f} CPU s vs {now['read_cpu_s']:.2f} "
              f"({before['read_cpu_s'] / now['read_cpu_s']:.0f}x; "
              f"{before['read_cpu_s'] / (total / 1e6):.1f} vs "
              f"{now['read_cpu_s'] / (total / 1e6):.2f} s per million points), peak RSS over "
              f"imports {before['rss_peak_mb'] - before['rss_baseline_mb']:.0f} MB vs "
              f"{now['rss_peak_mb'] - now['rss_baseline_mb']:.0f} MB")
        results["accumulator"] = {"steps": args.accumulator, "before": before, "now": now}
    if args.json:
        Path(args.json).write_text(json.dumps({"points": args.points, "results": results},
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
