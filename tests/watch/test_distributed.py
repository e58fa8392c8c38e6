"""The distributed watch (issue 10 #6): each torchrun rank hands rank 0 a record; rank 0 merges
one report with the cross-rank facts `dist.replicas_diverged` and `dist.rank_step_mismatch`.

The merge is tested on hand-made records; end to end, two CPU processes (gloo) run the example
DDP scripts under `torchrun -m advisor watch` and under `advisor watch --nproc 2`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from advisor.watching.distributed import (
    ENV_DIR,
    RankRecord,
    _hand_over,
    _peer_gone_ending,
    distribute,
    fingerprints,
    free_port,
    judge_ranks,
    other_ranks_diagnoses,
    rank_env,
    read_records,
    target_words,
    watch_words,
    write_record,
)
from advisor.watching.report import Ending
from advisor.watching.script import Target

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "examples" / "scripts"
E2E_TIMEOUT = 300  # a guard against a hang only: the runs are bounded by --steps


def _record(rank: int, steps: int = 20, ending: str = "stopped", weight: float = 1.0,
            **kw) -> RankRecord:
    models = {"DistributedDataParallel": {"module.0.weight": [1280, 3.5 * weight, 9.0 * weight],
                                          "module.0.bias": [64, -0.25, 1.5]}}
    return RankRecord(rank=rank, steps=steps, optimizer_steps=steps, ending=ending,
                      stop_reason="steps" if ending == "stopped" else None,
                      models=kw.pop("models", models), **kw)


# ---------------------------------------------------------------------------- the merge
def test_identical_replicas_at_the_same_step_are_neither_diverged_nor_mismatched():
    j = judge_ranks({0: _record(0), 1: _record(1)}, 2)
    assert j.facts == {"dist.world_size": 2, "dist.rank_step_mismatch": False,
                       "dist.replicas_diverged": False}
    assert j.details["distributed"]["replicas"]["step"] == 20
    assert "rank 0: 20, rank 1: 20" in j.notes[0]


def test_a_replica_whose_weights_moved_on_its_own_is_diverged():
    j = judge_ranks({0: _record(0), 1: _record(1, weight=1.001)}, 2)
    assert j.facts["dist.replicas_diverged"] is True
    differing = j.details["distributed"]["replicas"]["differing_tensors"]
    assert [d["tensor"] for d in differing] == ["DistributedDataParallel.module.0.weight"]
    assert any("DIFFERENT" in n for n in j.notes)


def test_rounding_noise_below_the_tolerance_is_not_divergence():
    j = judge_ranks({0: _record(0), 1: _record(1, weight=1 + 1e-9)}, 2)
    assert j.facts["dist.replicas_diverged"] is False


def test_different_step_counts_are_a_mismatch_and_fingerprints_are_not_compared():
    j = judge_ranks({0: _record(0, steps=20), 1: _record(1, steps=17, ending="finished",
                                                        weight=2.0)}, 2)
    assert j.facts["dist.rank_step_mismatch"] is True
    assert "dist.replicas_diverged" not in j.facts
    assert any("different numbers of steps" in n for n in j.notes)


def test_a_rank_left_waiting_while_another_finished_its_script_is_a_mismatch():
    j = judge_ranks({0: _record(0, steps=18, ending="stopped", peer_gone=True),
                     1: _record(1, steps=18, ending="finished")}, 2)
    assert j.facts["dist.rank_step_mismatch"] is True
    assert j.facts["dist.replicas_diverged"] is False
    assert any("Rank 1 finished its script while rank 0 was still training" in n
               for n in j.notes)


def test_a_capped_rank_is_not_judged_for_steps():
    j = judge_ranks({0: _record(0, steps=20), 1: _record(1, steps=13, ending="capped")}, 2)
    assert "dist.rank_step_mismatch" not in j.facts


def test_a_missing_rank_is_named_and_leaves_the_comparison_unknown():
    j = judge_ranks({0: _record(0)}, 2)
    assert "dist.replicas_diverged" not in j.facts
    assert "dist.rank_step_mismatch" not in j.facts
    assert j.details["distributed"]["missing_ranks"] == [1]
    assert any("No record came from rank 1" in n for n in j.notes)


def test_no_step_taken_or_different_models_leave_divergence_unknown():
    assert "dist.replicas_diverged" not in judge_ranks(
        {0: _record(0, steps=0, weight=1.0), 1: _record(1, steps=0, weight=2.0)}, 2).facts
    other = {"Net": {"fc.weight": [10, 1.0, 2.0]}}
    assert "dist.replicas_diverged" not in judge_ranks(
        {0: _record(0), 1: _record(1, models=other)}, 2).facts


def test_sharded_models_are_named_and_never_compared():
    from advisor.watching.distributed import _is_sharded

    class FullyShardedDataParallel(nn.Module):   # what FSDP's class is called
        def __init__(self):
            super().__init__()
            self.shard = nn.Linear(2, 2)

    assert _is_sharded(FullyShardedDataParallel()) and not _is_sharded(nn.Linear(2, 2))
    j = judge_ranks({0: _record(0, models={}, sharded=["FullyShardedDataParallel"]),
                     1: _record(1, models={}, sharded=["FullyShardedDataParallel"])}, 2)
    assert "dist.replicas_diverged" not in j.facts
    assert any("Sharded models" in n and "FullyShardedDataParallel (rank 1)" in n
               for n in j.notes)


def test_nan_parameters_on_one_rank_only_are_divergence():
    nan = {"DistributedDataParallel": {"module.0.weight": [1280, float("nan"), float("nan")],
                                       "module.0.bias": [64, -0.25, 1.5]}}
    j = judge_ranks({0: _record(0), 1: _record(1, models=nan)}, 2)
    assert j.facts["dist.replicas_diverged"] is True


def test_another_ranks_error_and_its_own_diagnoses_are_in_the_notes():
    records = {0: _record(0),
               1: _record(1, ending="crashed", error="ValueError: bad batch",
                          where="train.py:40", diagnoses=["loss_diverging", "missing_zero_grad"])}
    j = judge_ranks(records, 2)
    assert any("Rank 1 ended with an error at train.py:40: ValueError: bad batch" in n
               for n in j.notes)
    assert other_ranks_diagnoses(records, ["loss_diverging"]) == [
        "Rank 1 alone was also diagnosed with: missing_zero_grad."]
    assert other_ranks_diagnoses(records, ["loss_diverging", "missing_zero_grad"]) == []


# ---------------------------------------------------------------------------- the exchange
def test_rank_env_outside_a_launch_or_with_one_process_is_none():
    assert rank_env({}) is None
    assert rank_env({"RANK": "0", "WORLD_SIZE": "1"}) is None
    assert rank_env({"RANK": "x", "WORLD_SIZE": "2"}) is None


def test_rank_env_folder_from_advisor_or_from_torchrun(tmp_path):
    given = rank_env({"RANK": "1", "WORLD_SIZE": "2", ENV_DIR: str(tmp_path)})
    assert (given.rank, given.folder, given.derived, given.expected) == (1, tmp_path, False,
                                                                         (0, 1))
    torchrun = {"RANK": "0", "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2",
                "TORCHELASTIC_RUN_ID": "none", "MASTER_PORT": "29500"}
    derived = rank_env(torchrun)
    assert derived.derived and f"-{os.getppid()}-" in derived.folder.name
    assert derived.expected == (0, 1)   # two nodes: only rank 0's node shares its /tmp
    assert rank_env({"RANK": "0", "WORLD_SIZE": "2"}).folder is None


def test_records_round_trip_and_foreign_or_stale_ones_are_ignored(tmp_path):
    write_record(tmp_path, _record(0, launch="a"))
    write_record(tmp_path, _record(1, launch="b"))          # another launch
    (tmp_path / "rank-2.json").write_text("{not json", encoding="utf-8")
    found = read_records(tmp_path, (0, 1, 2), "a", newer_than=0.0)
    assert list(found) == [0] and found[0] == _record(0, launch="a")
    assert read_records(tmp_path, (0,), "a", newer_than=(tmp_path / "rank-0.json")
                        .stat().st_mtime + 10) == {}


def test_a_collective_failing_because_a_peer_left_is_a_stop_not_a_crash():
    ending = Ending(how="crashed", error_type="RuntimeError", where="train.py:12",
                    error_message="RuntimeError: [pair.cc:553] Connection closed by peer "
                                  "[127.0.0.1]:4785")
    assert _peer_gone_ending(ending, 1) is True
    assert (ending.how, ending.error_message) == ("stopped", None)
    assert "Rank 1 was waiting in a collective (at train.py:12)" in ending.notes[0]
    own_bug = Ending(how="crashed", error_message="ValueError: bad batch")
    assert _peer_gone_ending(own_bug, 0) is False and own_bug.how == "crashed"


def test_fingerprints_are_float64_sums_and_norms_of_the_watched_model():
    import advisor

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with advisor.watch(model, optimizer) as w:
        for _ in range(3):
            optimizer.zero_grad()
            model(torch.randn(5, 8)).pow(2).mean().backward()
            optimizer.step()
    models, sharded = fingerprints(w.observer)
    assert sharded == [] and list(models) == ["Sequential"]
    weight = model[0].weight.detach().double()
    numel, total, norm = models["Sequential"]["0.weight"]
    assert (numel, total, norm) == (32, float(weight.sum()), float(weight.norm()))
    assert set(models["Sequential"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}


def test_each_rank_gets_the_watch_options_but_nproc():
    from advisor.commands.watch import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    given = ["--steps", "7", "--budget", "30", "--every-step", "--json", "r.json",
             "--fail-on", "warning", "--kb", "mykb", "--nproc", "2"]
    args = parser.parse_args(given)
    again = parser.parse_args(watch_words(args))
    for name in ("steps", "budget", "every_step", "json", "fail_on", "kb", "follow"):
        assert getattr(again, name) == getattr(args, name), name
    assert again.nproc is None and again.quiet
    no_budget = parser.parse_args(["--follow", "--nproc", "2"])  # --follow uncapped: kept so
    assert parser.parse_args(watch_words(no_budget)).budget is None
    assert target_words(Target(path="-odd.py", args=("--lr", "1"))) == ["--", "-odd.py",
                                                                        "--lr", "1"]
    assert target_words(Target(module="pkg.train", args=("a",))) == ["-m", "pkg.train", "a"]


def test_under_torchrun_only_rank_0_says_what_runs(monkeypatch):
    args = argparse.Namespace(nproc=None, quiet=False)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert distribute(args) is None and args.quiet is True
    args = argparse.Namespace(nproc=None, quiet=False)
    monkeypatch.setenv("RANK", "0")
    assert distribute(args) is None and args.quiet is False


def test_a_folder_that_cannot_be_written_is_said_not_raised(tmp_path):
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    problem = _hand_over(tmp_path / "a-file" / "exchange", _record(1))
    assert problem is not None and str(tmp_path / "a-file" / "exchange") in problem
    assert _hand_over(tmp_path / "exchange", _record(1)) is None
    assert (tmp_path / "exchange" / "rank-1.json").exists()


# ---------------------------------------------------------------------------- end to end
def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ADVISOR_KB_PATH", "ADVISOR_DEBUG", ENV_DIR, "RANK", "WORLD_SIZE")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=E2E_TIMEOUT)


@pytest.mark.slow
def test_torchrun_healthy_ddp_gives_one_report_with_identical_replicas(tmp_path):
    done = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                 "--master_port", str(free_port()), "-m", "advisor", "watch", "--steps", "8",
                 "--json", str(tmp_path / "r.json"), str(SCRIPTS / "ddp_healthy.py")], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("Diagnosis:") == 1            # one report, from rank 0
    assert "rank 1 of 2: watched 8 training steps" in done.stderr
    assert done.stderr.count("advisor watch: running ddp_healthy.py") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    facts = report["facts"]
    assert facts["dist.world_size"] == 2
    assert facts["dist.replicas_diverged"] is False
    assert facts["dist.rank_step_mismatch"] is False
    ranks = report["observations"]["details"]["distributed"]["ranks"]
    assert [(r["rank"], r["steps"]) for r in ranks] == [(0, 8), (1, 8)]
    assert "replicas_diverged" not in [d["id"] for d in report["diagnoses"]]


@pytest.mark.slow
def test_nproc_unsynced_ddp_is_diagnosed_replicas_diverged(tmp_path):
    done = _run([sys.executable, "-m", "advisor", "watch", "--nproc", "2", "--steps", "8",
                 "--fail-on", "error", "--json", str(tmp_path / "r.json"),
                 str(SCRIPTS / "ddp_unsynced.py")], tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]     # rank 0's verdict: --fail-on met
    assert "in 2 processes (torchrun)" in done.stderr
    assert done.stdout.count("Diagnosis:") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["facts"]["dist.replicas_diverged"] is True
    assert report["facts"]["dist.rank_step_mismatch"] is False
    assert "replicas_diverged" in [d["id"] for d in report["diagnoses"]][:3]
    assert [r["steps"] for r in report["observations"]["details"]["distributed"]["ranks"]] \
        == [8, 8]


CRASHING_RANK = '''
import os
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = DistributedDataParallel(nn.Linear(6, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(50):
    optimizer.zero_grad()
    model(torch.randn(4, 6) + rank).pow(2).mean().backward()
    optimizer.step()
    if rank == 1 and step == 2:
        raise ValueError("a bad batch on rank 1")
dist.destroy_process_group()
'''


@pytest.mark.slow
def test_a_rank_that_fails_does_not_leave_the_other_hanging(tmp_path):
    """Rank 1 raises after 3 steps while rank 0 goes on into the next all-reduce: rank 0 is
    released when rank 1 exits, and its report shows rank 1's error (exit 4), not a hang and not
    rank 0's "connection closed" as a bug of its own."""
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_RANK, encoding="utf-8")
    done = _run([sys.executable, "-m", "advisor", "watch", "--nproc", "2", "--steps", "20",
                 "--json", str(tmp_path / "r.json"), str(script)], tmp_path)
    assert done.returncode == 4, done.stderr[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["facts"]["runtime.error_message"] == "rank 1: ValueError: a bad batch on rank 1"
    ranks = report["observations"]["details"]["distributed"]["ranks"]
    assert [(r["rank"], r["steps"], r["ending"]) for r in ranks] == [(0, 3, "stopped"),
                                                                     (1, 3, "crashed")]
    assert ranks[0]["peer_gone"] is True


UNEVEN_DATA = """
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(rank)
n = 64 - 16 * rank   # each rank reads its own part of the data; rank 1's has one batch fewer
loader = DataLoader(TensorDataset(torch.randn(n, 6), torch.randn(n, 2)), batch_size=16)
torch.manual_seed(0)
model = DistributedDataParallel(nn.Linear(6, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for xb, yb in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        optimizer.step()
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_a_rank_with_fewer_batches_is_a_rank_step_mismatch(tmp_path):
    """Followed to its end, rank 1 finishes after 3 batches while rank 0 waits in the all-reduce
    of its 4th: rank 0 is released when rank 1 exits, and the report diagnoses the mismatch."""
    script = tmp_path / "uneven.py"
    script.write_text(UNEVEN_DATA, encoding="utf-8")
    done = _run([sys.executable, "-m", "advisor", "watch", "--nproc", "2", "--follow",
                 "--json", str(tmp_path / "r.json"), str(script)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["facts"]["dist.rank_step_mismatch"] is True
    assert "rank_step_mismatch" in [d["id"] for d in report["diagnoses"]][:3]
    ranks = report["observations"]["details"]["distributed"]["ranks"]
    assert [(r["rank"], r["ending"], r["peer_gone"]) for r in ranks] == [
        (0, "stopped", True), (1, "finished", False)]
