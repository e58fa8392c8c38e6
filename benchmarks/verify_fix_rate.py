"""Fix rate of verified remedies (issue 11): does the remedy `advisor probe --verify` puts first
restore the healthy program, more often than the remedy the advisor would put first unverified?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/verify_fix_rate.py [--programs NAME ...]
        [--limit N] [--seeds 5] [--trial-steps 100] [--steps 200] [--out FILE.json]

Cases: the kept mutants of the corpus (benchmarks/mutation/verified/PROGRAM.yaml), by default
those of the programs whose healthy run took at most --max-healthy-seconds (4 s) there. Each
mutant is probed in-process with verify=True (as `benchmarks/mutate.py probe` loads it; the
operator's global patches are undone after each case). From its report:
- the top verified remedy: the first remedy, in the final (re-ranked) diagnosis order, whose
  trial's verdict is "helps" -- what the advisor recommends after verifying;
- the top unverified remedy: the first remedy with a trial of the first diagnosis, in the order
  before the trials (verification.rank_before), that has one -- what it would recommend without
  verifying. Its trial ran in the same verification (its diagnosis was the first one planned);
  when it could not run (not applicable, capped, failed) it is "unmeasured".
A remedy's outcome is the treated arm of its trial: `seeds` runs of `trial_steps` steps.

The healthy reference runs the healthy program through the same protocol: the probe, then the
verification's control arm (the same seeds, steps, evaluation batches and step loop;
advisor/trials/verify.py: run_verification). A remedy restores the program when the median of
its treated outcomes is within the mutation catalogue's margin of the healthy median
(benchmarks/mutation/verify.py, the margin a mutant had to exceed to be kept):
- classification error rate (Outcome.error): at most healthy + 0.05;
- regression normalised MSE (Outcome.error) and losses: at most max(1.25 x healthy,
  healthy + 0.02).
The error is used when both sides measured it for the same task kind (the probe's task of the
healthy program and of the mutant), else the loss; a non-finite run counts as the worst.
A case without a remedy to recommend counts as not restored. The cost ratio is the seconds of
the probe's verify phase over the seconds of its other phases (report.timings).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "mutation"))
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402
from verify import ERROR_RATE_MARGIN, LOSS_ABS_MARGIN, LOSS_RATIO_MARGIN  # noqa: E402

VERIFIED = HERE / "mutation" / "verified"
MARGINS = (f"restored: median treated outcome <= healthy median + {ERROR_RATE_MARGIN} "
           f"(classification error rate), <= max({LOSS_RATIO_MARGIN} x healthy, healthy + "
           f"{LOSS_ABS_MARGIN}) (regression normalised MSE, or the loss when an error is not "
           "measured on both sides for the same task)")
CLASSIFICATION = ("binary", "multiclass", "multilabel")

Outcomes = Mapping[str, Sequence[float | None]]   # {"loss": [...], "error": [...]} per seed


@dataclass
class Reference:
    """The healthy program under the protocol: its control arm's outcomes and the task kind
    the probe found (what its error means)."""

    outcomes: dict[str, list[float | None]]
    task: str | None


# ------------------------------------------------------------------ the restored rule
@dataclass
class Judgement:
    """One remedy's treated outcomes against the healthy reference."""

    metric: str            # "error" or "loss"
    healthy: float         # median of the healthy control runs
    treated: float         # median of the remedy's treated runs (inf: non-finite)
    threshold: float
    restored: bool


def median(values: Sequence[float | None]) -> float:
    """The median, a missing or non-finite value counting as the worst (+inf)."""
    xs = sorted(x if x is not None and math.isfinite(x) else math.inf for x in values)
    if not xs:
        return math.inf
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def pick_metric(healthy: Outcomes, treated: Outcomes) -> str:
    """"error" when both sides measured it, else "loss". A treated run that went non-finite has
    neither measure (it is the worst on both): it does not stop the error from being used."""
    h_err = [x for x in healthy.get("error") or [] if x is not None]
    t_loss = list(treated.get("loss") or [])
    t_err = list(treated.get("error") or [])
    measured = [e is not None for e, lo in zip(t_err, t_loss, strict=False) if lo is not None]
    if h_err and t_err and all(measured) and any(e is not None for e in t_err):
        return "error"
    return "loss"


