"""benchmarks/verify_fix_rate.py, its pure parts: which remedy counts as the top verified and the
top unverified one in a report, the restored rule and its margins, and the summary's counts.
The reports are built in the shape of the JSON report (TRIALS_SPEC section 4)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import verify_fix_rate as fr  # noqa: E402

HEALTHY_CLS = fr.Reference({"loss": [0.30, 0.32, 0.31, 0.29, 0.33],
                            "error": [0.10, 0.12, 0.11, 0.09, 0.13]}, "multiclass")


def remedy(label: str | None, verdict: str = "not_run") -> dict[str, Any]:
    out: dict[str, Any] = {"action": f"do {label}", "detail": None, "sources": []}
    if label is not None:
        out["trial"] = {"transform": label.split("(")[0], "args": {}, "label": label,
                        "verdict": verdict, "p_value": None, "effect": None, "seeds": 5,
                        "control": [], "treated": [], "reason": None}
    return out


def diagnosis(diag_id: str, *remedies: dict[str, Any], severity: str = "error") -> dict:
    return {"id": diag_id, "severity": severity, "certainty": 0.8, "remedies": list(remedies)}


def trial(label: str, verdict: str, errors: list[float | None],
          losses: list[float | None] | None = None) -> dict[str, Any]:
    losses = losses if losses is not None else [0.5 if e is not None else None for e in errors]
    return {"transform": label.split("(")[0], "label": label, "diagnoses": [], "verdict": verdict,
            "p_value": 0.031, "effect": -0.4, "metric": "val_loss",
            "outcomes": {"control": {"loss": [1.0] * 5, "error": [0.5] * 5},
                         "treated": {"loss": losses, "error": errors}}}


def report(diagnoses: list[dict], trials: list[dict], rank_before: list[str],
           timings: dict[str, float] | None = None) -> dict[str, Any]:
    return {"setup": {"task": "multiclass"}, "diagnoses": diagnoses, "trials": trials,
            "verification": {"rank_before": rank_before, "runs": 5 * (len(trials) + 2),
                             "rank_after": [d["id"] for d in diagnoses], "problem": None},
            "timings": timings or {}} if trials else \
        {"setup": {"task": "multiclass"}, "diagnoses": diagnoses, "trials": [],
         "verification": {"rank_before": rank_before, "runs": 0, "problem": None},
         "timings": timings or {}}


def lr_vs_inputs() -> dict[str, Any]:
    """lr_too_high was first before the trials; its remedy did nothing, the inputs' remedy
    helped and the re-ranking put unnormalised_inputs first."""
    diags = [diagnosis("unnormalised_inputs", remedy("standardize_inputs()", "helps")),
             diagnosis("lr_too_high", remedy(None), remedy("scale_lr(factor=0.1)", "no_effect"),
                       remedy("clip_grad_norm(max_norm=1.0)", "helps"))]
    trials = [trial("scale_lr(factor=0.1)", "no_effect", [0.40, 0.42, 0.41, 0.39, 0.43]),
              trial("clip_grad_norm(max_norm=1.0)", "helps", [0.30, 0.31, 0.29, 0.32, 0.30]),
              trial("standardize_inputs()", "helps", [0.12, 0.13, 0.11, 0.14, 0.12])]
    return report(diags, trials, ["lr_too_high", "unnormalised_inputs"],
                  {"training": 3.0, "overfit": 1.0, "verify": 8.0, "total": 12.0})


# ------------------------------------------------------------------ picking
def test_the_top_verified_remedy_is_the_first_that_helped_in_the_final_order():
    pick = fr.top_verified(lr_vs_inputs())
    assert pick is not None
    assert (pick.diagnosis, pick.label, pick.verdict) == (
        "unnormalised_inputs", "standardize_inputs()", "helps")
    assert pick.measured and pick.treated()["error"][0] == 0.12


def test_a_helping_remedy_of_an_info_finding_is_not_the_recommendation():
    rep = lr_vs_inputs()
    rep["diagnoses"].insert(0, diagnosis("note", remedy("standardize_inputs()", "helps"),
                                         severity="info"))
    assert fr.top_verified(rep).diagnosis == "unnormalised_inputs"


def test_no_verified_remedy_when_nothing_helped():
    rep = report([diagnosis("lr_too_high", remedy("scale_lr(factor=0.1)", "no_effect"))],
                 [trial("scale_lr(factor=0.1)", "no_effect", [0.4] * 5)], ["lr_too_high"])
    assert fr.top_verified(rep) is None


def test_the_top_unverified_remedy_is_the_first_trial_of_the_first_diagnosis_before_trials():
    pick = fr.top_unverified(lr_vs_inputs())
    # the first remedy of lr_too_high has no trial: its first remedy *with* a trial counts,
    # even though a later remedy of the same diagnosis helped
    assert (pick.diagnosis, pick.label, pick.verdict) == (
        "lr_too_high", "scale_lr(factor=0.1)", "no_effect")
    assert pick.measured


def test_the_unverified_walk_skips_diagnoses_without_trials_and_info_findings():
    rep = lr_vs_inputs()
    rep["diagnoses"] += [diagnosis("no_trials", remedy(None)),
                         diagnosis("a_note", remedy("shuffle_data()"), severity="info")]
    rep["verification"]["rank_before"] = ["a_note", "no_trials", "unnormalised_inputs",
                                          "lr_too_high"]
    assert fr.top_unverified(rep).diagnosis == "unnormalised_inputs"


def test_a_diagnosis_the_final_report_dropped_is_looked_up_in_the_knowledge_base():
    rep = lr_vs_inputs()
    rep["verification"]["rank_before"] = ["gone", "lr_too_high"]
    known = {"gone": ("warning", "clip_grad_norm(max_norm=1.0)")}
    assert fr.top_unverified(rep).diagnosis == "lr_too_high"           # unknown: skipped
    pick = fr.top_unverified(rep, known)
    assert (pick.diagnosis, pick.label, pick.verdict) == (
        "gone", "clip_grad_norm(max_norm=1.0)", "helps")


def test_an_unverified_remedy_whose_trial_did_not_run_is_unmeasured():
    rep = lr_vs_inputs()
    rep["trials"][0] = {"label": "scale_lr(factor=0.1)", "verdict": "not_run",
                        "outcomes": None, "reason": "capped"}
    pick = fr.top_unverified(rep)
    assert pick.verdict == "not_run" and not pick.measured
    assert fr.side(pick, HEALTHY_CLS, "multiclass").status == "unmeasured"
    case = fr.score_report(fr.Case("p__op", "p", "op"), rep, HEALTHY_CLS)
    assert case.problem == "scale_lr(factor=0.1) did not run: capped"


def test_a_probe_that_stopped_before_the_verify_phase_says_so():
    rep = report([diagnosis("runtime_shape_mismatch", remedy("fix_target_shape()"))], [], [],
                 {"training": 0.2, "total": 0.2})
    rep["facts"] = {"runtime.error": "shape"}
    case = fr.score_report(fr.Case("p__op", "p", "op"), rep, HEALTHY_CLS)
    assert case.problem == "the probe stopped before the verify phase (runtime.error: shape)"
    # without trials run, the unverified recommendation is still named, and unmeasured
    assert (case.unverified.label, case.unverified.status) == ("fix_target_shape()",
                                                               "unmeasured")
    assert case.verified.status == "none" and case.cost_ratio is None


def test_no_unverified_remedy_without_any_trial():
    rep = report([diagnosis("lr_too_high", remedy(None))], [], ["lr_too_high"])
    assert fr.top_unverified(rep) is None
    assert fr.side(None, HEALTHY_CLS, "multiclass").status == "none"


# ------------------------------------------------------------------ the restored rule
def test_median_counts_missing_and_non_finite_as_worst():
    assert fr.median([3.0, 1.0, 2.0]) == 2.0
    assert fr.median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert fr.median([1.0, None, math.nan, math.inf, 2.0]) == math.inf
    assert fr.median([1.0, None, 2.0]) == 2.0
    assert fr.median([]) == math.inf


def test_classification_errors_are_restored_within_five_points():
    # healthy median error 0.11: the limit is 0.16
    within = fr.judge(HEALTHY_CLS, {"loss": [9.0] * 5, "error": [0.16] * 5}, "multiclass")
    assert within.metric == "error" and within.restored
    assert within.threshold == pytest.approx(0.16)
    above = fr.judge(HEALTHY_CLS, {"loss": [0.1] * 5, "error": [0.17] * 5}, "multiclass")
    assert not above.restored   # a lower loss does not matter when the error is measured


def test_regression_errors_and_losses_use_the_ratio_margin():
    healthy = fr.Reference({"loss": [0.2] * 5, "error": [0.4] * 5}, "regression")
    j = fr.judge(healthy, {"loss": [0.2] * 5, "error": [0.5] * 5}, "regression")
    assert j.metric == "error" and j.threshold == pytest.approx(0.5) and j.restored
    assert not fr.judge(healthy, {"loss": [0.2] * 5, "error": [0.51] * 5},
                        "regression").restored
    # a tiny healthy loss: the absolute step (+0.02) is the margin, not the ratio
    tiny = fr.Reference({"loss": [0.01] * 5, "error": [None] * 5}, None)
    j = fr.judge(tiny, {"loss": [0.029] * 5, "error": [None] * 5}, None)
    assert j.metric == "loss" and j.threshold == pytest.approx(0.03) and j.restored


def test_the_loss_is_used_when_one_side_has_no_error():
    treated = {"loss": [0.31] * 5, "error": [None] * 5}
    j = fr.judge(HEALTHY_CLS, treated, "multiclass")
    assert j.metric == "loss"
    assert j.threshold == pytest.approx(max(1.25 * 0.31, 0.31 + 0.02)) and j.restored


def test_a_treated_run_that_went_non_finite_keeps_the_error_and_counts_as_worst():
    treated = {"loss": [None, None, None, 0.3, 0.3], "error": [None, None, None, 0.1, 0.1]}
    j = fr.judge(HEALTHY_CLS, treated, "multiclass")
    assert j.metric == "error" and j.treated == math.inf and not j.restored


def test_errors_of_different_task_kinds_are_not_compared():
    # a mutant the probe reads as a regression: its error is a normalised MSE, not a rate
    treated = {"loss": [0.5] * 5, "error": [0.05] * 5}
    j = fr.judge(HEALTHY_CLS, treated, "regression")
    assert j.metric == "loss" and not j.restored     # 0.5 > max(1.25 * 0.31, 0.33)
    assert fr.judge(HEALTHY_CLS, treated, "multiclass").restored


# ------------------------------------------------------------------ a case and the summary
def test_a_scored_case_counts_helps_that_did_not_restore_and_its_cost_ratio():
    case = fr.score_report(fr.Case("p__op", "p", "op"), lr_vs_inputs(),
                           HEALTHY_CLS)
    assert case.any_trial
    assert case.verified.status == "restored"          # standardize_inputs: 0.12 <= 0.16
    assert case.unverified.status == "not restored"    # scale_lr: 0.41 > 0.16
    assert (case.helps, case.helps_not_restoring) == (2, 1)   # clip_grad_norm: 0.30
    assert case.cost_ratio == pytest.approx(8.0 / 4.0)
    assert case.top == ["unnormalised_inputs", "lr_too_high"]


def test_the_summary_rates_over_all_cases_and_over_those_where_both_were_measured():
    restored = fr.score_report(fr.Case("a__x", "a", "x"), lr_vs_inputs(),
                               HEALTHY_CLS)
    unmeasured_rep = lr_vs_inputs()
    unmeasured_rep["trials"][0] = {"label": "scale_lr(factor=0.1)", "verdict": "not_run",
                                   "outcomes": None}
    unmeasured = fr.score_report(fr.Case("a__y", "a", "y"), unmeasured_rep,
                                 HEALTHY_CLS)
    nothing = fr.score_report(fr.Case("a__z", "a", "z"),
                              report([diagnosis("d", remedy(None))], [], ["d"]), HEALTHY_CLS)
    s = fr.summarise([restored, unmeasured, nothing])
    assert s["cases"] == 3 and s["with_trial"] == 2
    assert s["verified"] == (2, 3) and s["unverified"] == (0, 3)
    assert s["verified_both"] == (1, 1) and s["unverified_both"] == (0, 1)
    assert s["no_verified_remedy"] == 1 and s["unverified_unmeasured"] == 1
    assert s["helps"] == 4 and s["helps_not_restoring"] == 2
    assert s["cost_ratio_mean"] == pytest.approx(2.0) and s["cost_ratio_cases"] == 2
    text = fr.table([restored, unmeasured, nothing], {"seeds": 5}, {"a": HEALTHY_CLS})
    assert "fix rate, top verified remedy:   2/3 = 67 %" in text
    assert "fix rate, top unverified remedy: 0/3 = 0 %" in text
    assert "+ 0.05" in text
    assert "a (multiclass) loss 0.31, error 0.11" in text
    assert "2.00x (verify phase / the probe's other phases, mean of 2 cases" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("a__")}
    assert "standardize_inputs() [helps]: restored (error 0.12 <= 0.16)" in rows["a__x"]
    assert "scale_lr(factor=0.1) [no_effect]: not restored (error 0.41 > 0.16)" in rows["a__x"]
    assert rows["a__z"].split()[1:] == ["-", "-", "-", "-"]
    assert rows["a__x"].split()[1] == "broken"


def test_the_cost_ratio_is_also_given_over_the_cases_where_trials_ran():
    tried = fr.score_report(fr.Case("a__x", "a", "x"), lr_vs_inputs(), HEALTHY_CLS)
    nothing_to_try = fr.score_report(
        fr.Case("a__y", "a", "y"),
        report([diagnosis("d", remedy(None))], [], ["d"],
               {"training": 3.0, "verify": 0.03, "total": 3.03}), HEALTHY_CLS)
    assert nothing_to_try.cost_ratio == pytest.approx(0.01) and nothing_to_try.trial_runs == 0
    s = fr.summarise([tried, nothing_to_try])
    assert s["cost_ratio_mean"] == pytest.approx(1.005) and s["cost_ratio_cases"] == 2
    assert s["cost_ratio_mean_trials_ran"] == pytest.approx(2.0)
    assert s["cost_ratio_cases_trials_ran"] == 1
    assert "2.00x over the 1 where trials ran" in fr.table([tried, nothing_to_try], {})


def test_a_mutant_whose_own_control_is_within_the_margin_is_told_apart():
    """At the trials' steps a fault may not show yet: then any remedy "restores" the program,
    and the broken cases alone can tell remedies apart."""
    broken = fr.score_report(fr.Case("a__x", "a", "x"), lr_vs_inputs(), HEALTHY_CLS)
    not_yet = lr_vs_inputs()
    for entry in not_yet["trials"]:
        entry["outcomes"]["control"] = {"loss": [0.3] * 5, "error": [0.14] * 5}
    within = fr.score_report(fr.Case("a__y", "a", "y"), not_yet, HEALTHY_CLS)
    untried = fr.score_report(fr.Case("a__z", "a", "z"),
                              report([diagnosis("d", remedy(None))], [], ["d"]), HEALTHY_CLS)
    assert (broken.control, within.control, untried.control) == ("broken", "within", None)
    s = fr.summarise([broken, within, untried])
    assert s["control_within"] == 1
    assert s["verified_broken"] == (1, 1) and s["unverified_broken"] == (0, 1)
    assert "already within the margin: 1 cases; over the 1 outside it: verified 1/1 = 100 %, " \
        "unverified 0/1 = 0 %" in fr.table([broken, within, untried], {})
