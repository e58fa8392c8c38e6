"""torchrun: every rank watches its own loop, rank 0 merges one report.

`torchrun --nproc_per_node N -m advisor watch train.py` runs the watch in each of the N
processes (RANK, WORLD_SIZE, LOCAL_WORLD_SIZE and TORCHELASTIC_RUN_ID come from torchrun);
`advisor watch --nproc N train.py` starts exactly that through `python -m torch.distributed.run`.

Why files and not the script's process group: when the watch stops the script, the group may
already be destroyed by the script, or be in the middle of a collective that will never complete,
and a collective of ours could hang on it. So each rank writes a small JSON record (its step
counts, how its script ended, and a fingerprint of every parameter tensor of its watched models)
atomically into a folder the ranks agree on through the environment (ADVISOR_WATCH_DIR, set by
`--nproc`, or one derived from torchrun's run id and launcher process); rank 0 waits for the
others (bounded), merges, judges the two cross-rank facts and writes the report; the other ranks
print one line.

Why ranks cannot hang on the watch's stop: the watch stops each rank at its next hook after the
same number of optimizer steps, and DDP keeps ranks in lockstep, so every rank stops at the same
point, before the next step's collectives. When one rank ends early anyway (its own error, the
budget, a NaN), the others are left in a collective that it never joins; they are released when
its process exits (gloo fails a collective whose peer is gone at once; NCCL when its own error
handling notices, within the group's timeout, which is the script's), and their "connection
closed by peer" error is recognised here as "a peer left", not as a bug in the user's code.
Rank 0, which has to stay alive to merge, waits only briefly for peers in that case; a peer
stuck behind rank 0 is released as soon as rank 0 exits.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USER_CODE, AdvisorError, UsageError
from advisor.facts import Judgement

ENV_DIR = "ADVISOR_WATCH_DIR"
EXIT_FILE = "exit-code"
WAIT_S = 60.0          # rank 0 waits this long for ranks that stop with it (steps, end of script)
PEER_GRACE_S = 10.0    # ... and this long when it ended on its own (error, budget, NaN)
POLL_S = 0.05
CLOCK_SLACK_S = 5.0    # records older than rank 0's watch (minus this) belong to an earlier run
DIVERGENCE_RTOL = 1e-5  # replicas differ when a tensor's sum or norm differs by more than this
SYMMETRIC_STOPS = ("steps",)
PEER_GONE = ("closed by peer", "reset by peer", "broken pipe", "communicator was aborted",
             "remote process exited", "pair closure")
MAX_LISTED = 5
WORKER_MODULE = "advisor.watching.distributed"   # each rank of --nproc runs worker_main


class RankHandedOver(AdvisorError):
    """Ends `advisor watch` on a rank other than 0 after it handed its record over: the command
    prints this one line instead of a report (rank 0 writes the merged one), and exits with the
    rank's own code (0 unless its script failed)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------------------- environment
@dataclass(frozen=True)
class RankEnv:
    """Where this process stands in a torchrun launch, and the folder the ranks share.
    `derived`: the folder was made up from torchrun's environment (rank 0 removes it after);
    `expected`: the ranks whose records rank 0 waits for (the ranks of its own node unless the
    folder was given, and so may be shared between nodes)."""

    rank: int
    world_size: int
    folder: Path | None
    derived: bool
    expected: tuple[int, ...]
    launch: str


def rank_env(environ: dict[str, str] | None = None) -> RankEnv | None:
    """The rank's place in a launch of two or more processes; None outside one."""
    env = os.environ if environ is None else environ
    try:
        rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
        local_world = int(env.get("LOCAL_WORLD_SIZE", world))
    except (KeyError, ValueError):
        return None
    if world < 2 or not 0 <= rank < world:
        return None
    run_id = env.get("TORCHELASTIC_RUN_ID")
    restart = env.get("TORCHELASTIC_RESTART_COUNT", "0")
    launch = f"{run_id}:{env.get('MASTER_ADDR')}:{env.get('MASTER_PORT')}:{restart}"
    if env.get(ENV_DIR):
        return RankEnv(rank, world, Path(env[ENV_DIR]), False, tuple(range(world)), launch)
    if run_id is None:
        return RankEnv(rank, world, None, False, (), launch)
    # every local rank is a child of the same torchrun agent: its pid tells this launch apart
    # from earlier ones with the same (static) run id and port
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)[:40]
    folder = Path(tempfile.gettempdir()) / f"advisor-watch-{safe}-{os.getppid()}-{restart}"
    return RankEnv(rank, world, folder, True, tuple(range(min(world, local_world))), launch)


