"""Verified remedies (issue 11) in every rendering: the line under each tried remedy, the
"Verified remedies" section with its numbers, the plots of the arms, the JSON round trip, the
reader's checks; and an unverified report that shows none of it."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from advisor.report import panes
from advisor.report import trials as trial_view
from advisor.report.diagnosis import Diagnosis, Remedy
from advisor.report.probe import ProbeReport
from advisor.report.reader import ReportError, read_report

DATA = Path(__file__).parent / "data"
V1 = DATA / "report_v1.json"

SCALE_LR = {"transform": "scale_lr", "args": {"factor": 0.1}, "label": "scale_lr(factor=0.1)"}
MOMENTUM = {"transform": "set_momentum", "args": {"value": 0.9},
            "label": "set_momentum(value=0.9)"}
CLIP = {"transform": "clip_grad_norm", "args": {"max_norm": 1.0},
        "label": "clip_grad_norm(max_norm=1.0)"}
SHUFFLE = {"transform": "shuffle_data", "args": {}, "label": "shuffle_data()"}
REINIT = {"transform": "reinitialize", "args": {"scheme": "he"},
          "label": "reinitialize(scheme=he)"}
NO_SHUFFLE = "the training data is not a DataLoader over a dataset with len()"
CAPPED = "the verification budget ran out before this trial"


def _curve(start: float, end: float) -> list[list[float]]:
    return [[step, start + (end - start) * step / 100] for step in range(0, 101, 10)]


def _trial(base: dict, verdict: str, *, effect: float | None = None, p: float | None = None,
           reason: str | None = None, diagnoses: tuple[str, ...] = (), **extra) -> dict:
    """A top-level trial in the report's shape (TRIALS_SPEC section 4)."""
    ran = verdict != "not_run"
    control = [0.71, 0.69, 0.75, 0.70, 0.72] if ran else []
    treated = [round(c * (1 + effect), 4) for c in control] if ran else []
    return {**base, "diagnoses": list(diagnoses), "verdict": verdict, "p_value": p,
            "effect": effect, "effect_interval": extra.pop("interval", None),
            "seeds": 5 if ran else 0, "steps": 100 if ran else 0,
            "metric": "val_loss", "control": control, "treated": treated,
            "verdict_half": extra.pop("verdict_half", verdict if ran else None),
            "p_value_half": extra.pop("p_value_half", p), "effect_half":
                extra.pop("effect_half", effect),
            "nonfinite": extra.pop("nonfinite", {"control": 0, "treated": 0}),
            "curves": extra.pop("curves", {"control": _curve(2.3, 0.7),
                                           "treated": _curve(2.3, 0.7 * (1 + effect))}
                                if ran else {}),
            "reason": reason, **extra}


TRIALS = [
    _trial(SCALE_LR, "helps", effect=-0.42, p=0.03125, interval=[-0.55, -0.30],
           diagnoses=("lr_too_high", "loss_oscillating"), verdict_half="no_effect",
           p_value_half=0.0625, effect_half=-0.2),
    _trial(MOMENTUM, "no_effect", effect=-0.03, p=0.5, interval=[-0.08, 0.02],
           diagnoses=("sgd_without_momentum",)),
    _trial(CLIP, "hurts", effect=0.30, p=0.03125, interval=[0.12, 0.41],
           diagnoses=("exploding_gradients",), nonfinite={"control": 0, "treated": 1}),
    _trial(SHUFFLE, "not_run", reason=NO_SHUFFLE, diagnoses=("loss_oscillating",)),
    _trial(REINIT, "not_run", reason=CAPPED, diagnoses=("dead_relu",)),
]
VERIFICATION = {
    "seeds": 5, "steps": 100, "top": 3, "metric": "val_loss",
    "noise": {"verdict": "no_effect", "p_value": 0.5, "effect": 0.01,
              "median_abs_change": 0.03},
    "runs": 17, "seconds": 42.5, "capped": True, "interrupted": False,
    "separated": [{"transform": "clip_grad_norm", "label": "clip_grad_norm(max_norm=1.0)",
                   "helped": [], "not_helped": ["exploding_gradients"]}],
    "rank_before": ["lr_too_high", "dead_relu", "nonfinite_values"],
    "rank_after": ["lr_too_high", "nonfinite_values", "dead_relu"],
}
# (diagnosis, remedy index) -> the top-level trial it carries
ON_REMEDIES = {("lr_too_high", 0): 0, ("loss_oscillating", 0): 0, ("loss_oscillating", 1): 3,
               ("sgd_without_momentum", 0): 1, ("exploding_gradients", 0): 2,
               ("dead_relu", 2): 4}