def threshold(metric: str, task: str | None, healthy: float) -> float:
    """The largest outcome that still counts as the healthy program's (the catalogue's margins:
    error-rate points for classification errors, a ratio and an absolute step otherwise)."""
    if metric == "error" and task in CLASSIFICATION:
        return healthy + ERROR_RATE_MARGIN
    return max(LOSS_RATIO_MARGIN * healthy, healthy + LOSS_ABS_MARGIN)


def judge(reference: Reference, treated: Outcomes, task: str | None) -> Judgement:
    """Whether the treated outcomes (of a mutant whose task the probe found to be `task`)
    restore the healthy program's metric."""
    healthy = reference.outcomes
    metric = pick_metric(healthy, treated) if task == reference.task else "loss"
    h, t = median(healthy.get(metric) or []), median(treated.get(metric) or [])
    limit = threshold(metric, reference.task, h)
    return Judgement(metric, h, t, limit, math.isfinite(t) and t <= limit)


# ------------------------------------------------------------------ picking from a report
@dataclass
class Pick:
    """A recommended remedy: the diagnosis it belongs to, its trial, and (when it ran) the
    trial's top-level entry with the outcomes."""

    diagnosis: str
    label: str
    verdict: str
    trial: dict[str, Any] | None    # report["trials"] entry; None when absent

    @property
    def measured(self) -> bool:
        outcomes = (self.trial or {}).get("outcomes") or {}
        return self.verdict != "not_run" and bool(outcomes.get("treated"))

    def treated(self) -> Outcomes:
        return ((self.trial or {}).get("outcomes") or {}).get("treated") or {}