# ---------------------------------------------------------------------------- one rank's record
@dataclass
class RankRecord:
    """What one rank hands to rank 0. `models`: watched model -> parameter tensor ->
    [numel, float64 sum, float64 L2 norm] after the last completed step; `peer_gone`: the rank
    ended in a collective that failed because another rank had left."""

    rank: int
    steps: int
    optimizer_steps: int = 0
    grad_forwards: int = 0
    backward_passes: int = 0
    ending: str = "stopped"
    stop_reason: str | None = None
    error: str | None = None
    where: str | None = None
    exit_code: int | None = None
    peer_gone: bool = False
    models: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    sharded: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)
    launch: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> RankRecord:
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def record_path(folder: Path, rank: int) -> Path:
    return folder / f"rank-{rank}.json"


def write_record(folder: Path, record: RankRecord) -> Path:
    from advisor.report.files import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    return write_atomic(record_path(folder, record.rank), record.to_json())


def read_records(folder: Path, expected: tuple[int, ...], launch: str,
                 newer_than: float) -> dict[int, RankRecord]:
    """The records present now, from this launch (earlier runs may have left some behind)."""
    found = {}
    for rank in expected:
        path = record_path(folder, rank)
        try:
            if path.stat().st_mtime < newer_than:
                continue
            record = RankRecord.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError):
            continue
        if record.launch == launch and record.rank == rank:
            found[rank] = record
    return found


def wait_for_records(env: RankEnv, own: RankRecord, timeout: float,
                     newer_than: float) -> dict[int, RankRecord]:
    """Rank 0: every expected record, or those that came within `timeout` seconds."""
    assert env.folder is not None
    deadline = time.monotonic() + timeout
    records = {own.rank: own}
    while True:
        records.update(read_records(env.folder, env.expected, env.launch, newer_than))
        records[own.rank] = own
        if set(env.expected) <= set(records) or time.monotonic() >= deadline:
            return records
        time.sleep(POLL_S)


# ---------------------------------------------------------------------------- the merge (pure)
def judge_ranks(records: dict[int, RankRecord], world_size: int,
                expected: tuple[int, ...] | None = None) -> Judgement:
    """The cross-rank facts from the ranks' records (no torch): `dist.world_size`,
    `dist.rank_step_mismatch`, `dist.replicas_diverged`, with the details and notes behind them.
    A fact that the records cannot decide stays unknown."""
    j = Judgement()
    j.facts["dist.world_size"] = world_size
    expected = tuple(range(world_size)) if expected is None else expected
    ranks = [records[r] for r in sorted(records)]
    missing = [r for r in expected if r not in records]
    mismatch = _step_mismatch(ranks)
    if mismatch is not None:
        j.facts["dist.rank_step_mismatch"] = mismatch
    compared = _compare_replicas(ranks)
    if compared.get("diverged") is not None:
        j.facts["dist.replicas_diverged"] = compared["diverged"]
    j.details["distributed"] = {
        "world_size": world_size,
        "ranks": [{"rank": r.rank, "steps": r.steps, "optimizer_steps": r.optimizer_steps,
                   "grad_forwards": r.grad_forwards, "backward_passes": r.backward_passes,
                   "ending": r.ending, "stop_reason": r.stop_reason, "peer_gone": r.peer_gone,
                   "error": r.error, "where": r.where, "diagnoses": r.diagnoses}
                  for r in ranks],
        "missing_ranks": missing,
        "replicas": compared,
    }
    j.notes.extend(_notes(ranks, world_size, missing, compared, expected))
    return j


def _step_mismatch(ranks: list[RankRecord]) -> bool | None:
    """Different step counts among the ranks that ran until the watch or the script ended them
    (a capped or interrupted rank stopped wherever the clock or Ctrl-C found it), or a rank that
    finished its script while another was still training and was left in a collective."""
    judged = [r for r in ranks if r.ending not in ("capped", "interrupted")]
    if len(judged) < 2:
        return None
    steps_differ = len({r.steps for r in judged}) > 1
    left_behind = any(r.peer_gone for r in judged) and any(r.ending == "finished"
                                                           for r in judged)
    return steps_differ or left_behind


