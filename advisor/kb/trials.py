"""Remedy trials in the knowledge base: the closed vocabulary of `trial:` and its evidence rules.

A remedy may declare one trial, a change `advisor probe --verify` can make to a copy of the
setup to test whether the remedy measurably helps:

    remedies:
      - action: Lower the learning rate ...
        trial: {transform: scale_lr, factor: 0.1}

The vocabulary is closed: `TRANSFORMS` names every transform, its arguments, their types and
ranges, and says in one line what each does to the copy. It is plain data (no torch), so the
loader validates trials (`check_trial`), the docs list them, and `advisor.trials.transforms`
implements exactly these names (a test keeps the two in step).

A trial's outcome is evidence for the cause its remedy treats: a cure that works speaks for
the diagnosis. `evidence_for` writes that down as ordinary knowledge, for every diagnosis with
a trial: a measured fact `trial.<id>.helped` and two rules that conclude the diagnosis, so the
engine combines a trial's verdict with the other evidence by the usual certainty arithmetic.
This module imports nothing from the engine: the rules are data like the ones in the files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from advisor.kb.model import (
    Example,
    Fact,
    FactTest,
    KnowledgeBase,
    Location,
    Problem,
    Rule,
    SourceRef,
    Trial,
)
from advisor.kb.structure import describe, shorten, suggest

TRIAL_TAG = "trial-evidence"
HELPED_CF = 0.6  # a remedy that measurably helped: strong, but not proof of this cause alone
NO_HELP_CF = -0.4  # none helped: weaker, a short trial can miss a real effect
VERIFY_SOURCE = SourceRef(
    ref="https://github.com/SigmaJahan/DEFaultplusplus-Transformer-Debugging",
    note="DEFault++ (2026): 5 matched seeds, exact one-sided sign-flip permutation test, "
         "alpha 0.05",
)
MEASURED = ("advisor probe --verify: a remedy trial of this diagnosis lowered the outcome "
            "(exact sign-flip test, alpha 0.05)")

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Argument:
    """One argument of a transform: its type, its range and whether it must be given.

    `kind` is "number" (an int or a float), "integer" (a whole number) or "choice" (one of
    `choices`). Bounds are inclusive unless the matching `*_exclusive` is set; `not_equal` is a
    value the argument may not take (a factor of 1 changes nothing).
    """

    name: str
    kind: str
    doc: str
    required: bool = True
    minimum: float | None = None
    minimum_exclusive: bool = False
    maximum: float | None = None
    maximum_exclusive: bool = False
    not_equal: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def range_text(self) -> str:
        """`> 0, != 1`, `0 <= x < 1`, `one of SGD, Adam`: the allowed values, for people."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        low = None if self.minimum is None else _number(self.minimum)
        high = None if self.maximum is None else _number(self.maximum)
        lower = "<" if self.minimum_exclusive else "<="
        upper = "<" if self.maximum_exclusive else "<="
        if low is not None and high is not None:
            text = f"{low} {lower} x {upper} {high}"
        elif low is not None:
            text = f"{'>' if self.minimum_exclusive else '>='} {low}"
        elif high is not None:
            text = f"{'<' if self.maximum_exclusive else '<='} {high}"
        else:
            text = ""
        if self.not_equal is not None:
            unequal = f"!= {_number(self.not_equal)}"
            text = f"{text}, {unequal}" if text else unequal
        return text

    @property
    def type_text(self) -> str:
        return {"number": "a number", "integer": "a whole number", "choice": "a name"}[self.kind]

    def problem(self, value: Any) -> str | None:
        """Why `value` is not a legal value of this argument, or None when it is."""
        if self.kind == "choice":
            return self._choice_problem(value)
        if isinstance(value, str) and _reads_as_number(value):
            return f"must be {self.type_text}, got {describe(value)}; write it without quotes"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {self.type_text} ({self.range_text}), got {describe(value)}"
        if not math.isfinite(value):
            return f"must be a finite number ({self.range_text}), got {value}"
        if self.kind == "integer" and not isinstance(value, int):
            return f"must be a whole number ({self.range_text}), got {describe(value)}"
        if not self._in_range(value):
            return f"must be {self.type_text} {self.range_text}, got {shorten(repr(value))}"
        return None

    def _in_range(self, value: float) -> bool:
        if self.minimum is not None and (value < self.minimum or
                                         (self.minimum_exclusive and value == self.minimum)):
            return False
        if self.maximum is not None and (value > self.maximum or
                                         (self.maximum_exclusive and value == self.maximum)):
            return False
        return self.not_equal is None or value != self.not_equal

    def _choice_problem(self, value: Any) -> str | None:
        if isinstance(value, str) and value in self.choices:
            return None
        hint = ""
        if isinstance(value, str):
            same = [c for c in self.choices if c.lower() == value.lower()]
            hint = f"; did you mean '{same[0]}'?" if same else suggest(value, list(self.choices))
        return f"must be {self.range_text}; got {describe(value)}{hint}"