def _remedy_trial(entry: dict) -> dict:
    return {k: entry[k] for k in trial_view.REMEDY_TRIAL_KEYS}


def _unverified_trial(base: dict) -> dict:
    return trial_view.not_run(base["transform"], base["args"], base["label"])


def verified_report() -> dict:
    """The stored v1 report, as `advisor probe --verify` would have written it."""
    data = json.loads(V1.read_text(encoding="utf-8"))
    for d in data["diagnoses"]:
        for j, r in enumerate(d["remedies"]):
            if (d["id"], j) in ON_REMEDIES:
                r["trial"] = _remedy_trial(TRIALS[ON_REMEDIES[d["id"], j]])
    # a diagnosis outside the top ones keeps its trial unverified
    data["diagnoses"][3]["remedies"][0]["trial"] = _unverified_trial(SCALE_LR)
    data["diagnoses"][0]["certainty_before_trials"] = 0.7  # the trial raised it
    data["trials"] = copy.deepcopy(TRIALS)
    data["verification"] = copy.deepcopy(VERIFICATION)
    return data


def unverified_report() -> dict:
    """The same report from a plain probe: remedies carry their trials, none was run."""
    data = json.loads(V1.read_text(encoding="utf-8"))
    for d in data["diagnoses"]:
        for j, r in enumerate(d["remedies"]):
            if (d["id"], j) in ON_REMEDIES:
                base = TRIALS[ON_REMEDIES[d["id"], j]]
                r["trial"] = _unverified_trial({k: base[k] for k in ("transform", "args",
                                                                     "label")})
    data["trials"], data["verification"] = [], None
    return data


def _block(text: str, start: str, end: str) -> str:
    """The text between the first `start` and the next `end` after it."""
    i = text.index(start)
    return text[i:text.index(end, i + len(start))]


# ----------------------------------------------------------------------------- the numbers
@pytest.mark.parametrize(("effect", "shown"), [
    (-0.42, "-42 %"), (0.30, "+30 %"), (-0.034, "-3.4 %"), (0.0004, "0 %"), (None, "?"),
    (float("nan"), "?")])
def test_effects_read_as_signed_percentages(effect, shown):
    assert trial_view.percent(effect) == shown


def test_the_remedy_line_for_each_verdict():
    def line(i: int) -> str | None:
        return trial_view.remedy_line(_remedy_trial(TRIALS[i]), VERIFICATION, TRIALS)

    assert line(0) == "verified: helps (validation loss -42 %, p = 0.031, 5 seeds)"
    assert line(1) == "verified: no effect (validation loss -3.0 %, p = 0.5, 5 seeds)"
    assert line(2) == "verified: hurts (validation loss +30 %, p = 0.031, 5 seeds)"
    assert line(3) == f"not run: {NO_SHUFFLE}"
    # without a verification an untried trial says nothing; a verdict still shows
    assert trial_view.remedy_line(_remedy_trial(TRIALS[3]), None, []) is None
    assert trial_view.remedy_line(_unverified_trial(SCALE_LR), None, []) is None
    assert trial_view.remedy_line(_remedy_trial(TRIALS[0]), None, []) == \
        "verified: helps (loss -42 %, p = 0.031, 5 seeds)"
    # judged by the error rate (another loss): the line says so
    error = [{**TRIALS[0], "metric": "train_error"}]
    assert "training error rate -42 %" in trial_view.remedy_line(
        _remedy_trial(TRIALS[0]), VERIFICATION, error)