def _compare_replicas(ranks: list[RankRecord]) -> dict[str, Any]:
    """Compare every watched model's tensors between the ranks, only when they stopped after
    the same number of steps (at least one: the replicas must have stepped)."""
    with_models = [r for r in ranks if r.models]
    out: dict[str, Any] = {"diverged": None, "compared_ranks": [], "step": None,
                           "max_relative_difference": None, "differing_tensors": [],
                           "reason": None}
    if len(with_models) < 2:
        out["reason"] = "fewer than two ranks reported their parameters"
        return out
    steps = {r.steps for r in with_models}
    if len(steps) > 1:
        out["reason"] = "the ranks stopped after different numbers of steps"
        return out
    step = steps.pop()
    if step < 1:
        out["reason"] = "no optimizer step was taken"
        return out
    reference = with_models[0]
    worst, differing, compared_any = 0.0, [], False
    for other in with_models[1:]:
        for model, tensors in reference.models.items():
            theirs = other.models.get(model)
            if theirs is None or set(theirs) != set(tensors):
                continue
            for name, mine in tensors.items():
                if int(theirs[name][0]) != int(mine[0]):
                    continue
                compared_any = True
                diff = _relative_difference(mine, theirs[name])
                worst = max(worst, diff)
                if diff > DIVERGENCE_RTOL and len(differing) < MAX_LISTED:
                    differing.append({"tensor": f"{model}.{name}", "ranks": [reference.rank,
                                                                             other.rank],
                                      "relative_difference": diff})
    if not compared_any:
        out["reason"] = "the ranks' watched models have different parameters"
        return out
    out.update(diverged=worst > DIVERGENCE_RTOL, compared_ranks=[r.rank for r in with_models],
               step=step, max_relative_difference=worst, differing_tensors=differing)
    return out


def _relative_difference(a: list[float], b: list[float]) -> float:
    """How far two fingerprints [numel, sum, norm] are apart, relative to the tensor's norm: the
    sum's difference is divided by sqrt(numel) (|sum| <= sqrt(numel) * norm)."""
    numel, sum_a, norm_a = a
    _, sum_b, norm_b = b
    if not all(math.isfinite(v) for v in (sum_a, norm_a, sum_b, norm_b)):
        same = all((x == y) or (math.isnan(x) and math.isnan(y))
                   for x, y in ((sum_a, sum_b), (norm_a, norm_b)))
        return 0.0 if same else math.inf
    scale = max(abs(norm_a), abs(norm_b), 1e-12)
    return max(abs(sum_a - sum_b) / math.sqrt(max(numel, 1)), abs(norm_a - norm_b)) / scale


def _notes(ranks: list[RankRecord], world_size: int, missing: list[int],
           compared: dict[str, Any], expected: tuple[int, ...]) -> list[str]:
    notes = [f"Distributed run of {world_size} ranks, merged on rank 0; training steps per "
             "rank: " + ", ".join(f"rank {r.rank}: {r.steps}" for r in ranks) + "."]
    if len(expected) < world_size:
        notes.append(f"Only the {len(expected)} ranks on rank 0's node were compared; set "
                     f"{ENV_DIR} to a folder shared by all nodes to compare every rank.")
    if missing:
        notes.append("No record came from rank " + ", ".join(map(str, missing)) + ": it was "
                     "still running (typically waiting in a collective for a rank that had "
                     "ended) or died; it ends when rank 0 exits.")
    if compared.get("diverged") is not None:
        said = ("identical" if not compared["diverged"] else
                "DIFFERENT (" + ", ".join(d["tensor"] for d in compared["differing_tensors"])
                + ")")
        notes.append(f"Parameters compared across ranks {compared['compared_ranks']} after "
                     f"step {compared['step']}: {said}.")
    elif compared.get("reason") and len(ranks) > 1:
        notes.append(f"Parameters not compared across ranks: {compared['reason']}.")
    finished = [r.rank for r in ranks if r.ending == "finished"]
    waiting = [r.rank for r in ranks if r.peer_gone]
    if finished and waiting:
        notes.append(f"Rank {', '.join(map(str, finished))} finished its script while rank "
                     f"{', '.join(map(str, waiting))} was still training (waiting in the next "
                     "step's collective): the ranks did not have the same number of steps.")
    sharded = sorted({f"{m} (rank {r.rank})" for r in ranks for m in r.sharded})
    if sharded:
        notes.append("Sharded models hold different pieces on each rank and were not "
                     "compared: " + ", ".join(sharded) + ".")
    for r in ranks:
        if r.ending in ("crashed", "exited") and r.rank != 0:
            at = f" at {r.where}" if r.where else ""
            notes.append(f"Rank {r.rank} ended with an error{at}: {r.error}")
        elif r.peer_gone and r.rank != 0:   # rank 0's own ending says so already
            notes.append(f"Rank {r.rank} was left waiting in a collective when another rank "
                         "ended; it ended with it.")
    return notes