@dataclass(frozen=True)
class TransformSpec:
    """One transform of the vocabulary: what it does to the copy, and its arguments.

    `one_of`: names of arguments of which exactly one must be given (the batch size is set
    either as a size or as a factor of the current one); they are not `required` each.
    """

    name: str
    doc: str
    arguments: tuple[Argument, ...] = ()
    one_of: tuple[str, ...] = ()

    @property
    def argument_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arguments)

    def argument(self, name: str) -> Argument | None:
        return next((a for a in self.arguments if a.name == name), None)

    @property
    def arguments_text(self) -> str:
        """The arguments as the docs' table shows them: `factor: number > 0, != 1 (required)`."""
        if not self.arguments:
            return "(none)"
        parts = []
        for a in self.arguments:
            kind = {"number": "number", "integer": "integer", "choice": ""}[a.kind]
            text = f"{a.name}: " + " ".join(p for p in (kind, a.range_text) if p)
            if a.name not in self.one_of:
                text += " (required)" if a.required else " (optional)"
            elif a.name == self.one_of[-1]:
                text += f" (exactly one of {' / '.join(self.one_of)})"
            parts.append(text)
        return "; ".join(parts)


def _positive(name: str, doc: str, required: bool = True, **extra: Any) -> Argument:
    return Argument(name, "number", doc, required, minimum=0, minimum_exclusive=True, **extra)


def _fraction(name: str, doc: str, required: bool = True) -> Argument:
    """0 <= x < 1: momentum, dropout probability."""
    return Argument(name, "number", doc, required, minimum=0, maximum=1, maximum_exclusive=True)


OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
ACTIVATIONS = ("sigmoid", "softmax", "log_softmax", "identity")
LOSSES = ("cross_entropy", "nll", "bce", "bce_with_logits", "mse", "l1", "huber")
SCHEMES = ("default", "he", "xavier")

