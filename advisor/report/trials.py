"""Verified remedies as every rendering shows them: one line under a remedy that was tried, and
the "Verified remedies" section (each trial, the noise check, what separated competing causes,
the re-ranking, the cost).

The content is decided here, as plain sentences, so text, Markdown, HTML and the TUI say the
same thing; each renderer only lays the sentences out. The data is the report's (issue 11,
TRIALS_SPEC section 4): `remedy.trial`, the top-level `trials` list and `verification`. Numbers
follow one rule: an effect is a relative change in percent, sign shown ("-42 %"), a p value has
two significant digits ("p = 0.031").
"""

from __future__ import annotations

import math
from typing import Any

from advisor.engine.result import NOT_VERIFIED as NOT_VERIFIED
from advisor.engine.result import REMEDY_TRIAL_KEYS as REMEDY_TRIAL_KEYS
from advisor.engine.result import not_run_trial as not_run

VERDICTS = ("helps", "no_effect", "hurts", "not_run")
VERDICT_WORDS = {"helps": "helps", "no_effect": "no effect", "hurts": "hurts",
                 "not_run": "not run"}
METRIC_WORDS = {"val_loss": "validation loss", "train_loss": "training loss",
                "val_error": "validation error rate", "train_error": "training error rate"}


def _num(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def percent(effect: Any) -> str:
    """A relative change as a signed percentage: -0.42 -> "-42 %", 0.034 -> "+3.4 %"."""
    value = _num(effect)
    if value is None:
        return "?"
    pct = value * 100
    if round(pct, 1) == 0:
        return "0 %"
    return f"{pct:+.0f} %" if abs(pct) >= 9.95 else f"{pct:+.1f} %"


def p_value(p: Any) -> str:
    value = _num(p)
    return "p = ?" if value is None else f"p = {value:.2g}"


def verdict_word(verdict: Any) -> str:
    return VERDICT_WORDS.get(str(verdict), str(verdict))


def metric_word(metric: Any) -> str:
    return METRIC_WORDS.get(str(metric), "loss")


def from_kb_trial(trial: Any) -> dict[str, Any] | None:
    """The report's trial for a knowledge-base `Trial` (.transform, .arguments, .label), not
    run yet; None when the remedy declares none."""
    if trial is None:
        return None
    transform = str(getattr(trial, "transform", ""))
    args = getattr(trial, "arguments", None)
    args = dict(args) if isinstance(args, dict) else dict(getattr(trial, "args", ()) or ())
    label = getattr(trial, "label", None) or transform
    return not_run(transform, args, str(label))


def clean_trial(raw: Any) -> dict[str, Any] | None:
    """A remedy's trial as read from a document: a mapping with a transform, else None."""
    if not isinstance(raw, dict) or not raw.get("transform"):
        return None
    return dict(raw)


# ----------------------------------------------------------------------------- a remedy's line
def remedy_line(trial: dict[str, Any] | None, verification: dict[str, Any] | None = None,
                trials: list[dict[str, Any]] | None = None) -> str | None:
    """The line shown under a remedy: "verified: helps (validation loss -42 %, p = 0.031,
    5 seeds)", or "not run: <reason>".

    A remedy that was not tried shows nothing unless the report was verified: without --verify
    every remedy would say "not verified", which tells a person nothing."""
    if not trial:
        return None
    verdict = trial.get("verdict")
    if verdict not in VERDICTS or verdict == "not_run":
        if verification is None:
            return None
        return f"not run: {trial.get('reason') or 'not among the trials of this run'}"
    metric = next((t.get("metric") for t in trials or []
                   if t.get("label") == trial.get("label") and t.get("metric")), None)
    seeds = trial.get("seeds")
    said = f"{metric_word(metric)} {percent(trial.get('effect'))}, {p_value(trial.get('p_value'))}"
    if isinstance(seeds, int) and seeds:
        said += f", {seeds} seeds"
    return f"verified: {verdict_word(verdict)} ({said})"


def remedy_trial_from(entry: dict[str, Any]) -> dict[str, Any]:
    """A top-level trial entry reduced to the shape a remedy carries."""
    return {key: entry.get(key) for key in REMEDY_TRIAL_KEYS}


def find_trial(trials: list[dict[str, Any]], label: Any) -> dict[str, Any] | None:
    """The top-level trial with this label: the same change to the same setup, whichever
    diagnosis it was run for."""
    return next((t for t in trials if isinstance(t, dict) and t.get("label") == label), None)


# ----------------------------------------------------------------------------- the section
def trial_headline(t: dict[str, Any]) -> str:
    """`scale_lr(factor=0.1) for lr_too_high: helps`."""
    label = t.get("label") or t.get("transform") or "?"
    for_ = ", ".join(str(d) for d in t.get("diagnoses") or [])
    return f"{label}" + (f" for {for_}" if for_ else "") + f": {verdict_word(t.get('verdict'))}"


def interval_text(t: dict[str, Any]) -> str:
    """` (95 % interval -55 % to -30 %)`, or "" when the trial has none."""
    interval = t.get("effect_interval")
    if isinstance(interval, (list, tuple)) and len(interval) == 2 \
            and all(_num(v) is not None for v in interval):
        return f" (95 % interval {percent(interval[0])} to {percent(interval[1])})"
    return ""


def effect_text(t: dict[str, Any]) -> str:
    """`validation loss -42 % (95 % interval -55 % to -30 %), p = 0.031`."""
    return (f"{metric_word(t.get('metric'))} {percent(t.get('effect'))}{interval_text(t)}, "
            f"{p_value(t.get('p_value'))}")


def ran(t: dict[str, Any]) -> bool:
    """The trial ran to a verdict."""
    return t.get("verdict") in ("helps", "no_effect", "hurts")


def runs_text(t: dict[str, Any]) -> str:
    """`5 seeds x 100 steps`."""
    seeds, steps = t.get("seeds"), t.get("steps")
    out = f"{seeds} seeds" if isinstance(seeds, int) else "? seeds"
    return out + (f" x {steps} steps" if isinstance(steps, int) else "")


def trial_details(t: dict[str, Any]) -> list[str]:
    """What one trial measured, as sentences under its headline."""
    if not ran(t):  # the headline says "not run"; the reason says why
        return [str(t.get("reason") or "no reason given")]
    lines = [f"{effect_text(t)}; {runs_text(t)}"]
    half = t.get("verdict_half")
    if half in VERDICTS and half != t.get("verdict") and half != "not_run":
        said = f"at half the steps: {verdict_word(half)}"
        if _num(t.get("effect_half")) is not None:
            said += f" ({percent(t.get('effect_half'))}, {p_value(t.get('p_value_half'))})"
        lines.append(said)
    nonfinite = t.get("nonfinite") if isinstance(t.get("nonfinite"), dict) else {}
    if any(nonfinite.get(k) for k in ("control", "treated")):
        lines.append(f"non-finite outcomes (counted as worst): control "
                     f"{nonfinite.get('control', 0)}, treated {nonfinite.get('treated', 0)}")
    if t.get("reason"):
        lines.append(str(t["reason"]))
    return lines


def noise_line(verification: dict[str, Any]) -> str | None:
    """`reseeding alone: no effect, median change 3 % (p = 0.5)`."""
    noise = verification.get("noise")
    if not isinstance(noise, dict):
        return None
    out = f"Noise check, reseeding alone: {verdict_word(noise.get('verdict'))}"
    change = _num(noise.get("median_abs_change"))
    if change is not None:
        out += f", median change {percent(change).lstrip('+')}"
    if _num(noise.get("p_value")) is not None:
        out += f" ({p_value(noise.get('p_value'))})"
    return out


def separated_lines(verification: dict[str, Any]) -> list[str]:
    """What the trials said about each cause they tested, and, when they told competing causes
    apart (some supported, some not), one line that says so first:
    `The trials separated the causes: supported lr_too_high; not supported data_unnormalized`."""
    out = []
    supported: list[str] = []
    unsupported: list[str] = []
    for s in verification.get("separated") or []:
        if not isinstance(s, dict):
            continue
        said = []
        if s.get("helped"):
            said.append("supports " + ", ".join(str(x) for x in s["helped"]))
            supported += [str(x) for x in s["helped"]]
        if s.get("not_helped"):
            said.append("does not support " + ", ".join(str(x) for x in s["not_helped"]))
            unsupported += [str(x) for x in s["not_helped"]]
        out.append(f"Trial {s.get('label') or s.get('transform') or '?'}: "
                   + ("; ".join(said) or "no difference"))
    unsupported = [x for x in dict.fromkeys(unsupported) if x not in supported]
    if supported and unsupported:
        out.insert(0, "The trials separated the competing causes: supported "
                   + ", ".join(dict.fromkeys(supported)) + "; not supported "
                   + ", ".join(unsupported))
    return out


def ranking_line(verification: dict[str, Any]) -> str | None:
    """How the trials moved the diagnoses: `Re-ranked by the trials: loss_oscillating 3 -> 1,
    lr_too_high 1 -> 2; no longer reported: sgd_without_momentum`. Only what changed: the
    whole lists are long and differ in one or two places."""
    before = [str(x) for x in verification.get("rank_before") or []]
    after = [str(x) for x in verification.get("rank_after") or []]
    if not before and not after:
        return None
    if before == after:
        return f"Ranking unchanged by the trials (top: {', '.join(after[:3])})"
    kept_before = [x for x in before if x in after]
    kept_after = [x for x in after if x in before]
    said = []
    if kept_before != kept_after:
        moved = [x for i, x in enumerate(kept_after) if kept_before[i] != x]
        said.append(", ".join(f"{x} {before.index(x) + 1} -> {after.index(x) + 1}"
                              for x in moved))
    dropped = [x for x in before if x not in after]
    if dropped:
        said.append("no longer reported: " + ", ".join(dropped))
    added = [x for x in after if x not in before]
    if added:
        said.append("now reported: " + ", ".join(added))
    return "Re-ranked by the trials: " + "; ".join(said)


def cost_line(verification: dict[str, Any]) -> str:
    runs, seconds = verification.get("runs"), _num(verification.get("seconds"))
    out = f"Cost: {runs if isinstance(runs, int) else '?'} runs"
    if seconds is not None:
        out += f", {seconds:.1f} s"
    return out


def notes(verification: dict[str, Any]) -> list[str]:
    """"capped"/"interrupted": why some trials are missing."""
    out = []
    if verification.get("problem"):
        out.append(f"No remedy was verified: {verification['problem']}")
    if verification.get("capped"):
        out.append("Capped: the verification budget (--verify-budget) ran out; the trials "
                   "not run are marked so")
    if verification.get("interrupted"):
        out.append("Interrupted: a partial verification, with the trials done before the stop")
    return out


def setup_line(verification: dict[str, Any]) -> str:
    """`Trials: top 3 diagnoses, 5 seeds x 100 steps per arm, judged by the validation loss`."""
    parts = []
    if isinstance(verification.get("top"), int):
        parts.append(f"top {verification['top']} diagnoses")
    parts.append(runs_text(verification) + " per arm")
    if verification.get("metric"):
        parts.append(f"judged by the {metric_word(verification['metric'])} (the error where "
                     "a trial changes what the loss means)")
    return "Trials: " + ", ".join(parts)


def summary_lines(verification: dict[str, Any]) -> list[str]:
    """The sentences after the list of trials: noise, separations, ranking, cost, notes."""
    lines = [setup_line(verification)]
    for line in (noise_line(verification), *separated_lines(verification),
                 ranking_line(verification), cost_line(verification), *notes(verification)):
        if line:
            lines.append(line)
    return lines


def shows_section(trials: list[dict[str, Any]], verification: dict[str, Any] | None) -> bool:
    return verification is not None or bool(trials)


def curves(t: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """The mean loss curves of the control and treated arms, as (step, loss) points."""
    raw = t.get("curves") if isinstance(t.get("curves"), dict) else {}
    out = {}
    for arm in ("control", "treated"):
        points = []
        for p in raw.get(arm) or []:
            if isinstance(p, (list, tuple)) and len(p) == 2 and _num(p[0]) is not None:
                value = _num(p[1])
                if value is not None:
                    points.append((float(p[0]), value))
        if points:
            out[arm] = points
    return out
