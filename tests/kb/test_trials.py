"""`trial:` on remedies (issue 11): the closed vocabulary, its file:line:col errors, the trial
evidence the loader synthesises and the engine uses, the built-in trials, schema and docs."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from advisor.engine import Engine
from advisor.engine.examples import run_examples
from advisor.kb import KBError, load_kb
from advisor.kb.display import rule_text
from advisor.kb.model import Location, Trial
from advisor.kb.schema import kb_file_schema
from advisor.kb.trials import (
    HELPED_CF,
    NO_HELP_CF,
    TRANSFORMS,
    TRIAL_TAG,
    VERIFY_SOURCE,
    check_trial,
    helped_fact,
    synthesised,
    trials_of,
    vocabulary_table,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "knowledge-base.md"

FACTS = """\
facts:
  - name: t.lr
    type: number
    meaning: A learning rate.
    measured: by the test
"""

# `{TRIAL}` is replaced by a trial (one line, at line 11 column 9) or by nothing
RULES = """\
rules:
  - id: t_lr_high
    title: Learning rate too high
    kind: cause
    severity: error
    cf: 0.7
    when: {fact: t.lr, gt: 0.1}
    explanation: Too large steps.
    remedies:
      - action: Lower the learning rate.
        {TRIAL}
    sources: [{ref: "https://example.org/lr"}]
    examples:
      - {given: {t.lr: 0.5}, expect: fires}
      - {given: {t.lr: 0.01}, expect: silent}