# ----------------------------------------------------------------------------- text
def test_text_shows_each_verdict_under_its_remedy_and_the_section():
    text = ProbeReport.from_dict(verified_report()).text()
    lr = _block(text, "[lr_too_high]", "[dead_relu]")
    assert "certainty 0.92 (was 0.70 before the trials)" in " ".join(lr.split())
    assert "before the trials" not in text[text.index("[dead_relu]"):]
    first = lr.index("1. Lower the learning rate")
    verdict = lr.index("verified: helps (validation loss -42 %, p = 0.031, 5 seeds)")
    assert first < verdict < lr.index("2. For Adam")
    oscillating = _block(text, "[loss_oscillating]", "[overfitting]")
    assert "verified: helps (validation loss -42 %" in oscillating
    assert f"not run: {NO_SHUFFLE}" in " ".join(oscillating.split())
    assert "verified: no effect (validation loss -3.0 %, p = 0.5, 5 seeds)" in _block(
        text, "[sgd_without_momentum]", "[exploding_gradients]")
    assert "verified: hurts (validation loss +30 %, p = 0.031, 5 seeds)" in _block(
        text, "[exploding_gradients]", "[loss_not_decreasing]")
    assert "not run: not verified (run with --verify)" in _block(
        text, "[hyperparameter_out_of_range]", "[too_many_parameters]")

    section = " ".join(text[text.index("\nVerified remedies\n"):].split())
    for expected in (
            "scale_lr(factor=0.1) for lr_too_high, loss_oscillating: helps",
            "validation loss -42 % (95 % interval -55 % to -30 %), p = 0.031; "
            "5 seeds x 100 steps",
            "at half the steps: no effect (-20 %, p = 0.062)",
            "set_momentum(value=0.9) for sgd_without_momentum: no effect",
            "clip_grad_norm(max_norm=1.0) for exploding_gradients: hurts",
            "validation loss +30 % (95 % interval +12 % to +41 %), p = 0.031",
            "non-finite outcomes (counted as worst): control 0, treated 1",
            f"shuffle_data() for loss_oscillating: not run {NO_SHUFFLE}",
            f"reinitialize(scheme=he) for dead_relu: not run {CAPPED}",
            "Trials: top 3 diagnoses, 5 seeds x 100 steps per arm, judged by the validation "
            "loss",
            "Noise check, reseeding alone: no effect, median change 3.0 % (p = 0.5)",
            "Trial clip_grad_norm(max_norm=1.0): does not support exploding_gradients",
            "Re-ranked by the trials: nonfinite_values 3 -> 2, dead_relu 2 -> 3",
            "Cost: 17 runs, 42.5 s", "Capped: the verification budget (--verify-budget)"):
        assert expected in section, expected
    # a half-budget verdict that agrees is not repeated; not interrupted: no such note
    assert section.count("at half the steps") == 1 and "Interrupted" not in section
    assert max(len(line) for line in text.splitlines()) <= 96


def test_an_interrupted_unchanged_verification_says_so():
    data = verified_report()
    data["verification"].update(interrupted=True, capped=False,
                                rank_after=data["verification"]["rank_before"],
                                problem="the knowledge base has problems")
    text = " ".join(ProbeReport.from_dict(data).text().split())
    assert "Interrupted: a partial verification" in text and "Capped" not in text
    assert "No remedy was verified: the knowledge base has problems" in text
    assert "Ranking unchanged by the trials (top: lr_too_high, dead_relu, nonfinite_values)" \
        in text