_SPECS = (
    TransformSpec("scale_lr", "multiply every param group's lr",
                  (_positive("factor", "what every learning rate is multiplied by",
                             not_equal=1),)),
    TransformSpec("use_suggested_lr", "every param group's lr moved to the LR range test's "
                                      "suggestion (their ratios kept)"),
    TransformSpec("set_optimizer", "new optimizer of that class over the same params", (
        Argument("name", "choice", "the torch.optim class", choices=OPTIMIZERS),
        _positive("lr", "its learning rate (left out: keep the current lr)", required=False),
        _fraction("momentum", "SGD/RMSprop momentum, Adam-family beta1", required=False),
        Argument("weight_decay", "number", "its weight decay", False, minimum=0),
    )),
    TransformSpec("set_momentum", "SGD/RMSprop `momentum`, Adam-family `betas[0]`",
                  (_fraction("value", "the momentum (or beta1)"),)),
    TransformSpec("set_weight_decay", "every group's `weight_decay`",
                  (Argument("value", "number", "the weight decay", minimum=0),)),
    TransformSpec("clip_grad_norm", "clip the global grad norm before each update",
                  (_positive("max_norm", "the largest global gradient norm kept"),)),
    TransformSpec("remove_final_activation", "the output activation is skipped"),
    TransformSpec("replace_final_activation", "the output activation is replaced",
                  (Argument("with", "choice", "the new output activation", choices=ACTIVATIONS),)),
    TransformSpec("swap_loss", "train with that torch.nn loss (targets converted as it needs)",
                  (Argument("to", "choice", "the loss to train with", choices=LOSSES),)),
    TransformSpec("standardize_inputs", "inputs (x - mean) / std with training statistics"),
    TransformSpec("scale_targets", "regression targets standardised with training statistics; "
                                   "outputs mapped back at evaluation"),
    TransformSpec("shuffle_data", "training data reshuffled every epoch"),
    TransformSpec("reinitialize", "weights re-initialised with that scheme",
                  (Argument("scheme", "choice", "the initialisation scheme", choices=SCHEMES),)),
    TransformSpec("set_dropout", "every Dropout module's p",
                  (_fraction("p", "the dropout probability"),)),
    TransformSpec("set_batch_size", "training batches of that size", (
        Argument("size", "integer", "the batch size", False, minimum=1),
        _positive("factor", "the current batch size times this", required=False),
    ), one_of=("size", "factor")),
    TransformSpec("unfreeze", "every parameter trainable and in the optimizer"),
    TransformSpec("add_missing_params",
                  "trainable parameters missing from the optimizer added to it"),
    TransformSpec("train_mode", "the model in train mode at every training step"),
    TransformSpec("fix_target_shape",
                  "targets reshaped to the outputs' shape when they hold as many elements"),
)

TRANSFORMS: dict[str, TransformSpec] = {s.name: s for s in _SPECS}
TRIAL_EXAMPLE = "{transform: scale_lr, factor: 0.1}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------ validation
def check_trial(raw: Any) -> list[tuple[Path, str]]:
    """What is wrong with one `trial:` value, as (path inside the trial, message) pairs.

    The path is () for the trial itself, ("transform",) for its name, or (argument,) for an
    argument; the loader adds it to the remedy's path to point at file:line:col (at the key,
    for an argument the transform does not take: see `points_at_key`). Every problem is
    reported, not only the first.
    """
    if not isinstance(raw, dict):
        if isinstance(raw, str) and raw in TRANSFORMS:
            return [((), f"a trial must be a mapping: write {{transform: {raw}, ...}} with "
                         f"its arguments, not the name alone")]
        return [((), f"a trial must be a mapping such as {TRIAL_EXAMPLE}, got {describe(raw)}")]
    if "transform" not in raw:
        return [((), "the trial has no 'transform'; name one of "
                     f"{', '.join(TRANSFORMS)} (e.g. {TRIAL_EXAMPLE})")]
    name = raw["transform"]
    spec = TRANSFORMS.get(name) if isinstance(name, str) else None
    if spec is None:
        hint = suggest(name, list(TRANSFORMS)) if isinstance(name, str) else ""
        return [(("transform",), f"unknown trial transform {describe(name)}{hint} "
                                 f"(known: {', '.join(TRANSFORMS)})")]
    problems: list[tuple[Path, str]] = []
    for key, value in raw.items():
        if key == "transform":
            continue
        arg = spec.argument(key) if isinstance(key, str) else None
        if arg is None:
            problems.append(((key,), _unknown_argument(spec, key)))
            continue
        reason = arg.problem(value)
        if reason:
            problems.append(((key,), f"argument '{key}' of {name} {reason}"))
    for arg in spec.arguments:
        if arg.required and arg.name not in raw:
            what = arg.range_text if arg.kind == "choice" else f"{arg.type_text} {arg.range_text}"
            problems.append(((), f"{name} needs the argument '{arg.name}' ({what}): {arg.doc}"))
    if spec.one_of:
        given = [a for a in spec.one_of if a in raw]
        if len(given) != 1:
            wanted = " or ".join(f"'{a}'" for a in spec.one_of)
            if given:
                where: Path = (given[-1],)
                problems.append((where, f"{name} takes {wanted}, not both: give exactly one"))
            else:
                problems.append(((), f"{name} needs {wanted} (exactly one)"))
    return problems