"""


@functools.cache
def builtin():
    return load_kb(use_env=False)


def write_kb(kbdir, trial: str, rules: str = RULES) -> Path:
    kbdir.write("facts.yaml", FACTS)
    return kbdir.write("rules.yaml", rules.replace("{TRIAL}", trial))


def location_of(path: Path, anchor: str) -> tuple[int, int]:
    """1-based (line, column) of the one occurrence of `anchor` in the file; a `|` in the
    anchor marks the position within it (`p: |1}` is the 1)."""
    text = path.read_text(encoding="utf-8")
    before, _, after = anchor.partition("|") if "|" in anchor else ("", "", anchor)
    whole = before + after
    assert text.count(whole) == 1, anchor
    offset = text.index(whole) + len(before)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def load_problems(kbdir) -> list[str]:
    with pytest.raises(KBError) as info:
        kbdir.load()
    return [str(p) for p in info.value.problems]


# --------------------------------------------------------------------- vocabulary errors
# (trial, the text the problem points at, what the message says)
ERRORS = {
    "unknown transform, with a suggestion": (
        "trial: {transform: scale_lrate, factor: 0.1}", "scale_lrate",
        "unknown trial transform string 'scale_lrate'; did you mean 'scale_lr'? (known: "
        + ", ".join(TRANSFORMS) + ")"),
    "unknown argument, at its key": (
        "trial: {transform: scale_lr, factor: 0.1, warmup: 100}", "warmup",
        "unknown argument 'warmup' of scale_lr (it takes: factor)"),
    "unknown argument, with a suggestion": (
        "trial: {transform: set_optimizer, name: SGD, momentun: 0.9}", "momentun",
        "unknown argument 'momentun' of set_optimizer; did you mean 'momentum'? (it takes: "
        "name, lr, momentum, weight_decay)"),
    "an argument to a transform without any": (
        "trial: {transform: shuffle_data, seed: 3}", "seed",
        "shuffle_data takes no arguments; remove 'seed'"),
    "missing required argument": (
        "trial: {transform: clip_grad_norm}", "{transform",
        "clip_grad_norm needs the argument 'max_norm' (a number > 0): the largest global "
        "gradient norm kept"),
    "missing required choice": (
        "trial: {transform: reinitialize}", "{transform",
        "reinitialize needs the argument 'scheme' (one of default, he, xavier): the "
        "initialisation scheme"),
    "wrong type": (
        "trial: {transform: set_dropout, p: high}", "p: |high",
        "argument 'p' of set_dropout must be a number (0 <= x < 1), got string 'high'"),
    "a quoted number": (
        'trial: {transform: scale_lr, factor: "0.1"}', '"0.1"',
        "argument 'factor' of scale_lr must be a number, got string '0.1'; write it without "
        "quotes"),
    "a boolean is not a number": (
        "trial: {transform: set_weight_decay, value: true}", "value: |true",
        "argument 'value' of set_weight_decay must be a number (>= 0), got boolean True"),
    "a whole number": (
        "trial: {transform: set_batch_size, size: 2.5}", "2.5",
        "argument 'size' of set_batch_size must be a whole number (>= 1), got number 2.5"),
    "out of range, above": (
        "trial: {transform: set_momentum, value: 1.5}", "1.5",
        "argument 'value' of set_momentum must be a number 0 <= x < 1, got 1.5"),
    "out of range, the excluded end": (
        "trial: {transform: set_dropout, p: 1}", "p: |1}",
        "argument 'p' of set_dropout must be a number 0 <= x < 1, got 1"),
    "out of range, zero": (
        "trial: {transform: clip_grad_norm, max_norm: 0}", "max_norm: |0}",
        "argument 'max_norm' of clip_grad_norm must be a number > 0, got 0"),
    "a factor of one changes nothing": (
        "trial: {transform: scale_lr, factor: 1.0}", "1.0",
        "argument 'factor' of scale_lr must be a number > 0, != 1, got 1.0"),
    "not finite": (
        "trial: {transform: scale_lr, factor: .inf}", ".inf",
        "argument 'factor' of scale_lr must be a finite number (> 0, != 1), got inf"),
    "size and factor both": (
        "trial: {transform: set_batch_size, size: 32, factor: 2}", "factor: |2",
        "set_batch_size takes 'size' or 'factor', not both: give exactly one"),
    "neither size nor factor": (
        "trial: {transform: set_batch_size}", "{transform",
        "set_batch_size needs 'size' or 'factor' (exactly one)"),
    "a choice in the wrong case": (
        "trial: {transform: set_optimizer, name: adamw}", "adamw",
        "argument 'name' of set_optimizer must be one of SGD, Adam, AdamW, RMSprop, Adagrad; "
        "got string 'adamw'; did you mean 'AdamW'?"),
    "a misspelt choice": (
        "trial: {transform: swap_loss, to: crossentropy}", "crossentropy",
        "argument 'to' of swap_loss must be one of cross_entropy, nll, bce, bce_with_logits, "
        "mse, l1, huber; got string 'crossentropy'; did you mean 'cross_entropy'?"),
    "a name instead of a mapping": (
        "trial: scale_lr", "scale_lr",
        "a trial must be a mapping: write {transform: scale_lr, ...} with its arguments, not "
        "the name alone"),
    "a list instead of a mapping": (
        "trial: [scale_lr, 0.1]", "[scale_lr",
        "a trial must be a mapping such as {transform: scale_lr, factor: 0.1}, got list"),
    "no transform": (
        "trial: {factor: 0.1}", "{factor",
        "the trial has no 'transform'; name one of " + ", ".join(TRANSFORMS)
        + " (e.g. {transform: scale_lr, factor: 0.1})"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_a_bad_trial_is_reported_at_file_line_col(name, kbdir, where):
    trial, anchor, message = ERRORS[name]
    path = write_kb(kbdir, trial)
    line, col = location_of(path, anchor)
    assert line == 11
    assert load_problems(kbdir) == [f"{where(path, line, col)}: {message}"]


def test_a_block_mapping_trial_points_at_each_line(kbdir, where):
    trial = ("trial:\n          transform: set_optimizer\n          name: adam\n"
             "          lr: -0.1\n          betas: [0.9, 0.99]")
    path = write_kb(kbdir, trial)
    problems = load_problems(kbdir)
    assert problems == [
        f"{where(path, *location_of(path, 'adam'))}: argument 'name' of set_optimizer must be "
        "one of SGD, Adam, AdamW, RMSprop, Adagrad; got string 'adam'; did you mean 'Adam'?",
        f"{where(path, *location_of(path, '-0.1'))}: argument 'lr' of set_optimizer must be a "
        "number > 0, got -0.1",
        f"{where(path, *location_of(path, 'betas'))}: unknown argument 'betas' of "
        "set_optimizer (it takes: name, lr, momentum, weight_decay)",
    ]
    assert [location_of(path, a)[0] for a in ("adam", "-0.1", "betas")] == [13, 14, 15]


def test_every_bad_trial_of_a_file_is_reported_at_once(kbdir, where):
    rules = RULES.replace("{TRIAL}", "trial: {transform: scale_lr, factor: -1}\n"
                          "      - action: Clip.\n"
                          "        trial: {transform: clip_grad_norm, max_norm: 0}")
    path = write_kb(kbdir, "", rules)
    assert load_problems(kbdir) == [
        f"{where(path, *location_of(path, 'factor: |-1}'))}: argument 'factor' of scale_lr "
        "must be a number > 0, != 1, got -1",
        f"{where(path, *location_of(path, 'max_norm: |0}'))}: argument 'max_norm' of "
        "clip_grad_norm must "
        "be a number > 0, got 0",
    ]


def test_a_trial_on_a_rule_that_concludes_another_is_an_error(kbdir, where):
    rules = RULES.replace("{TRIAL}", "trial: {transform: scale_lr, factor: 0.1}") + """\
  - id: t_lr_high_too
    title: Still too high
    kind: cause
    concludes: t_lr_high
    severity: error
    cf: 0.3
    when: {fact: t.lr, gt: 1}
    explanation: Much too large.
    remedies:
      - action: Halve it.
        trial: {transform: scale_lr, factor: 0.5}
    sources: [{ref: "https://example.org/lr"}]
    examples:
      - {given: {t.lr: 5}, expect: fires}
      - {given: {t.lr: 0.5}, expect: silent}