def other_ranks_diagnoses(records: dict[int, RankRecord], merged_ids: list[str]) -> list[str]:
    """Notes for what another rank's own report found that the merged one (rank 0's loop and the
    cross-rank facts) does not: a loop bug on one rank only."""
    notes = []
    for rank in sorted(records):
        extra = [d for d in records[rank].diagnoses if d not in merged_ids]
        if rank != 0 and extra:
            notes.append(f"Rank {rank} alone was also diagnosed with: {', '.join(extra)}.")
    return notes


# ---------------------------------------------------------------------------- a rank's end
def report_for_rank(watch: Any) -> Any:
    """The watch's report, or in a torchrun launch: this rank's record handed over, and on rank
    0 the report merged from every rank's record. Ranks other than 0 end here with
    RankHandedOver (one line, no report)."""
    env = rank_env()
    if env is None:
        return watch.report()
    peer_gone = _peer_gone_ending(watch.ending, env.rank)
    if env.folder is None:
        return _alone(watch, f"Rank {env.rank} of {env.world_size}: the ranks share no folder "
                             f"to merge their records (set {ENV_DIR}, or launch with "
                             "torchrun)")
    if env.rank != 0:
        _hand_over_and_end(env, watch, peer_gone)
    own = _record(env, watch, peer_gone, [])
    problem = _hand_over(env.folder, own)
    if problem:
        return _alone(watch, f"The ranks' records could not be exchanged ({problem})")
    symmetric = watch.ending.how == "finished" or (
        watch.ending.how == "stopped" and watch.observer.stop_reason in SYMMETRIC_STOPS)
    started = time.time() - watch.observer.elapsed() - CLOCK_SLACK_S
    records = wait_for_records(env, own, WAIT_S if symmetric else PEER_GRACE_S, started)
    if env.derived:
        shutil.rmtree(env.folder, ignore_errors=True)
    if peer_gone:
        _take_peer_error(watch.ending, records)
    report = _merged(watch, judge_ranks(records, env.world_size, env.expected))
    report.notes.extend(other_ranks_diagnoses(records, report.ids()))
    return report


def _alone(watch: Any, why: str) -> Any:
    report = watch.report()
    report.notes.append(f"{why}: this report covers this rank only.")
    return report


def _hand_over_and_end(env: RankEnv, watch: Any, peer_gone: bool) -> None:
    """A rank other than 0: its record (with what its own report diagnosed) to rank 0, then the
    one line it prints."""
    assert env.folder is not None
    own = _record(env, watch, peer_gone, watch.report().ids())
    said = "rank 0 merges every rank's record into the report"
    if not (peer_gone and env.derived and not env.folder.exists()):
        # (else rank 0 has merged and gone, removing the folder: nobody would read it)
        problem = _hand_over(env.folder, own)
        said = f"its record could not be written ({problem})" if problem else said
    raise RankHandedOver(f"rank {env.rank} of {env.world_size}: watched {own.steps} training "
                         f"steps; {said}", _rank_exit_code(watch.ending))


def _hand_over(folder: Path, record: RankRecord) -> str | None:
    """Write the record; the problem in words when the folder cannot be written."""
    try:
        write_record(folder, record)
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"
    return None