def _unknown_argument(spec: TransformSpec, key: Any) -> str:
    shown = shorten(str(key))
    if not spec.arguments:
        return f"{spec.name} takes no arguments; remove '{shown}'"
    hint = suggest(str(key), list(spec.argument_names))
    return (f"unknown argument '{shown}' of {spec.name}{hint} "
            f"(it takes: {', '.join(spec.argument_names)})")


def points_at_key(raw: Any, path: Path) -> bool:
    """Whether the problem at `path` (from `check_trial(raw)`) is about a key, not a value:
    an argument the transform does not take is pointed at where its name is written."""
    if not path or path == ("transform",) or not isinstance(raw, dict):
        return False
    spec = TRANSFORMS.get(raw.get("transform")) if isinstance(raw.get("transform"), str) else None
    return spec is not None and spec.argument(path[-1]) is None


def make_trial(raw: dict[str, Any], location: Location) -> Trial:
    """A checked `trial:` mapping as a Trial; arguments in the vocabulary's order, so equal
    trials have equal labels whatever order they were written in."""
    spec = TRANSFORMS[raw["transform"]]
    args = tuple((a.name, raw[a.name]) for a in spec.arguments if a.name in raw)
    return Trial(spec.name, args, location)


# ------------------------------------------------------------------------------ evidence
def helped_fact(diagnosis: str) -> str:
    return f"trial.{diagnosis}.helped"


def trials_of(rule: Rule) -> list[Trial]:
    """The distinct trials of a rule's remedies, in remedy order."""
    return list(dict.fromkeys(r.trial for r in rule.remedies if r.trial is not None))


@dataclass
class TrialEvidence:
    """What `evidence_for` synthesises: one fact and two rules per diagnosis with trials."""

    facts: list[Fact]
    rules: list[Rule]


def evidence_for(kb: KnowledgeBase) -> TrialEvidence:
    """The fact `trial.<id>.helped` and the rules `<id>_trial_helped` (cf 0.6) and
    `<id>_trial_no_help` (cf -0.4), for every diagnosis of `kb` with at least one trial.

    The diagnosis as merged: a user rule that replaces a built-in one brings its own trials
    (or none). Every synthesised item is located at the diagnosis's first trial, so a problem
    with it points at the line that caused it.
    """
    out = TrialEvidence([], [])
    for rule in kb.diagnoses:
        trials = trials_of(rule)
        if not trials:
            continue
        fact, helped, no_help = _evidence(rule, trials)
        out.facts.append(fact)
        out.rules += [helped, no_help]
    return out