def test_an_unverified_report_renders_as_before():
    """A plain probe's remedies carry untried trials: no rendering mentions them."""
    plain = ProbeReport.from_dict(json.loads(V1.read_text(encoding="utf-8")))
    report = ProbeReport.from_dict(unverified_report())
    assert report.text() == plain.text()
    assert report.markdown() == plain.markdown()
    assert report.html() == plain.html()
    for rendering in (report.text(), report.markdown(), report.html()):
        assert "verified" not in rendering.lower() and "not run" not in rendering
    # the JSON keeps them
    assert report.to_dict()["diagnoses"][0]["remedies"][0]["trial"]["verdict"] == "not_run"


# ----------------------------------------------------------------------------- Markdown
def test_markdown_has_the_verdicts_and_a_table_of_the_trials():
    md = ProbeReport.from_dict(verified_report()).markdown()
    assert "### Learning rate too high (`lr_too_high`, error, certainty 0.92 (was 0.70 before " \
           "the trials))" in md
    lr = _block(md, "### Learning rate too high", "### ")
    assert re.search(r"^1\. Lower the learning rate.*\n   - \*verified: helps \(validation "
                     r"loss -42 %, p = 0\.031, 5 seeds\)\*$", lr, re.M), lr
    section = md[md.index("### Verified remedies"):md.index("## Measurements")]
    assert ("| `scale_lr(factor=0.1)` | `lr_too_high`, `loss_oscillating` | helps | -42 % "
            "(95 % interval -55 % to -30 %) | 0.031 | val_loss | 5 seeds x 100 steps |"
            ) in section
    assert "| `set_momentum(value=0.9)` | `sgd_without_momentum` | no effect | -3.0 %" in section
    assert "| `clip_grad_norm(max_norm=1.0)` | `exploding_gradients` | hurts | +30 %" in section
    assert "| `shuffle_data()` | `loss_oscillating` | not run |  |  |  |  |" in section
    assert "- `scale_lr(factor=0.1)`: at half the steps: no effect (-20 %, p = 0.062)" in section
    assert f"- `shuffle_data()`: not run: {NO_SHUFFLE}" in section
    assert f"- `reinitialize(scheme=he)`: not run: {CAPPED}" in section
    assert "- Noise check, reseeding alone: no effect, median change 3.0 % (p = 0.5)" in section
    assert "- Cost: 17 runs, 42.5 s" in section and "- Capped:" in section
    assert "- Re-ranked by the trials: nonfinite_values 3 -> 2, dead_relu 2 -> 3" in section


# ----------------------------------------------------------------------------- HTML
def test_html_has_the_verdicts_the_table_and_a_plot_per_trial_run():
    html = ProbeReport.from_dict(verified_report()).html()
    assert "<code>lr_too_high</code> certainty 0.92 (was 0.70 before the trials)" in html
    assert '<span class="trial helps">verified: helps (validation loss -42 %, p = 0.031, ' \
           '5 seeds)</span>' in html
    assert '<span class="trial hurts">verified: hurts (validation loss +30 %' in html
    section = html[html.index("<h2>Verified remedies</h2>"):html.index("<h2>Plots</h2>")]
    assert "<td>-42 % (95 % interval -55 % to -30 %)</td><td>0.031</td><td>val_loss</td>" \
           "<td>5 seeds x 100 steps</td><td>at half the steps: no effect (-20 %, p = 0.062)" \
           "</td>" in section
    assert f"<td>{NO_SHUFFLE}</td>" in section
    assert "<li>Noise check, reseeding alone: no effect, median change 3.0 % (p = 0.5)</li>" \
        in section
    assert "<li>Cost: 17 runs, 42.5 s</li>" in section
    # one plot per trial that ran (three), each with the control and the treated curve
    plots = re.findall(r"<svg.*?</svg>", section, re.S)
    assert len(plots) == 3
    assert 'aria-label="scale_lr(factor=0.1): helps"' in plots[0]
    assert plots[0].count("<polyline") == 2
    assert "control (unchanged)" in plots[0] and "treated: scale_lr(factor=0.1)" in plots[0]
    # treated ends lower than control: its last point is drawn nearer the bottom (larger y)
    ends = [float(pts.split()[-1].split(",")[1])
            for pts in re.findall(r'<polyline[^>]*points="([^"]+)"', plots[0])]
    assert ends[1] > ends[0]