def _peer_gone_ending(ending: Any, rank: int) -> bool:
    """A collective that failed because another rank had left is not the script's bug: the rank
    ended with its peers. The ending becomes "stopped", with a note of where it waited."""
    message = (ending.error_message or "").lower()
    if ending.how != "crashed" or not any(p in message for p in PEER_GONE):
        return False
    at = f" (at {ending.where})" if ending.where else ""
    ending.notes.append(f"Rank {rank} was waiting in a collective{at} when another rank left "
                        "the run; it ended with it.")
    ending.how, ending.error_type, ending.error_message, ending.where = (
        "stopped", None, None, None)
    return True


def _take_peer_error(ending: Any, records: dict[int, RankRecord]) -> None:
    """Rank 0 ended because a peer left: when that peer's script failed, the run failed, and
    rank 0's report shows that error (with the rank it came from)."""
    failed = next((r for r in sorted(records.values(), key=lambda r: r.rank)
                   if r.rank != 0 and r.ending in ("crashed", "exited", "interrupted")), None)
    if failed is None:
        return
    ending.how, ending.exit_code, ending.where = failed.ending, failed.exit_code, failed.where
    ending.error_type = "RankError" if failed.error else None
    ending.error_message = f"rank {failed.rank}: {failed.error}" if failed.error else None


def _merged(watch: Any, judgement: Judgement) -> Any:
    """Rank 0's report with the cross-rank facts, details and notes, diagnosed once."""
    from advisor.probing.api import diagnose

    report = watch.report(diagnose=False)
    for name, value in judgement.facts.items():
        report.facts[name] = value
    report.details.update(judgement.details)
    report.notes.extend(judgement.notes)
    report.diagnoses, report.unknown_facts, _, report.kb_problem = diagnose(
        report.facts, watch.options.kb_dirs)
    return report


def _record(env: RankEnv, watch: Any, peer_gone: bool, diagnoses: list[str]) -> RankRecord:
    obs, ending = watch.observer, watch.ending
    models, sharded = fingerprints(obs)
    return RankRecord(
        rank=env.rank, steps=obs.step,
        optimizer_steps=obs.primary.steps if obs.primary is not None else 0,
        grad_forwards=obs.counts.grad_forwards, backward_passes=obs.counts.backward_passes,
        ending=ending.how, stop_reason=obs.stop_reason, error=ending.error_message,
        where=ending.where, exit_code=ending.exit_code, peer_gone=peer_gone, models=models,
        sharded=sharded, diagnoses=diagnoses, launch=env.launch)


def _rank_exit_code(ending: Any) -> int:
    if ending.how == "interrupted":
        return EXIT_INTERRUPTED
    if ending.how in ("crashed", "exited"):
        return EXIT_USER_CODE
    return EXIT_OK


def fingerprints(observer: Any) -> tuple[dict[str, dict[str, list[float]]], list[str]]:
    """Per watched model, per floating-point parameter tensor: [numel, float64 sum, float64 L2
    norm], read after the stop (the parameters as the last completed step left them; reading them
    changes nothing). Sharded models (FSDP, DTensor parameters) hold different pieces on each
    rank by design: listed apart, never compared."""
    import torch

    models: dict[str, dict[str, list[float]]] = {}
    sharded: list[str] = []
    for root in observer.roots.values():
        if root.kind != "model":
            continue
        if _is_sharded(root.module):
            sharded.append(root.name)
            continue
        tensors: dict[str, list[float]] = {}
        with torch.no_grad():
            for name, p in root.module.named_parameters():
                if p.is_sparse or p.is_meta or not p.is_floating_point():
                    continue
                d = p.detach()
                tensors[name] = [d.numel(), float(d.sum(dtype=torch.float64)),
                                 float(torch.linalg.vector_norm(d, dtype=torch.float64))]
        models[root.name] = tensors
    return models, sharded


def _is_sharded(module: Any) -> bool:
    kinds = {k.__name__ for k in type(module).__mro__}
    if any("FullyShardedDataParallel" in k or k.startswith("FSDP") for k in kinds):
        return True
    return any(type(p).__name__ == "DTensor" for p in module.parameters())


# ---------------------------------------------------------------------------- --nproc N
def distribute(args: Any) -> int | None:
    """What `advisor watch` does about processes before it watches: with `--nproc N`, run the
    whole watch through torchrun and return rank 0's exit code; otherwise None (watch here),
    and on a torchrun rank other than 0 no start line (that rank prints one line at its end)."""
    if getattr(args, "nproc", None):
        return launch(args)
    env = rank_env()
    if env is not None and env.rank != 0:
        args.quiet = True
    return None