def _evidence(rule: Rule, trials: list[Trial]) -> tuple[Fact, Rule, Rule]:
    where = trials[0].location
    name = helped_fact(rule.id)
    labels = ", ".join(t.label for t in trials)
    fact = Fact(name=name, type="bool", location=where, measured=MEASURED,
                meaning=f"Whether a remedy trial of '{rule.id}' ({labels}) measurably lowered "
                        "the outcome (validation or training loss) against an unchanged control, "
                        "over matched seeds.")

    def evidence_rule(suffix: str, cf: float, value: bool, title: str, why: str) -> Rule:
        test = FactTest(name, (("is", value),), where)
        said = {True: "a trial helped", False: "no trial helped"}
        # alone, a negative rule leaves its conclusion at its own cf: the least it may reach
        fires = Example({name: value}, "fires", where, said[value],
                        min_cf=None if cf > 0 else cf, fact_locations={name: where})
        silent = Example({name: not value}, "silent", where, said[not value],
                         fact_locations={name: where})
        return Rule(id=f"{rule.id}_{suffix}", title=f"{rule.title}: {title}", kind=rule.kind,
                    severity=rule.severity, cf=cf, when=test, explanation=why, location=where,
                    sources=(VERIFY_SOURCE,), examples=(fires, silent), concludes=rule.id,
                    tags=(TRIAL_TAG,))

    helped = evidence_rule(
        "trial_helped", HELPED_CF, True, "a remedy trial helped",
        f"advisor probe --verify applied a remedy of this diagnosis ({labels}) to copies of the "
        "setup and trained them against unchanged copies over matched seeds; at least one "
        "lowered the outcome (exact one-sided sign-flip test, alpha 0.05). A remedy that "
        "measurably works is evidence for the cause it treats.")
    no_help = evidence_rule(
        "trial_no_help", NO_HELP_CF, False, "no remedy trial helped",
        f"advisor probe --verify applied the remedies of this diagnosis ({labels}) to copies of "
        "the setup over matched seeds, and none lowered the outcome measurably. That speaks "
        "against the cause, more weakly than a success speaks for it: a short trial with few "
        "seeds can miss a real but slow effect.")
    return fact, helped, no_help


def add_evidence(kb: KnowledgeBase) -> list[Problem]:
    """Add `evidence_for(kb)` to `kb`; problems for names the files already use.

    A user fact or rule with a synthesised name and `replaces: true` deliberately replaces
    the synthesised one (a calibration overlay may re-fit an evidence rule's cf) and is kept;
    without it the name clashes, as between two files. The rules go last, after every file's.
    """
    problems: list[Problem] = []
    for rule in kb.rules.values():
        if rule.concludes:
            problems += [Problem(t.location, _not_a_diagnosis(rule, t)) for t in trials_of(rule)]
    evidence = evidence_for(kb)
    for fact in evidence.facts:
        old = kb.facts.get(fact.name)
        if old is None:
            kb.facts[fact.name] = fact
        elif not old.replaces:
            problems.append(Problem(old.location, _reserved("fact", fact.name, fact.location)))
        elif old.type != "bool":
            problems.append(Problem(old.location, f"fact '{fact.name}' replaces the trial "
                                    f"evidence fact of {fact.location}, which is bool; it is "
                                    f"{old.type}"))
    for rule in evidence.rules:
        old = kb.rules.get(rule.id)
        if old is None:
            kb.rules[rule.id] = rule
        elif not old.replaces:
            problems.append(Problem(old.location, _reserved("rule", rule.id, rule.location)))
    return problems


def _not_a_diagnosis(rule: Rule, trial: Trial) -> str:
    return (f"trial {trial.label} sits on a remedy of '{rule.id}', which concludes "
            f"'{rule.concludes}': reports show and --verify tries the remedies of a diagnosis "
            f"only; move the remedy with its trial to '{rule.concludes}'")


def _reserved(what: str, name: str, trial: Location) -> str:
    return (f"{what} '{name}' is the trial evidence the loader writes for the trials at "
            f"{trial}; rename yours, or add 'replaces: true' to replace the synthesised one")


def synthesised(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """(fact names, rule ids) of `kb` that came from `evidence_for`, not from a file."""
    rules = [r.id for r in kb.rules.values() if TRIAL_TAG in r.tags and not r.replaces]
    names = (helped_fact(d.id) for d in kb.diagnoses if trials_of(d))
    facts = [n for n in names if n in kb.facts and not kb.facts[n].replaces]
    return facts, rules


def vocabulary_table() -> str:
    """The vocabulary as the Markdown table docs/knowledge-base.md shows (a test compares)."""
    lines = ["| transform | arguments | what it does to the copy |", "|---|---|---|"]
    lines += [f"| `{s.name}` | {s.arguments_text} | {s.doc} |" for s in TRANSFORMS.values()]
    return "\n".join(lines) + "\n"