def test_html_escapes_what_the_trials_say():
    data = verified_report()
    data["trials"][3]["reason"] = "<script>x</script> & co"
    html = ProbeReport.from_dict(data).html()
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt; &amp; co" in html


# ----------------------------------------------------------------------------- JSON, reading
def test_json_round_trip_keeps_every_trial():
    data = verified_report()
    report = ProbeReport.from_dict(data)
    assert report.to_dict() == data
    again = ProbeReport.from_dict(json.loads(report.to_json()))
    assert again.to_dict() == report.to_dict()
    diagnosis = Diagnosis.from_dict(data)
    assert Diagnosis.from_dict(diagnosis.to_dict()).to_dict() == diagnosis.to_dict()
    assert diagnosis.to_dict()["trials"] == data["trials"]
    assert diagnosis.to_dict()["diagnoses"][0]["certainty_before_trials"] == 0.7
    assert "certainty_before_trials" not in diagnosis.to_dict()["diagnoses"][1]
    assert diagnosis.get("lr_too_high").remedies[0].trial == data["diagnoses"][0]["remedies"][
        0]["trial"]
    # an unverified diagnosis writes neither section (`advisor diagnose --format json`)
    assert "trials" not in Diagnosis.from_dict(unverified_report()).to_dict()


def test_the_reader_reads_a_verified_report_and_pins_a_bad_trial(tmp_path):
    from advisor.kb import load_kb

    kb = load_kb(use_env=False, check_examples=False)
    good = tmp_path / "verified.json"
    good.write_text(json.dumps(verified_report(), indent=2), encoding="utf-8")
    stored = read_report(good, kb, strict=True)
    assert stored.diagnosis().trials == TRIALS
    assert stored.diagnosis().verification == VERIFICATION

    data = verified_report()
    data["trials"][1]["verdict"] = "maybe"
    data["diagnoses"][0]["remedies"][0]["trial"] = ["scale_lr"]
    bad = tmp_path / "bad.json"
    text = json.dumps(data, indent=2)
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ReportError) as err:
        read_report(bad, kb, strict=True)
    lines = text.splitlines()
    verdict_line = next(i for i, line in enumerate(lines, 1) if '"maybe"' in line)
    assert f"{bad}:{verdict_line}:" in str(err.value)
    assert "verdict 'maybe' is not one of helps, no_effect, hurts, not_run" in str(err.value)
    assert "a trial must be a mapping, got list" in str(err.value)
    lenient = read_report(bad, kb, strict=False)  # the TUI: read, and the problems listed
    assert len(lenient.problems) == 2 and lenient.facts


# ----------------------------------------------------------------------------- the engine's side
@dataclass(frozen=True)
class KbTrial:
    """The knowledge base's Trial as TRIALS_SPEC section 1 fixes it (.transform, .arguments,
    .label)."""

    transform: str
    args: tuple
    label: str

    @property
    def arguments(self) -> dict:
        return dict(self.args)


@dataclass(frozen=True)
class KbRemedy:
    action: str
    detail: str = ""
    sources: tuple = ()
    trial: KbTrial | None = None


def test_a_remedy_from_the_engine_carries_its_trial_not_run():
    remedy = Remedy.from_engine(KbRemedy("Lower it", trial=KbTrial(
        "scale_lr", (("factor", 0.1),), "scale_lr(factor=0.1)")))
    assert remedy.trial == {"transform": "scale_lr", "args": {"factor": 0.1},
                            "label": "scale_lr(factor=0.1)", "verdict": "not_run",
                            "p_value": None, "effect": None, "seeds": 0, "control": [],
                            "treated": [], "reason": "not verified (run with --verify)"}
    assert Remedy.from_engine(KbRemedy("No trial")).trial is None
    assert "trial" not in Remedy.from_engine(KbRemedy("No trial")).to_dict()