"""
    path = write_kb(kbdir, "", rules)
    assert load_problems(kbdir) == [
        f"{where(path, *location_of(path, '{transform: scale_lr, factor: 0.5}'))}: trial "
        "scale_lr(factor=0.5) sits on a remedy of 't_lr_high_too', which concludes 't_lr_high':"
        " reports show and --verify tries the remedies of a diagnosis only; move the remedy "
        "with its trial to 't_lr_high'"]


def test_check_trial_paths_and_good_trials():
    assert check_trial({"transform": "scale_lr", "factor": 0.1}) == []
    assert check_trial({"transform": "set_batch_size", "factor": 0.5}) == []
    assert check_trial({"transform": "set_optimizer", "name": "AdamW", "lr": 3e-4,
                        "momentum": 0.9, "weight_decay": 0.01}) == []
    assert [p for p, _ in check_trial({"transform": "scale_lr", "factor": 0})] == [("factor",)]
    assert [p for p, _ in check_trial({"transform": "nope"})] == [("transform",)]
    assert [p for p, _ in check_trial({"transform": "unfreeze", "all": True})] == [("all",)]
    assert [p for p, _ in check_trial("scale_lr")] == [()]


def test_the_vocabulary_is_the_specs():
    assert list(TRANSFORMS) == [
        "scale_lr", "use_suggested_lr", "set_optimizer", "set_momentum", "set_weight_decay",
        "clip_grad_norm",
        "remove_final_activation", "replace_final_activation", "swap_loss",
        "standardize_inputs", "scale_targets", "shuffle_data", "reinitialize", "set_dropout",
        "set_batch_size", "unfreeze", "add_missing_params", "train_mode", "fix_target_shape"]
    assert all(s.doc and all(a.doc for a in s.arguments) for s in TRANSFORMS.values())
    required = {n: [a.name for a in s.arguments if a.required] for n, s in TRANSFORMS.items()}
    assert required["set_optimizer"] == ["name"] and required["set_batch_size"] == []
    assert TRANSFORMS["set_batch_size"].one_of == ("size", "factor")


# --------------------------------------------------------------------- the Trial object
def test_trial_label_arguments_and_equality(kbdir):
    write_kb(kbdir, "trial: {factor: 0.1, transform: scale_lr}")
    trial = kbdir.load().rules["t_lr_high"].remedies[0].trial
    assert trial == Trial("scale_lr", (("factor", 0.1),))  # the location does not count
    assert trial.label == "scale_lr(factor=0.1)" and trial.arguments == {"factor": 0.1}
    assert trial.location.line == 11 and trial.location.col == 16
    optimizer = Trial("set_optimizer", (("name", "AdamW"), ("weight_decay", 0.01)), Location("x"))
    assert optimizer.label == "set_optimizer(name=AdamW, weight_decay=0.01)"
    assert Trial("shuffle_data").label == "shuffle_data()"
    assert len({trial, Trial("scale_lr", (("factor", 0.1),), Location("elsewhere", 3, 4))}) == 1


def test_a_remedy_without_trial_has_none(kbdir):
    write_kb(kbdir, "")
    kb = kbdir.load()
    assert kb.rules["t_lr_high"].remedies[0].trial is None
    assert set(kb.rules) == {"t_lr_high"} and set(kb.facts) == {"t.lr"}


# --------------------------------------------------------------------- evidence rules
def test_the_evidence_of_a_diagnosis_with_a_trial(kbdir):
    path = write_kb(kbdir, "trial: {transform: scale_lr, factor: 0.1}")
    kb = kbdir.load()
    trial = kb.rules["t_lr_high"].remedies[0].trial
    fact = kb.facts["trial.t_lr_high.helped"]
    assert fact.type == "bool" and fact.measured.startswith("advisor probe --verify")
    assert fact.location == trial.location
    helped, no_help = kb.rules["t_lr_high_trial_helped"], kb.rules["t_lr_high_trial_no_help"]
    for rule, cf, value in ((helped, HELPED_CF, True), (no_help, NO_HELP_CF, False)):
        assert rule.concludes == "t_lr_high" and rule.cf == cf
        assert (rule.kind, rule.severity) == ("cause", "error")
        assert rule.when.fact == "trial.t_lr_high.helped"
        assert rule.when.comparisons == (("is", value),)
        assert rule.tags == (TRIAL_TAG,) and rule.sources == (VERIFY_SOURCE,)
        assert rule.location == trial.location and rule.location.file.endswith(path.name)
        assert {e.expect for e in rule.examples} == {"fires", "silent"}
    assert (HELPED_CF, NO_HELP_CF) == (0.6, -0.4)
    assert VERIFY_SOURCE.ref == "https://github.com/SigmaJahan/DEFaultplusplus-Transformer-Debugging"
    assert synthesised(kb) == (["trial.t_lr_high.helped"],
                               ["t_lr_high_trial_helped", "t_lr_high_trial_no_help"])
    assert all(o.passed for o in run_examples(kb))


def test_trial_outcomes_move_the_certainty_in_the_engine(kbdir):
    write_kb(kbdir, "trial: {transform: scale_lr, factor: 0.1}")
    engine = Engine(kbdir.load())
    base = engine.diagnose({"t.lr": 0.5}).certainties["t_lr_high"]
    helped = engine.diagnose({"t.lr": 0.5, "trial.t_lr_high.helped": True})
    failed = engine.diagnose({"t.lr": 0.5, "trial.t_lr_high.helped": False})
    assert base == pytest.approx(0.7)
    assert helped.certainties["t_lr_high"] == pytest.approx(0.7 + 0.6 * 0.3)
    assert failed.certainties["t_lr_high"] == pytest.approx((0.7 - 0.4) / (1 - 0.4))
    assert not helped.unknown_facts and not failed.unknown_facts


def test_builtin_lr_too_high_rises_when_its_trial_helped_and_falls_when_not():
    engine = Engine(builtin())
    facts = {"loss.trend": "diverging", "lr_range.lr_vs_suggested": 20}
    base = engine.diagnose(facts).certainties["lr_too_high"]
    up = engine.diagnose({**facts, "trial.lr_too_high.helped": True}).certainties["lr_too_high"]
    down = engine.diagnose({**facts, "trial.lr_too_high.helped": False})
    assert up > base > down.certainties["lr_too_high"] > 0.2
    fired = {f.rule.id for f in down.get("lr_too_high").explanation.firings}
    assert {"lr_too_high", "lr_too_high_trial_no_help"} <= fired


def test_a_trial_that_helped_alone_raises_a_diagnosis_to_be_reported():
    result = Engine(builtin()).diagnose({"trial.unshuffled_data.helped": True})
    assert result.get("unshuffled_data") is not None
    assert result.get("unshuffled_data").certainty == pytest.approx(HELPED_CF)


def test_a_user_diagnosis_with_trials_gets_its_evidence_beside_the_builtin(kbdir):
    path = write_kb(kbdir, "trial: {transform: clip_grad_norm, max_norm: 5}")
    kb = kbdir.load(builtin=True)
    assert "t_lr_high_trial_helped" in kb.rules and "lr_too_high_trial_helped" in kb.rules
    assert kb.rules["t_lr_high_trial_helped"].location.file == kb.rules["t_lr_high"].location.file
    line, col = location_of(path, "{transform")
    assert str(kb.rules["t_lr_high_trial_helped"].location).endswith(f"{path.name}:{line}:{col}")


REPLACEMENT = """\
rules:
  - id: lr_too_high
    title: Learning rate too high
    kind: cause
    severity: error
    cf: 0.8
    replaces: true
    when: {fact: optim.lr, gt: 0.003}
    explanation: Our models diverge above 3e-3.
    remedies:
      - action: Divide the learning rate by 3.
        {TRIAL}
    sources: [{ref: "https://wiki.example.com/lr"}]
    examples:
      - {given: {optim.lr: 0.005}, expect: fires}
      - {given: {optim.lr: 0.001}, expect: silent}