def _trials_by_label(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {t.get("label"): t for t in report.get("trials") or [] if isinstance(t, dict)}


def _first_trial(remedies: Sequence[Any]) -> dict[str, Any] | None:
    return next((r["trial"] for r in remedies or []
                 if isinstance(r, dict) and isinstance(r.get("trial"), dict)), None)


def top_verified(report: Mapping[str, Any]) -> Pick | None:
    """The first remedy, in the final diagnosis order (info findings aside, as the trials
    planner leaves them aside), whose trial helped."""
    trials = _trials_by_label(report)
    for diag in report.get("diagnoses") or []:
        if diag.get("severity") == "info":
            continue
        for remedy in diag.get("remedies") or []:
            trial = remedy.get("trial") if isinstance(remedy, dict) else None
            if isinstance(trial, dict) and trial.get("verdict") == "helps":
                label = trial.get("label")
                return Pick(diag["id"], label, "helps", trials.get(label))
    return None


def top_unverified(report: Mapping[str, Any],
                   known: Mapping[str, tuple[str, str | None]] | None = None) -> Pick | None:
    """The first remedy with a trial of the first diagnosis before the trials (rank_before)
    that has one: what the advisor recommends without verifying. `known` maps a diagnosis id
    to (severity, label of its first remedy trial) for ids the final report no longer lists
    (the knowledge base's view); the report's own diagnoses are used first."""
    verification = report.get("verification") or {}
    order = verification.get("rank_before") or [d.get("id") for d in report.get("diagnoses")
                                                or []]
    final = {d.get("id"): d for d in report.get("diagnoses") or []}
    trials = _trials_by_label(report)
    for diag_id in order:
        if diag_id in final:
            severity = final[diag_id].get("severity")
            first = _first_trial(final[diag_id].get("remedies") or [])
            label = first.get("label") if first else None
        elif known is not None and diag_id in known:
            severity, label = known[diag_id]
        else:
            continue
        if severity == "info" or label is None:
            continue
        entry = trials.get(label)
        verdict = (entry or {}).get("verdict") or "not_run"
        return Pick(diag_id, label, verdict, entry)
    return None


# ------------------------------------------------------------------ one case
@dataclass
class Side:
    """One recommendation of a case and how it fared."""

    diagnosis: str | None = None
    label: str | None = None
    verdict: str | None = None
    status: str = "none"        # restored / not restored / unmeasured / none
    judgement: Judgement | None = None
    reason: str | None = None   # why its trial did not run (unmeasured)


@dataclass
class Case:
    case: str
    program: str
    operator: str
    task: str | None = None                             # the mutant's, as the probe found it
    top: list[str] = field(default_factory=list)        # error/warning ids, final order
    any_trial: bool = False
    trial_runs: int = 0                                 # runs of the verification, all arms
    verified: Side = field(default_factory=Side)
    unverified: Side = field(default_factory=Side)
    helps: int = 0
    helps_not_restoring: int = 0
    control: str | None = None     # the mutant unchanged under the protocol: broken / within
    probe_seconds: float | None = None
    verify_seconds: float | None = None
    problem: str | None = None

    @property
    def cost_ratio(self) -> float | None:
        if not self.probe_seconds or self.verify_seconds is None:
            return None
        return self.verify_seconds / self.probe_seconds


def side(pick: Pick | None, reference: Reference, task: str | None) -> Side:
    if pick is None:
        return Side()
    out = Side(pick.diagnosis, pick.label, pick.verdict)
    if not pick.measured:
        out.status = "unmeasured"
        out.reason = (pick.trial or {}).get("reason") or "its trial is not in the report"
        return out
    out.judgement = judge(reference, pick.treated(), task)
    out.status = "restored" if out.judgement.restored else "not restored"
    return out


def score_report(case: Case, report: Mapping[str, Any], reference: Reference,
                 known: Mapping[str, tuple[str, str | None]] | None = None) -> Case:
    """Fill the case's recommendations, verdict counts and timings from its report."""
    case.top = [d["id"] for d in report.get("diagnoses") or []
                if d.get("severity") in ("error", "warning")]
    case.task = (report.get("setup") or {}).get("task")
    case.any_trial = bool(report.get("trials"))
    case.trial_runs = int((report.get("verification") or {}).get("runs") or 0)
    case.verified = side(top_verified(report), reference, case.task)
    case.unverified = side(top_unverified(report, known), reference, case.task)
    case.control = control_status(report, reference, case.task)
    for trial in report.get("trials") or []:
        if trial.get("verdict") != "helps":
            continue
        case.helps += 1
        treated = (trial.get("outcomes") or {}).get("treated") or {}
        if not judge(reference, treated, case.task).restored:
            case.helps_not_restoring += 1
    timings = report.get("timings") or {}
    if "verify" in timings:
        case.verify_seconds = float(timings["verify"])
        total = timings.get("total", sum(v for k, v in timings.items() if k != "total"))
        case.probe_seconds = float(total) - case.verify_seconds
    verification = report.get("verification") or {}
    if verification.get("problem"):
        case.problem = verification["problem"]
    elif "verify" not in timings:
        error = (report.get("facts") or {}).get("runtime.error")
        case.problem = "the probe stopped before the verify phase" + (
            f" (runtime.error: {error})" if error not in (None, "none") else "")
    elif case.unverified.status == "unmeasured":
        case.problem = f"{case.unverified.label} did not run: {case.unverified.reason}"
    return case


def control_status(report: Mapping[str, Any], reference: Reference,
                   task: str | None) -> str | None:
    """Whether the mutant itself, unchanged (the verification's control arm), is outside the
    margin of the healthy program at the trials' steps ("broken") or already within it
    ("within": any remedy "restores" it, the case cannot tell remedies apart); None when no
    trial ran."""
    control = next(((t.get("outcomes") or {}).get("control") for t in report.get("trials") or []
                    if (t.get("outcomes") or {}).get("control")), None)
    if control is None:
        return None
    return "within" if judge(reference, control, task).restored else "broken"


# ------------------------------------------------------------------ the summary
def summarise(cases: Sequence[Case]) -> dict[str, Any]:
    n = len(cases)
    both = [c for c in cases
            if c.verified.status in ("restored", "not restored")
            and c.unverified.status in ("restored", "not restored")]
    ratios = [c.cost_ratio for c in cases if c.cost_ratio is not None]
    ran = [c.cost_ratio for c in cases if c.cost_ratio is not None and c.trial_runs]
    broken = [c for c in cases if c.control == "broken"]

    def rate(subset: Sequence[Case], which: str) -> tuple[int, int]:
        return sum(getattr(c, which).status == "restored" for c in subset), len(subset)

    return {
        "cases": n,
        "with_trial": sum(c.any_trial for c in cases),
        "verified": rate(cases, "verified"),
        "unverified": rate(cases, "unverified"),
        "verified_both": rate(both, "verified"),
        "unverified_both": rate(both, "unverified"),
        "control_within": sum(c.control == "within" for c in cases),
        "verified_broken": rate(broken, "verified"),
        "unverified_broken": rate(broken, "unverified"),
        "no_verified_remedy": sum(c.verified.status == "none" for c in cases),
        "unverified_unmeasured": sum(c.unverified.status == "unmeasured" for c in cases),
        "helps": sum(c.helps for c in cases),
        "helps_not_restoring": sum(c.helps_not_restoring for c in cases),
        "cost_ratio_mean": sum(ratios) / len(ratios) if ratios else None,
        "cost_ratio_cases": len(ratios),
        "cost_ratio_mean_trials_ran": sum(ran) / len(ran) if ran else None,
        "cost_ratio_cases_trials_ran": len(ran),
    }


def _pct(pair: tuple[int, int]) -> str:
    k, n = pair
    return f"{k}/{n} = {100 * k / n:.0f} %" if n else "0/0"


def _short(s: Side) -> str:
    """A recommendation in one cell: the trial, its verdict, and restored or not with the
    median against the limit."""
    if s.status == "none":
        return "-"
    fig = ""
    if s.judgement is not None:
        j = s.judgement
        fig = f" ({j.metric} {_num(j.treated)} {'<=' if j.restored else '>'} " \
            f"{_num(j.threshold)})"
    return f"{s.label} [{s.verdict}]: {s.status}{fig}"


def _num(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.3g}"


def table(cases: Sequence[Case], settings: Mapping[str, Any],
          healthy: Mapping[str, Reference] | None = None) -> str:
    """The printed result: settings, margins, the summary lines, the healthy references, then
    one row per case."""
    s = summarise(cases)
    ratio = "n/a" if s["cost_ratio_mean"] is None else \
        f"{s['cost_ratio_mean']:.2f}x (verify phase / the probe's other phases, mean of " \
        f"{s['cost_ratio_cases']} cases with a verify phase)"
    if s["cost_ratio_mean_trials_ran"] is not None:
        ratio += f"; {s['cost_ratio_mean_trials_ran']:.2f}x over the " \
            f"{s['cost_ratio_cases_trials_ran']} where trials ran"
    lines = [
        "verified remedies: fix rate on the corpus mutants "
        + ", ".join(f"{k} {v}" for k, v in settings.items()),
        MARGINS,
        f"cases: {s['cases']}",
        f"cases with a diagnosis with a trial: {s['with_trial']}",
        f"fix rate, top verified remedy:   {_pct(s['verified'])}"
        f"  (no remedy helped: {s['no_verified_remedy']})",
        f"fix rate, top unverified remedy: {_pct(s['unverified'])}"
        f"  (its trial did not run: {s['unverified_unmeasured']})",
        f"where both were measured: verified {_pct(s['verified_both'])}, "
        f"unverified {_pct(s['unverified_both'])}",
        f"the mutant's own control arm already within the margin: {s['control_within']} cases;"
        f" over the {s['verified_broken'][1]} outside it: verified "
        f"{_pct(s['verified_broken'])}, unverified {_pct(s['unverified_broken'])}",
        f"'helps' verdicts: {s['helps']}, of which did not restore: {s['helps_not_restoring']}",
        f"cost ratio: {ratio}",
    ]
    if healthy:
        lines += ["", "healthy reference (median of the control arm's runs): " + "; ".join(
            f"{p} ({ref.task}) " + ", ".join(f"{k} {_num(median(v))}"
                                             for k, v in ref.outcomes.items()
                                             if any(x is not None for x in v))
            for p, ref in healthy.items())]
    rows = [("case", "control", "top unverified remedy", "top verified remedy", "cost")] + [
        (c.case, c.control or "-", _short(c.unverified), _short(c.verified),
         "-" if c.cost_ratio is None else f"{c.cost_ratio:.1f}x") for c in cases]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines.append("")
    for i, row in enumerate(rows):
        lines.append("  ".join(f"{cell:{w}s}" for cell, w in zip(row, widths, strict=False))
                     + "  " + row[4])
        c = cases[i - 1] if i else None
        if c is not None and c.problem:
            lines.append(f"{'':{widths[0]}s}  ({c.problem})")
    return "\n".join(lines)


# ------------------------------------------------------------------ running it
def select(programs: Sequence[str], max_seconds: float,
           limit: int | None) -> list[tuple[str, str]]:
    """(program, operator) of every kept mutant of the selected programs: those
    named (substring or exact, as mutate.py), else those whose healthy run took at most
    `max_seconds` in the verified record."""
    from mutate import kept_mutants

    out = []
    for program, operators in kept_mutants(list(programs)).items():
        path = VERIFIED / f"{program}.yaml"
        if not path.exists():
            continue
        healthy = yaml.safe_load(path.read_text())["healthy"]
        if not programs and (healthy.get("seconds") or math.inf) > max_seconds:
            continue
        out += [(program, op) for op in operators]
    return out[:limit] if limit is not None else out


def healthy_reference(program: str, options: Any) -> tuple[Reference, float]:
    """The healthy program's control arm under the verification's protocol: probed, then
    trained for the same seeds and steps on the same step loop and judged on the batches the
    probe cached (mirrors advisor/trials/verify.py: run_verification)."""
    from mutate import mutant

    from advisor.probing.runner import run
    from advisor.probing.setup import coerce_setup
    from advisor.trials import verify
    from advisor.trials.arm import ArmSpec
    from advisor.trials.runner import ArmRun, ArmRunner

    result: dict[str, Any] = {}
    steps = options.trial_steps or min(100, options.steps)
    seeds = [options.seed + verify.SEED_STRIDE * (i + 1) for i in range(options.seeds)]

    def control(state: Any, ctx: Any) -> None:
        eval_batches = ctx.val_batches or ctx.train_eval_batches
        runner = ArmRunner(ctx, steps, eval_batches, None)
        runs = runner.run_arm(ArmRun(ArmSpec(), verify._outputs_are(ctx)), seeds)
        result["outcomes"] = verify._outcomes(runs)
        result["errors"] = [r.error for r in runs if r.error]
        result["task"] = ctx.task.kind if ctx.task is not None else None

    start = time.perf_counter()
    prog = mutant(program, "")
    try:
        run(coerce_setup(prog.setup, program), options, after=control)
    finally:
        prog.restore()
    if "outcomes" not in result:
        raise RuntimeError(f"{program}: the healthy probe did not complete")
    if result["errors"]:
        raise RuntimeError(f"{program}: the healthy control arm raised: {result['errors'][0]}")
    return Reference(result["outcomes"], result["task"]), time.perf_counter() - start


def known_trials(kb_dirs: Sequence[str] = ()) -> dict[str, tuple[str, str | None]]:
    """Every diagnosis of the knowledge base: (severity, label of its first remedy trial)."""
    from advisor.probing.api import load_knowledge

    kb, _ = load_knowledge(kb_dirs)
    if kb is None:
        return {}
    out = {}
    for rule in kb.rules.values():
        trial = next((r.trial for r in rule.remedies if getattr(r, "trial", None) is not None),
                     None)
        out[rule.id] = (rule.severity, trial.label if trial is not None else None)
    return out


def run_case(program: str, operator: str, reference: Reference, args: argparse.Namespace,
             known: Mapping[str, tuple[str, str | None]]) -> tuple[Case, dict[str, Any] | None]:
    """Probe one mutant with verify=True (in-process, its patches undone after) and score it."""
    from mutate import mutant
    from programs import NotApplicable

    import advisor
    from advisor.errors import AdvisorError
    from advisor.probing.setup import coerce_setup

    name = f"{program}__{operator}"
    case = Case(name, program, operator)
    try:
        prog = mutant(program, operator)
    except NotApplicable as exc:
        case.problem = f"the operator no longer applies: {exc}"
        return case, None
    try:
        setup = coerce_setup(prog.setup, name)
        report = advisor.probe(setup=setup, steps=args.steps, budget=args.budget, verify=True,
                               seeds=args.seeds, verify_top=args.verify_top,
                               trial_steps=args.trial_steps, verify_budget=args.verify_budget)
    except AdvisorError as exc:
        case.problem = f"the probe refused the setup: {exc}"
        return case, None
    except Exception as exc:  # a fault of the advisor itself: a row of the table, not a stop
        case.problem = f"the probe raised {_where(exc)}"
        return case, None
    finally:
        prog.restore()
    data = report.to_dict()
    data.setdefault("trials", getattr(report, "trials", []))
    data.setdefault("verification", getattr(report, "verification", None))
    return score_report(case, data, reference, known), data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", nargs="+", default=[], metavar="NAME",
                        help="corpus programs (exact name or substring; default: those whose "
                             "healthy run took at most --max-healthy-seconds)")
    parser.add_argument("--max-healthy-seconds", type=float, default=4.0)
    parser.add_argument("--limit", type=int, help="at most N cases")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trial-steps", type=int, default=100)
    parser.add_argument("--steps", type=int, default=200, help="the probe's training steps")
    parser.add_argument("--budget", type=float, default=600.0, help="the probe's time cap")
    parser.add_argument("--verify-top", type=int, default=3)
    parser.add_argument("--verify-budget", type=float, default=300.0)
    parser.add_argument("--out", type=Path, help="write the per-case results as JSON")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.trial_steps < 1 or args.steps < 1:
        parser.error("--seeds, --trial-steps and --steps must be at least 1")

    import torch

    from advisor.probing.options import ProbeOptions

    torch.set_num_threads(1)
    selected = select(args.programs, args.max_healthy_seconds, args.limit)
    if not selected:
        print("no kept mutants selected (see benchmarks/mutation/verified/)", file=sys.stderr)
        return 2
    settings = {"seeds": args.seeds, "trial_steps": args.trial_steps, "steps": args.steps,
                "verify_top": args.verify_top, "verify_budget": args.verify_budget}
    options = ProbeOptions(steps=args.steps, budget=args.budget, quiet=True, verify=True,
                           seeds=args.seeds, verify_top=args.verify_top,
                           verify_budget=args.verify_budget, trial_steps=args.trial_steps)
    known = known_trials()
    healthy: dict[str, Reference] = {}
    skipped: dict[str, str] = {}
    cases: list[Case] = []
    raw: list[dict[str, Any]] = []
    print(f"{len(selected)} cases", flush=True)
    for program, operator in selected:
        if program in skipped:
            continue
        if program not in healthy:
            try:
                healthy[program], seconds = healthy_reference(program, options)
            except Exception as exc:  # no reference, no judgement: the program is left out
                skipped[program] = _where(exc)
                print(f"{program}: skipped, no healthy reference: {skipped[program]}",
                      flush=True)
                continue
            print(f"{program}: healthy control ({healthy[program].task}) "
                  f"{json.dumps(healthy[program].outcomes)} ({seconds:.1f}s)", flush=True)
        start = time.perf_counter()
        case, report = run_case(program, operator, healthy[program], args, known)
        cases.append(case)
        print(f"  {case.case:50s} {time.perf_counter() - start:6.1f}s  unverified: "
              f"{_short(case.unverified)} | verified: {_short(case.verified)}", flush=True)
        raw.append({**_case_dict(case), "healthy": asdict(healthy[program]),
                    "trials": [_trial_summary(t) for t in (report or {}).get("trials") or []],
                    "verification": (report or {}).get("verification")})
        if args.out is not None:
            _write(args.out, settings, cases, raw)
    print()
    print(table(cases, settings, healthy))
    for program, why in skipped.items():
        print(f"left out: {program} (no healthy reference: {why})")
    return 0 if cases else 1


def _where(exc: BaseException) -> str:
    """The exception in one line, with the innermost frame: enough to find the fault."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    first = (str(exc).splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}{where}"


def _case_dict(case: Case) -> dict[str, Any]:
    out = asdict(case)
    out["cost_ratio"] = case.cost_ratio
    return out


def _trial_summary(trial: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("label", "diagnoses", "verdict", "p_value", "effect", "metric", "outcomes",
            "reason")
    return {k: trial.get(k) for k in keys}


def _write(path: Path, settings: Mapping[str, Any], cases: Sequence[Case],
           raw: list[dict[str, Any]]) -> None:
    summary = summarise(cases)
    doc = {"settings": dict(settings), "margins": MARGINS, "summary": summary, "cases": raw}
    path.write_text(json.dumps(_finite(doc), indent=1) + "\n")


def _finite(x: Any) -> Any:
    """JSON has no infinity: a non-finite number (the worst outcome) is written as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


if __name__ == "__main__":
    sys.exit(main())