def test_a_verification_attaches_to_a_diagnosis_by_trial_label():
    """What the TUI does: its own engine's diagnosis, with the probe's trials attached."""
    plain = Diagnosis.from_dict(unverified_report())
    verified = plain.with_trials(TRIALS, VERIFICATION)
    assert verified.get("lr_too_high").remedies[0].trial["verdict"] == "helps"
    assert verified.get("exploding_gradients").remedies[0].trial["effect"] == 0.30
    assert verified.get("loss_oscillating").remedies[1].trial["reason"] == NO_SHUFFLE
    assert plain.get("lr_too_high").remedies[0].trial["verdict"] == "not_run"  # a copy
    # a trial the run did not include says why
    alone = Diagnosis.from_dict(unverified_report()).with_trials(TRIALS[:1], VERIFICATION)
    assert alone.remedy_note(alone.get("exploding_gradients").remedies[0]) == \
        "not run: not among the top 3 diagnoses verified"


def test_the_tui_panes_show_the_verdicts():
    diagnosis = Diagnosis.from_dict(verified_report())
    finding = diagnosis.get("exploding_gradients")
    segments = panes.remedies_pane(finding, diagnosis)
    assert ("   verified: hurts (validation loss +30 %, p = 0.031, 5 seeds)\n",
            "trial:hurts") in segments
    assert not any(role.startswith("trial:") for _, role in panes.remedies_pane(finding))
    text = "".join(t for t, _ in panes.trials_pane(diagnosis))
    assert "scale_lr(factor=0.1) for lr_too_high, loss_oscillating: helps" in text
    assert "Cost: 17 runs, 42.5 s" in text
    summary = "".join(t for t, _ in panes.summary(diagnosis))
    assert "5 remedy trial(s), 1 helped" in summary
    assert "trial" not in "".join(t for t, _ in panes.summary(Diagnosis.from_dict(
        unverified_report())))


def test_what_separated_competing_causes_is_said_plainly():
    verification = {**VERIFICATION, "separated": [
        {"transform": "scale_lr", "label": "scale_lr(factor=0.1)", "helped": ["lr_too_high"],
         "not_helped": []},
        {"transform": "standardize_inputs", "label": "standardize_inputs()", "helped": [],
         "not_helped": ["data_unnormalized", "data_not_shuffled"]}]}
    assert trial_view.separated_lines(verification) == [
        "The trials separated the competing causes: supported lr_too_high; not supported "
        "data_unnormalized, data_not_shuffled",
        "Trial scale_lr(factor=0.1): supports lr_too_high",
        "Trial standardize_inputs(): does not support data_unnormalized, data_not_shuffled"]
    # one cause tried, or every trial agreeing: nothing was separated, only what each said
    alone = {**VERIFICATION, "separated": verification["separated"][:1]}
    assert trial_view.separated_lines(alone) == ["Trial scale_lr(factor=0.1): supports "
                                                 "lr_too_high"]


@pytest.mark.parametrize(("before", "after", "said"), [
    (["a", "b", "c"], ["a", "b", "c"], "Ranking unchanged by the trials (top: a, b, c)"),
    (["a", "b", "c", "d"], ["b", "a", "c"],
     "Re-ranked by the trials: b 2 -> 1, a 1 -> 2; no longer reported: d"),
    (["a", "b", "c"], ["a", "c", "e"],
     "Re-ranked by the trials: no longer reported: b; now reported: e"),
])
def test_the_reranking_names_only_what_moved(before, after, said):
    assert trial_view.ranking_line({"rank_before": before, "rank_after": after}) == said