"""


def test_a_replacing_rule_brings_its_own_trials(kbdir):
    path = kbdir.write("lr.yaml", REPLACEMENT.replace(
        "{TRIAL}", "trial: {transform: scale_lr, factor: 0.3}"))
    kb = kbdir.load(builtin=True)
    helped = kb.rules["lr_too_high_trial_helped"]
    assert helped.location.file.endswith(path.name)
    assert "scale_lr(factor=0.3)" in helped.explanation
    assert "scale_lr(factor=0.1)" not in kb.facts["trial.lr_too_high.helped"].meaning


def test_a_replacing_rule_without_trials_drops_the_evidence(kbdir):
    kbdir.write("lr.yaml", REPLACEMENT.replace("{TRIAL}", ""))
    kb = kbdir.load(builtin=True)
    assert "lr_too_high_trial_helped" not in kb.rules
    assert "trial.lr_too_high.helped" not in kb.facts
    assert "unshuffled_data_trial_helped" in kb.rules


def test_a_user_fact_with_a_reserved_name_clashes(kbdir, where):
    path = write_kb(kbdir, "trial: {transform: scale_lr, factor: 0.1}")
    other = kbdir.write("mine.yaml", """\
        facts:
          - name: trial.t_lr_high.helped
            type: bool
            meaning: Mine.
            measured: by me
        """)
    trial_at = where(path, *location_of(path, "{transform"))
    assert load_problems(kbdir) == [
        f"{where(other, 2, 5)}: fact 'trial.t_lr_high.helped' is the trial evidence the loader "
        f"writes for the trials at {trial_at}; rename yours, or add 'replaces: true' to "
        "replace the synthesised one"]


def test_a_user_rule_with_a_reserved_id_and_replaces_is_kept(kbdir):
    write_kb(kbdir, "trial: {transform: scale_lr, factor: 0.1}")
    kbdir.write("overlay.yaml", """\
        rules:
          - id: t_lr_high_trial_helped
            title: Refitted
            kind: cause
            concludes: t_lr_high
            replaces: true
            severity: error
            cf: 0.45
            when: {fact: trial.t_lr_high.helped, is: true}
            explanation: Refitted on our reports.
            sources: [{ref: "https://example.org/calibration"}]
            examples:
              - {given: {trial.t_lr_high.helped: true}, expect: fires}
              - {given: {trial.t_lr_high.helped: false}, expect: silent}
        """)
    kb = kbdir.load()
    assert kb.rules["t_lr_high_trial_helped"].cf == 0.45
    assert kb.rules["t_lr_high_trial_no_help"].cf == NO_HELP_CF


def test_a_user_rule_with_a_reserved_id_without_replaces_clashes(kbdir):
    write_kb(kbdir, "trial: {transform: scale_lr, factor: 0.1}")
    kbdir.write("mine.yaml", """\
        rules:
          - id: t_lr_high_trial_no_help
            title: Mine
            kind: symptom
            severity: info
            cf: 0.5
            when: {fact: t.lr, gt: 3}
            explanation: Mine.
            sources: [{ref: "https://example.org/mine"}]
            examples:
              - {given: {t.lr: 5}, expect: fires}
              - {given: {t.lr: 1}, expect: silent}
        """)
    problems = load_problems(kbdir)
    assert len(problems) == 1
    assert "rule 't_lr_high_trial_no_help' is the trial evidence the loader writes" in problems[0]
    assert "mine.yaml:2:5: " in problems[0]


# --------------------------------------------------------------------- the built-in trials
# Transforms that test their remedy directly; a change here is a change of knowledge.
EXPECTED_BUILTIN = {
    "lr_too_high": ["scale_lr(factor=0.1)"],
    "lr_too_low": ["use_suggested_lr()"],
    "unnormalized_inputs": ["standardize_inputs()"],
    "unshuffled_data": ["shuffle_data()"],
    "output_activation_mismatch": ["remove_final_activation()",
                                   "replace_final_activation(with=log_softmax)"],
    "softmax_for_multilabel": ["swap_loss(to=bce_with_logits)"],
    "loss_task_mismatch": ["swap_loss(to=mse)", "swap_loss(to=cross_entropy)"],
    "exploding_gradients": ["clip_grad_norm(max_norm=1.0)", "scale_lr(factor=0.1)"],
    "symmetric_init": ["reinitialize(scheme=default)"],
    "dead_relu": ["scale_lr(factor=0.1)", "reinitialize(scheme=he)"],
    "excessive_dropout": ["set_dropout(p=0.1)"],
    "batchnorm_small_batch": ["set_batch_size(size=32)"],
    "momentum_too_high": ["set_momentum(value=0.9)"],
    "untrained_parameters": ["add_missing_params()", "unfreeze()"],
    "model_in_eval_mode": ["train_mode()"],
    "target_shape_mismatch": ["fix_target_shape()"],
    "outlier_targets": ["swap_loss(to=huber)"],
    "unscaled_targets": ["scale_targets()"],
    "overfitting": ["set_weight_decay(value=0.0001)"],
}


def test_at_least_twenty_builtin_diagnoses_have_trials():
    kb = builtin()
    tried = {d.id: [t.label for t in trials_of(d)] for d in kb.diagnoses if trials_of(d)}
    assert len(tried) >= 20
    for rid, labels in EXPECTED_BUILTIN.items():
        assert tried.get(rid) == labels, rid
    facts, rules = synthesised(kb)
    assert len(facts) == len(tried) and len(rules) == 2 * len(tried)
    for rid in tried:
        assert kb.rules[f"{rid}_trial_helped"].location == trials_of(kb.rules[rid])[0].location


def test_builtin_trials_sit_on_diagnoses_only():
    for rule in builtin().rules.values():
        if rule.concludes:
            assert not trials_of(rule), rule.id


def test_kb_show_prints_each_remedys_trial():
    kb = builtin()
    text = rule_text(kb, kb.rules["exploding_gradients"])
    assert "     trial: clip_grad_norm(max_norm=1.0)" in text
    assert "     trial: scale_lr(factor=0.1)" in text
    assert "exploding_gradients_trial_helped" in text  # "Also concluded by"
    shown = rule_text(kb, kb.rules["exploding_gradients_trial_no_help"])
    assert "synthesised by the loader from the remedy trials of exploding_gradients" in shown
    added = shown[shown.index("  synthesised"):shown.index("\n\nWhen:")]
    assert all(len(line) <= 80 for line in added.splitlines())


def test_kb_list_json_and_validate_name_the_trials(advisor, tmp_path):
    done = advisor("kb", "list", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in json.loads(done.stdout)}
    assert rows["lr_too_high"]["trials"] == ["scale_lr(factor=0.1)"]
    assert rows["lr_too_high_trial_helped"]["tags"] == [TRIAL_TAG]
    done = advisor("kb", "validate", cwd=tmp_path)
    tried = sum(1 for d in builtin().diagnoses if trials_of(d))
    assert done.returncode == 0, done.stderr
    assert f", {tried} with trials) from " in done.stdout


def test_a_bad_trial_on_the_command_line(advisor, kbdir, tmp_path):
    write_kb(kbdir, "trial: {transform: scale_lr, factr: 0.1}")
    done = advisor("kb", "validate", kbdir.path, cwd=tmp_path)
    assert done.returncode == 2
    assert "kb/rules.yaml:11:38: unknown argument 'factr' of scale_lr; did you mean " \
           "'factor'?" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------- schema
def _validator():
    schema = kb_file_schema()
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("name", [n for n in ERRORS if n != "not finite"])  # JSON has no inf
def test_the_published_schema_rejects_what_the_loader_rejects(name):
    trial = ERRORS[name][0]
    data = yaml.safe_load(RULES.replace("{TRIAL}", trial))
    assert list(_validator().iter_errors(data)), f"the JSON Schema accepted {trial}"


@pytest.mark.parametrize("trial", [
    "trial: {transform: scale_lr, factor: 0.1}",
    "trial: {transform: set_batch_size, factor: 0.5}",
    "trial: {transform: set_optimizer, name: AdamW, lr: 0.001, weight_decay: 0.01}",
    "trial: {transform: shuffle_data}",
    "trial: {transform: replace_final_activation, with: sigmoid}",
])
def test_the_published_schema_accepts_good_trials(trial):
    data = yaml.safe_load(RULES.replace("{TRIAL}", trial))
    assert list(_validator().iter_errors(data)) == []
    assert check_trial(data["rules"][0]["remedies"][0]["trial"]) == []


def test_the_schema_file_is_in_sync_and_names_every_transform():
    from advisor.kb import builtin_dir

    published = json.loads((builtin_dir() / "schema.json").read_text(encoding="utf-8"))
    assert published == kb_file_schema()
    trial = published["$defs"]["trial"]
    assert trial["properties"]["transform"]["enum"] == list(TRANSFORMS)
    assert len(trial["allOf"]) == len(TRANSFORMS)
    remedy = published["$defs"]["rule"]["properties"]["remedies"]["items"]
    assert remedy["properties"]["trial"] == {"$ref": "#/$defs/trial"}


# --------------------------------------------------------------------- the docs
@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_the_docs_table_is_the_vocabulary(doc):
    marker = "<!-- trial vocabulary: generated from advisor.kb.trials.TRANSFORMS"
    start = doc.index("\n", doc.index(marker)) + 1
    assert doc[start:start + len(vocabulary_table())] == vocabulary_table()


def test_the_docs_quote_the_builtin_numbers(doc):
    kb = builtin()
    tried = sum(1 for d in kb.diagnoses if trials_of(d))
    assert re.findall(r"(\d+) built-in diagnoses\s+have trials", doc) == [str(tried)]
    engine = Engine(kb)
    facts = {"loss.trend": "diverging", "lr_range.lr_vs_suggested": 20}
    numbers = [engine.diagnose({**facts, **extra}).certainties["lr_too_high"]
               for extra in ({}, {helped_fact("lr_too_high"): True},
                             {helped_fact("lr_too_high"): False})]
    quoted = re.search(r"gives `lr_too_high` a certainty of ([\d.]+);.*?raises it to ([\d.]+)"
                       r".*?lowers it to ([\d.]+)", doc, re.S)
    assert quoted and [float(q) for q in quoted.groups()] == [round(n, 2) for n in numbers]


def test_the_docs_error_example_is_what_validate_prints(doc, advisor, tmp_path):
    def block(marker: str, lang: str) -> str:
        match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(doc, doc.index(marker))
        assert match
        return match.group(1)

    mykb = tmp_path / "mykb"
    mykb.mkdir()
    (mykb / "facts.yaml").write_text(block("declare it in `mykb/facts.yaml`:", "yaml"))
    rules = block("`mykb/rules.yaml`:", "yaml")
    trial = block("With a misspelt argument on the remedy of the worked example:", "yaml")
    anchor = "          the rate up over the first epochs.\n"
    (mykb / "rules.yaml").write_text(rules.replace(anchor, anchor + trial))
    done = advisor("kb", "validate", "mykb", cwd=tmp_path)
    quoted = block(trial, "console").splitlines()
    assert quoted[0] == "$ advisor kb validate mykb"
    assert done.returncode == 2
    assert done.stderr.splitlines() == quoted[1:]


def test_a_pending_trial_does_not_keep_a_diagnosis_from_being_ruled_out(kbdir):
    """Only `probe --verify` measures trial facts: a diagnosis whose own rules are decided and
    silent is ruled out (and `{rule: ID}` is -1) while its trial has not run, and a trial that
    helped brings it back."""
    rules = RULES.replace("{TRIAL}", "trial: {transform: scale_lr, factor: 0.1}") + """\
  - id: t_not_lr
    title: Not the learning rate
    kind: symptom
    severity: info
    cf: 0.5
    when: {not: {rule: t_lr_high}}
    explanation: The learning rate is fine.
    sources: [{ref: "https://example.org/lr"}]
    examples:
      - {given: {t.lr: 0.01}, expect: fires}
      - {given: {t.lr: 0.5}, expect: silent}
"""
    write_kb(kbdir, "", rules)
    engine = Engine(kbdir.load())
    quiet = engine.chain({"t.lr": 0.01})
    assert "t_lr_high" in quiet.ruled_out and quiet.conclusion("t_lr_high") == -1.0
    assert quiet.evidence.get("t_not_lr") == pytest.approx(0.5)
    tried = engine.chain({"t.lr": 0.01, "trial.t_lr_high.helped": True})
    assert "t_lr_high" not in tried.ruled_out
    assert tried.evidence["t_lr_high"] == pytest.approx(HELPED_CF)
    assert "t_not_lr" not in tried.evidence