def launch(args: Any) -> int:
    """`advisor watch --nproc N [OPTIONS] SCRIPT ARGS`: the same watch in N local processes
    through torchrun (static rendezvous on a free local port); returns rank 0's exit code."""
    import importlib.util

    if rank_env() is not None:
        raise UsageError("--nproc inside a torchrun launch: drop --nproc (torchrun already "
                         "started one watch per rank)")
    if importlib.util.find_spec("torch.distributed.run") is None:
        raise UsageError("--nproc needs torch.distributed (torchrun), which this build of "
                         "torch lacks")
    folder = Path(tempfile.mkdtemp(prefix="advisor-watch-"))
    env = dict(os.environ, **{ENV_DIR: str(folder)})
    env.setdefault("OMP_NUM_THREADS", "1")  # torchrun's own default for N > 1, minus its warning
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc_per_node", str(args.nproc), "--master_addr", "127.0.0.1",
               "--master_port", str(free_port()), "-m", WORKER_MODULE,
               *watch_words(args), *target_words(args.target)]
    if not args.quiet:
        what = "to its end" if args.follow else f"for {args.steps} training steps"
        print(f"advisor watch: running {args.target.name} {what} in {args.nproc} processes "
              "(torchrun)", file=sys.stderr)
    try:
        done = _run_to_end(command, env)
        code = _rank0_code(folder)
        if code is None:
            print(f"advisor watch: rank 0 did not finish its report (torchrun exited with "
                  f"{done}); see the messages above", file=sys.stderr)
            return EXIT_INTERRUPTED if done == EXIT_INTERRUPTED else EXIT_USER_CODE
        return code
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_to_end(command: list[str], env: dict[str, str]) -> int:
    """Run torchrun in a session of its own and wait for it. Ctrl-C reaches only this process:
    it is passed on to the ranks themselves, whose watches end as interrupted and write what they
    saw (rank 0 the partial report); torchrun, which would answer a Ctrl-C of its own with a
    traceback, then sees its workers end."""
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                ranks = _children(process.pid)
                for pid in ranks or [process.pid]:
                    _signal(pid, signal.SIGINT)
    finally:
        if process.poll() is None:  # this process is ending otherwise: take torchrun with it
            process.terminate()


def _children(pid: int) -> list[int]:
    """The processes torchrun started (Linux /proc; elsewhere none are known)."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except (OSError, ValueError):
        return []


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):  # it has already ended
        os.kill(pid, sig)


def _rank0_code(folder: Path) -> int | None:
    try:
        return int((folder / EXIT_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def free_port() -> int:
    """A TCP port free on this machine now, for torchrun's rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def watch_words(args: Any) -> list[str]:
    """The watch's own options, as each rank's `advisor watch` takes them (all but --nproc);
    ranks are quiet: the launcher says what runs."""
    words = ["--steps", str(args.steps), "--quiet"]
    if args.budget is not None:  # none given: each rank takes the command's own default
        words += ["--budget", repr(float(args.budget))]
    words += ["--follow"] if args.follow else []
    words += ["--every-step"] if args.every_step else []
    for flag in ("json", "markdown", "html"):
        if getattr(args, flag, None):
            words += [f"--{flag}", getattr(args, flag)]
    if getattr(args, "fail_on", None):
        words += ["--fail-on", args.fail_on]
    for folder in getattr(args, "kb", None) or []:
        words += ["--kb", folder]
    return words


def target_words(target: Any) -> list[str]:
    if target.module:
        return ["-m", target.module, *target.args]
    return ["--", target.path, *target.args]


def worker_main(argv: list[str]) -> int:
    """One rank of `--nproc`: `advisor watch ARGV`, whose exit code rank 0 leaves for the
    launcher; every rank exits 0 itself, so that torchrun reports no failed worker for what is
    the report's verdict (--fail-on, the script's error), which the launcher returns."""
    from advisor.cli import main
    from advisor.report.files import write_atomic

    code = main(["watch", *argv])
    folder = os.environ.get(ENV_DIR)
    if folder and os.environ.get("RANK", "0") == "0":
        write_atomic(Path(folder) / EXIT_FILE, str(code))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
