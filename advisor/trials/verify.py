"""`advisor probe --verify`: after the diagnosis, try the remedies of the top diagnoses on copies
in short matched runs, decide with an exact test, and feed the outcomes back to the engine.

The plan: one control arm (the setup unchanged), one reseed-only arm (the control again with
other seeds: how much reseeding alone moves the outcome, the false-positive check of the
protocol), and one arm per distinct trial among the remedies of the top diagnoses (two
diagnoses that propose the same change share one arm, and its verdict is evidence for both).
Each verdict becomes the fact `trial.<diagnosis>.helped`, which the knowledge base's evidence
rules (advisor/kb/trials.py) combine with the rest by certainty arithmetic: a cause whose
remedy measurably helped rises, one whose remedy did nothing falls, and the report says which
trial separated competing causes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from advisor.report.trials import not_run, remedy_trial_from
from advisor.trials.arm import ArmSpec, TrialEnv, TrialNotApplicable
from advisor.trials.runner import ArmRun, ArmRunner, RunResult, TrialsCapped
from advisor.trials.statistics import decide, relative_changes, smallest_p

CURVE_POINTS = 100        # points per loss curve in the report
SEED_STRIDE = 1009        # matched seeds: options.seed + SEED_STRIDE * (i + 1)
RESEED_OFFSET = 500_000   # the reseed-only arm's seeds

Progress = Callable[..., None]


@dataclass
class TrialPlan:
    """One distinct change to try, and the diagnoses whose remedies propose it."""

    transform: str
    args: dict[str, Any]
    label: str
    diagnoses: list[str] = field(default_factory=list)
    spec: ArmSpec | None = None
    reason: str | None = None            # why it did not run (not applicable, capped, error)
    runs: list[RunResult] = field(default_factory=list)
    result: dict[str, Any] | None = None  # the report's entry once decided


@dataclass
class Verification:
    """What a verification produced so far; complete or not, it turns into the report's
    "trials" and "verification" entries (a Ctrl-C keeps the trials already decided)."""

    seeds: int
    steps: int
    top: int
    metric: str
    plans: list[TrialPlan] = field(default_factory=list)
    control: list[RunResult] = field(default_factory=list)
    reseed: list[RunResult] = field(default_factory=list)
    noise: dict[str, Any] | None = None
    runs: int = 0
    seconds: float = 0.0
    capped: bool = False
    interrupted: bool = False
    rank_before: list[str] = field(default_factory=list)
    certainty_before: dict[str, float] = field(default_factory=dict)
    problem: str | None = None           # why nothing could be verified

    # --------------------------------------------------------------------- the report
    def trials(self) -> list[dict[str, Any]]:
        return [plan.result or _not_run_entry(plan, self) for plan in self.plans]

    def summary(self, rank_after: list[str]) -> dict[str, Any]:
        return {"seeds": self.seeds, "steps": self.steps, "top": self.top,
                "metric": self.metric, "noise": self.noise, "runs": self.runs,
                "seconds": round(self.seconds, 2), "capped": self.capped,
                "interrupted": self.interrupted, "separated": self.separated(),
                "rank_before": self.rank_before, "rank_after": rank_after,
                "problem": self.problem}

    def separated(self) -> list[dict[str, Any]]:
        """Each decided trial: the diagnoses it supported and those it did not."""
        out = []
        for plan in self.plans:
            if plan.result is None:
                continue
            helped = plan.result["verdict"] == "helps"
            out.append({"transform": plan.transform, "label": plan.label,
                        "verdict": plan.result["verdict"],
                        "helped": list(plan.diagnoses) if helped else [],
                        "not_helped": [] if helped else list(plan.diagnoses)})
        return out

    def facts(self) -> dict[str, bool]:
        """`trial.<diagnosis>.helped` for every diagnosis with a decided trial: true when any
        of its trials helped."""
        out: dict[str, bool] = {}
        for plan in self.plans:
            if plan.result is None:
                continue
            for diag in plan.diagnoses:
                out[f"trial.{diag}.helped"] = out.get(f"trial.{diag}.helped", False) or \
                    plan.result["verdict"] == "helps"
        return out


def plan_trials(diagnoses: list[dict[str, Any]], kb: Any, top: int) -> list[TrialPlan]:
    """The distinct trials of the remedies of the first `top` diagnoses (errors and warnings,
    in the report's order) that have any."""
    plans: dict[str, TrialPlan] = {}  # by label: the same change proposed twice runs once
    chosen = 0
    for diag in diagnoses:
        if chosen >= top:
            break
        rule = kb.rules.get(diag.get("id"))
        if rule is None or diag.get("severity") == "info":
            continue
        trials = [r.trial for r in rule.remedies if getattr(r, "trial", None) is not None]
        if not trials:
            continue
        chosen += 1
        for trial in trials:
            plan = plans.setdefault(trial.label, TrialPlan(trial.transform,
                                                           dict(trial.arguments), trial.label))
            if rule.id not in plan.diagnoses:
                plan.diagnoses.append(rule.id)
    return list(plans.values())


def run_verification(ctx: Any, diagnoses: list[dict[str, Any]], kb: Any, options: Any,
                     progress: Progress | None = None,
                     activity: Callable[[str, int], None] | None = None,
                     into: Verification | None = None) -> Verification:
    """Plan, run and decide the trials; `into` is filled as it goes (partial on Ctrl-C)."""
    from advisor.trials.transforms import apply

    steps = options.trial_steps or min(100, options.steps)
    eval_batches = ctx.val_batches or ctx.train_eval_batches
    metric = "val" if ctx.val_batches else "train"
    v = into or Verification(options.seeds, steps, options.verify_top, f"{metric}_loss")
    v.seeds, v.steps, v.top, v.metric = options.seeds, steps, options.verify_top, f"{metric}_loss"
    v.rank_before = [d["id"] for d in diagnoses]
    v.certainty_before = {d["id"]: d["certainty"] for d in diagnoses}
    v.plans = plan_trials(diagnoses, kb, options.verify_top)
    if not v.plans:
        v.problem = "none of the top diagnoses has a remedy the probe can try"
        return v
    if not eval_batches:
        v.problem = "the probe cached no batches to judge the trials on"
        return v
    start = time.perf_counter()
    deadline = start + options.verify_budget
    env = TrialEnv(ctx, ctx.setup.train_data, list(ctx.train_eval_batches))
    for plan in v.plans:
        spec = ArmSpec()
        try:
            apply(spec, plan.transform, plan.args, env)
        except TrialNotApplicable as exc:
            plan.reason = str(exc)
            continue
        plan.spec = spec
    runnable = [p for p in v.plans if p.spec is not None]
    total = (2 + len(runnable)) * options.seeds
    runner = ArmRunner(ctx, steps, eval_batches, deadline, activity)
    seeds = [options.seed + SEED_STRIDE * (i + 1) for i in range(options.seeds)]
    base_outputs = _outputs_are(ctx)

    def counted(result: RunResult) -> None:
        v.runs += 1
        v.seconds = time.perf_counter() - start
        if progress is not None:
            last = result.losses[-1] if result.losses else None
            progress("remedy trials", v.runs, total,
                     last if last is None or math.isfinite(last) else None)

    try:
        v.control = runner.run_arm(ArmRun(ArmSpec(), base_outputs), seeds, counted)
        failed = next((r for r in v.control if r.error), None)
        if failed is not None:
            v.problem = f"the unchanged setup raised during a trial run: {failed.error}"
            return v
        v.reseed = runner.run_arm(ArmRun(ArmSpec(), base_outputs),
                                  [s + RESEED_OFFSET for s in seeds], counted)
        v.noise = _noise(v)
        for plan in runnable:
            assert plan.spec is not None
            arm = ArmRun(plan.spec, plan.spec.outputs_are or base_outputs)
            plan.runs = runner.run_arm(arm, seeds, counted)
            failed = next((r for r in plan.runs if r.error), None)
            if failed is not None:
                plan.reason = f"the changed setup raised: {failed.error}"
                continue
            plan.result = _decide(plan, v)
    except TrialsCapped:
        v.capped = True
        for plan in v.plans:
            if plan.result is None and plan.reason is None:
                plan.reason = (f"the verification budget ({options.verify_budget:g} s) ran out "
                               "before this trial; raise --verify-budget")
    except KeyboardInterrupt:
        v.interrupted = True
        for plan in v.plans:
            if plan.result is None and plan.reason is None:
                plan.reason = "interrupted before this trial finished"
        raise
    finally:
        v.seconds = time.perf_counter() - start
    return v


def _outputs_are(ctx: Any) -> str:
    return "probabilities" if ctx.structure.final_activation in ("sigmoid", "softmax") \
        else "logits"


def _values(runs: list[RunResult], metric: str, at: str = "end") -> list[float | None]:
    return [getattr(r, at).value(metric) for r in runs]


def _noise(v: Verification) -> dict[str, Any] | None:
    """Control against control reseeded: the verdict should be no_effect; the median absolute
    change is the noise level a remedy's effect must clear."""
    if len(v.reseed) != len(v.control) or not v.control:
        return None
    a, b = _values(v.control, "loss"), _values(v.reseed, "loss")
    d = decide(a, b)
    changes = [abs(x) for x in relative_changes(a, b)]
    return {"verdict": d.verdict, "p_value": round(d.p_value, 6), "effect": round(d.effect, 4),
            "median_abs_change": round(sorted(changes)[len(changes) // 2], 4)}


def _decide(plan: TrialPlan, v: Verification) -> dict[str, Any]:
    assert plan.spec is not None
    metric = "loss"
    if plan.spec.changes_loss_meaning and all(r.end.error is not None for r in v.control):
        metric = "error"
    base = v.metric.split("_")[0]
    control, treated = _values(v.control, metric), _values(plan.runs, metric)
    d = decide(control, treated)
    dh = decide(_values(v.control, metric, "half"), _values(plan.runs, metric, "half"))
    return {
        "transform": plan.transform, "args": plan.args, "label": plan.label,
        "diagnoses": list(plan.diagnoses), "verdict": d.verdict,
        "p_value": round(d.p_value, 6), "effect": round(d.effect, 4),
        "effect_interval": [round(d.interval[0], 4), round(d.interval[1], 4)],
        "seeds": d.seeds, "steps": v.steps, "metric": f"{base}_{metric}",
        "control": [_num(x) for x in control], "treated": [_num(x) for x in treated],
        "verdict_half": dh.verdict, "p_value_half": round(dh.p_value, 6),
        "effect_half": round(dh.effect, 4),
        "nonfinite": {"control": sum(r.nonfinite for r in v.control),
                      "treated": sum(r.nonfinite for r in plan.runs)},
        "curves": {"control": _curve(v.control), "treated": _curve(plan.runs)},
        "outcomes": {"control": _outcomes(v.control), "treated": _outcomes(plan.runs)},
        "significance_possible": smallest_p(d.seeds) <= 0.05,
        "reason": None,
    }


def _not_run_entry(plan: TrialPlan, v: Verification) -> dict[str, Any]:
    return {"transform": plan.transform, "args": plan.args, "label": plan.label,
            "diagnoses": list(plan.diagnoses), "verdict": "not_run", "p_value": None,
            "effect": None, "effect_interval": None, "seeds": 0, "steps": v.steps,
            "metric": None, "control": [], "treated": [], "outcomes": None,
            "verdict_half": None,
            "p_value_half": None, "effect_half": None, "nonfinite": None, "curves": None,
            "significance_possible": None,
            "reason": plan.reason or "not run"}


def _outcomes(runs: list[RunResult]) -> dict[str, list[float | None]]:
    """Both measures of every run at the end: the loss, and the error (classification error
    rate, regression normalised MSE), whichever the verdict used."""
    return {"loss": [_num(r.end.loss) for r in runs], "error": [_num(r.end.error) for r in runs]}


def _num(x: float | None) -> float | None:
    return round(x, 6) if x is not None and math.isfinite(x) else None


def _curve(runs: list[RunResult]) -> list[list[float]]:
    """[step, mean training loss over the seeds] at up to CURVE_POINTS steps (finite only)."""
    length = max((len(r.losses) for r in runs), default=0)
    if not length:
        return []
    stride = max(1, math.ceil(length / CURVE_POINTS))
    out = []
    for step in range(0, length, stride):
        vals = [r.losses[step] for r in runs
                if step < len(r.losses) and math.isfinite(r.losses[step])]
        if vals:
            out.append([step, round(sum(vals) / len(vals), 6)])
    return out


# ------------------------------------------------------------------ the probe's last phase
def verify_after_probe(state: Any, ctx: Any, options: Any, progress: Progress | None,
                       into: Verification, kb: Any, diagnoses: list[dict[str, Any]]) -> None:
    """The probe's "verify" phase: run the trials of the top `diagnoses` (what the probe
    measured, diagnosed with `kb`), and record each verdict as a `trial.<diagnosis>.helped`
    fact, so the final diagnosis (and `advisor diagnose REPORT.json`) weighs it."""
    try:
        run_verification(ctx, diagnoses, kb, options, progress, state.doing, into)
    finally:
        for name, value in into.facts().items():
            if name in kb.facts:
                state.obs.set(name, value)
        for note in verification_notes(into, options):
            state.obs.note(note)


def verification_notes(v: Verification, options: Any) -> list[str]:
    """What a reader must know to trust (or not) the verdicts of this run."""
    notes = []
    if v.problem:
        notes.append(f"No remedy was verified: {v.problem}.")
    if v.noise and v.noise["verdict"] != "no_effect":
        notes.append(f"Reseeding alone changed the outcome ({v.noise['verdict']}, p = "
                     f"{v.noise['p_value']:.3f}): at {v.steps} steps this setup is too noisy for "
                     "the trial verdicts to be trusted; raise --trial-steps or --seeds.")
    if v.capped:
        notes.append(f"The verification budget ({options.verify_budget:g} s) cut the trials "
                     "short: the trials it cut are reported as not run (raise --verify-budget).")
    if options.seeds < 5:
        notes.append(f"With {options.seeds} seeds the smallest attainable p is "
                     f"{smallest_p(options.seeds):.3f}: no trial can be significant at 0.05, "
                     "only effect sizes are reported (use --seeds 5 or more).")
    return notes


def attach_trials(diagnoses: list[dict[str, Any]], v: Verification,
                  options: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each remedy's `trial` entry filled from the trial that tested it, each diagnosis's
    certainty before the trials kept when they changed it; returns the report's "trials" list
    and "verification" summary."""
    by_label = {plan.label: plan for plan in v.plans}
    for diag in diagnoses:
        before = v.certainty_before.get(diag.get("id"))
        if before is not None and abs(before - diag.get("certainty", before)) > 1e-9:
            diag["certainty_before_trials"] = before
        for remedy in diag.get("remedies") or []:
            trial = remedy.get("trial")
            if not isinstance(trial, dict):
                continue
            plan = by_label.get(trial.get("label"))
            remedy["trial"] = _remedy_entry(trial, plan, v, options)
    return v.trials(), v.summary([d["id"] for d in diagnoses])


def _remedy_entry(trial: dict[str, Any], plan: TrialPlan | None, v: Verification,
                  options: Any) -> dict[str, Any]:
    if plan is not None and plan.result is not None:
        return remedy_trial_from(plan.result)
    if plan is not None:
        reason = plan.reason or v.problem or "not run"
    elif v.problem:
        reason = v.problem
    else:
        reason = f"not among the top {options.verify_top} diagnoses verified"
    return not_run(trial.get("transform", ""), trial.get("args") or {},
                   trial.get("label", ""), reason)
