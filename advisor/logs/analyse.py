"""A finished run's logs -> whole-run facts -> diagnoses -> the report every command renders.

The facts are the pure functions of `advisor.facts.logs`, the diagnoses come from the same engine
and knowledge base as the probe's and the watch's, and the result is a `ProbeReport` (mode
"logs"), so a log report renders, stores and re-diagnoses (`advisor diagnose REPORT.json`)
exactly like the others. Only numpy here: reading a log never imports torch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from advisor.facts.logs import judge_logs
from advisor.logs.discover import read_logs
from advisor.logs.run import ROLES, LoggedRun, Series
from advisor.probing.api import diagnose, load_knowledge, sanitize
from advisor.report.probe import ProbeReport

PLOT_BINS = 500   # a plotted series keeps each bin's first, lowest and highest point: spikes show

# What a log holds is the run's scalars; what it cannot hold, said once in every report.
CANNOT_SHOW = (
    "Logs hold the run's logged scalars only: they cannot show per-layer statistics (dead or "
    "saturated units, which layer's gradient vanishes or explodes), data checks (labels, "
    "shuffling, input scaling) or the loop's wiring (zero_grad, train/eval mode, what the "
    "optimizer holds). `advisor watch train.py` observes those in your own script.")

# What the facts need from each role, said when the role is missing.
MISSING_ROLE = {
    "loss": "no training loss was found: nothing about the loss curve can be judged",
    "val_loss": "no validation loss was logged: overfitting cannot be judged",
    "lr": "no learning rate was logged: the schedule (warmup, decay, an epoch schedule "
          "exhausted early) cannot be judged",
    "grad_norm": "no gradient norm was logged: exploding gradients and clipping cannot be seen",
}


def analyse_logs(path: str | os.PathLike[str], *, run: str | None = None,
                 mapping: Mapping[str, str] | None = None, kb_dirs: Sequence[str] = (),
                 kb: Any = None) -> list[ProbeReport]:
    """One report per run found under PATH (or the one named `run`), diagnosed with `kb` (a
    loaded base, as the command and the TUI hold one) or the base `kb_dirs` load."""
    started = time.perf_counter()
    runs = read_logs(path, run=run, mapping=mapping)
    read_seconds = (time.perf_counter() - started) / max(len(runs), 1)
    kb, problem = (kb, None) if kb is not None else load_knowledge(kb_dirs)
    return [analyse_run(r, kb=kb, problem=problem, read_seconds=read_seconds,
                        options={"run": run, "map": dict(mapping or {})}) for r in runs]


def analyse_run(logged: LoggedRun, *, kb_dirs: Sequence[str] = (), kb: Any = None,
                problem: str | None = None, read_seconds: float | None = None,
                options: dict[str, Any] | None = None) -> ProbeReport:
    """The report of one logged run: its facts, diagnoses, plotted series and marked events."""
    started = time.perf_counter()
    judgement = judge_logs(logged)
    judged = time.perf_counter()
    diagnoses, unknown, _, problem = diagnose(judgement.facts, kb_dirs, kb=kb, problem=problem)
    timings = {"read": read_seconds, "judge": judged - started,
               "diagnose": time.perf_counter() - judged}
    timings = {k: round(v, 3) for k, v in timings.items() if v is not None}
    timings["total"] = round(sum(timings.values()), 3)
    details = {**judgement.details, "logs": run_summary(logged, judgement.facts,
                                                        judgement.details)}
    return ProbeReport(
        setup={"name": logged.name, "mode": "logs", "source": logged.source,
               "path": logged.path, "model": None, "optimizer": None, "loss_fn": None,
               "task": None, "has_val_data": logged.get("val_loss") is not None},
        device=None, options=options or {}, timings=timings,
        facts=sanitize(judgement.facts),
        series={"logs": plotted_series(logged)},
        details=sanitize(details),
        notes=[*logged.notes, *judgement.notes, *missing_roles(logged), CANNOT_SHOW],
        warnings=[], diagnoses=diagnoses, unknown_facts=unknown, kb_problem=problem)


def run_summary(logged: LoggedRun, facts: Mapping[str, Any], details: Mapping[str, Any]
                ) -> dict[str, Any]:
    """What was read (roles, tags, points, step range) and the events the plots mark."""
    roles = {}
    for role, tag in logged.roles.items():
        s = logged.series[tag]
        roles[role] = {"tag": tag, "points": len(s),
                       "first_step": int(s.steps[0]) if len(s) else None,
                       "last_step": int(s.steps[-1]) if len(s) else None,
                       "nonfinite": int(np.sum(~np.isfinite(s.values)))}
    return {"source": logged.source, "path": logged.path, "roles": roles,
            "tags": {tag: len(s) for tag, s in sorted(logged.series.items())},
            "hidden_nan_steps": list(logged.hidden_nan_steps[:20]),
            "hidden_nan_count": len(logged.hidden_nan_steps),
            "events": events(facts, details)}


def events(facts: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """The steps worth marking on a plot, from the facts and their details."""
    spikes = details.get("loss_spikes") or []
    out = {
        "first_nonfinite_step": facts.get("logs.first_nonfinite_step"),
        "divergence_step": facts.get("logs.divergence_step"),
        "overfit_onset_step": facts.get("logs.overfit_onset_step"),
        "lr_zero_step": facts.get("logs.lr_zero_step"),
        "grad_first_nonfinite_step": facts.get("logs.grad_first_nonfinite_step"),
        "loss_spikes": [{"step": s["peak_step"], "recovered": s.get("recovered")}
                        for s in spikes],
        "grad_spikes": [g["step"] for g in details.get("grad_spikes") or []],
    }
    return {k: v for k, v in out.items() if v not in (None, [])}


def missing_roles(logged: LoggedRun) -> list[str]:
    """A note for every role the facts need that the run did not log, naming the fix."""
    missing = [role for role in MISSING_ROLE if logged.get(role) is None]
    if not missing:
        return []
    names = ", ".join(logged.tags[:12]) or "none"
    return [f"{MISSING_ROLE[role]} (the run's tags: {names}; name the tag with "
            f"--map {role}=TAG)" for role in missing]


def plotted_series(logged: LoggedRun) -> dict[str, dict[str, Any]]:
    """Every role's series thinned to at most 3 x PLOT_BINS points for the plots and the JSON:
    each bin of equal step width keeps its first, lowest and highest finite point, so a spike or a
    plateau survives thinning, and the report stays small on a million-point run."""
    out = {}
    for role in ROLES:
        s = logged.get(role)
        if s is None or not len(s):
            continue
        steps, values = thin(s)
        out[role] = {"tag": s.tag, "steps": steps.tolist(), "values": values.tolist()}
    return out


def thin(s: Series, bins: int = PLOT_BINS) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the finite points to plot: all of them when few, else per bin of
    equal step width the first, the lowest and the highest (in step order)."""
    finite = np.isfinite(s.values)
    steps, values = s.steps[finite], s.values[finite]
    if len(steps) <= 3 * bins:
        return steps, values
    span = max(int(steps[-1] - steps[0]), 1)
    b = np.minimum(((steps - steps[0]) * bins) // span, bins - 1)
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    lowest = np.minimum.reduceat(values, starts)
    highest = np.maximum.reduceat(values, starts)
    ends = np.r_[starts[1:], len(values)]
    keep = set(starts.tolist())
    for lo_val, hi_val, a, z in zip(lowest, highest, starts, ends, strict=True):
        seg = values[a:z]
        keep.add(int(a + np.argmax(seg == lo_val)))
        keep.add(int(a + np.argmax(seg == hi_val)))
    index = np.fromiter(sorted(keep), dtype=np.int64)
    return steps[index], values[index]
