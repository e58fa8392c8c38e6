"""`advisor.probe(...)` from Python, and the one path every front end uses: setup -> run ->
diagnose -> ProbeReport."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from advisor.probing.options import ProbeOptions
from advisor.probing.setup import ProbeSetup, coerce_setup
from advisor.report.probe import ProbeReport

# progress(phase, done, total, loss): loss is the latest training loss during "training", else
# None; the TUI draws its live curve from it
Progress = Callable[[str, int, int, "float | None"], None]


def probe(model: Any = None, train_data: Iterable[Any] | None = None, loss_fn: Any = None,
          optimizer: Any = None, val_data: Iterable[Any] | None = None, task: str | None = None,
          step: Callable[..., Any] | None = None, *,
          train_step: Callable[..., Any] | None = None,
          scheduler: Callable[..., Any] | None = None,
          scaler: Callable[..., Any] | None = None, setup: ProbeSetup | None = None,
          steps: int = 200, budget: float = 120.0, device: str | None = None,
          amp: bool = False, seed: int = 0, kb_dirs: Sequence[str] = (),
          progress: bool | Progress = False, diagnose: bool = True,
          verify: bool = False, seeds: int = 5, verify_top: int = 3,
          verify_budget: float = 300.0, trial_steps: int | None = None) -> ProbeReport:
    """Probe a training setup and return the report (the same content as `--json`).

    The setup's parts are those of `ProbeSetup` (see its docstring): `train_step` runs the
    user's own step, `scheduler` and `scaler` are factories built for each of the probe's
    copies. `steps` bounds the training run; `budget` (seconds) only caps the whole probe.

    The model, optimizer and data are left exactly as they were (the probe trains copies and
    restores every RNG). Raises ProbeSetupError when the setup is unusable. `diagnose=False`
    only measures (no diagnoses in the report), for a caller that runs its own engine.

    `verify=True` then tries the remedies of the `verify_top` top diagnoses on copies, in
    matched runs of `seeds` seeds and `trial_steps` steps (default min(100, steps)), capped at
    `verify_budget` seconds, and re-ranks the diagnoses by what helped (advisor.trials).
    """
    if setup is None:
        setup = coerce_setup({"model": model, "train_data": train_data, "loss_fn": loss_fn,
                              "optimizer": optimizer, "val_data": val_data, "task": task,
                              "step": step, "train_step": train_step, "scheduler": scheduler,
                              "scaler": scaler}, "advisor.probe()")
    options = ProbeOptions(steps=steps, budget=budget, device=device, amp=amp, seed=seed,
                           kb_dirs=tuple(kb_dirs), quiet=not progress, verify=verify,
                           seeds=seeds, verify_top=verify_top, verify_budget=verify_budget,
                           trial_steps=trial_steps)
    callback = progress if callable(progress) else None
    if progress is True:
        from advisor.probing.progress import ProgressDisplay

        with ProgressDisplay(enabled=True) as display:
            return run_setup(setup, options, display.update, diagnose)
    return run_setup(setup, options, callback, diagnose)


def run_setup(setup: ProbeSetup, options: ProbeOptions,
              progress: Progress | None = None, with_diagnosis: bool = True,
              on_phase_end: Callable[[str, Any], None] | None = None) -> ProbeReport:
    """Run the probe on a loaded setup and build its report; `on_phase_end(phase, obs)` sees
    the observations as each phase ends (the worker process streams them to its parent)."""
    from advisor.probing.runner import run

    verification = None
    after = None
    # the knowledge is loaded once: the verify phase diagnoses with it before its trials, and
    # the report diagnoses with it again after them
    kb, kb_problem = load_knowledge(options.kb_dirs) if with_diagnosis else (None, None)
    if options.verify and with_diagnosis:
        from advisor.trials.verify import Verification, verify_after_probe

        verification = Verification(options.seeds, 0, options.verify_top, "")

        def after(state: Any, ctx: Any) -> None:
            if kb is None:
                verification.problem = kb_problem
                return
            before = diagnose(state.obs.facts, kb=kb)[0]
            verify_after_probe(state, ctx, options, progress, verification, kb, before)

    state = run(setup, options, progress, on_phase_end, after)
    diagnoses, unknown, _, problem = (
        diagnose(state.obs.facts, kb=kb, problem=kb_problem) if with_diagnosis
        else ([], [], None, None))
    trials: list[dict[str, Any]] = []
    summary = None
    if verification is not None:
        from advisor.trials.verify import attach_trials

        trials, summary = attach_trials(diagnoses, verification, options)
    obs = state.obs
    return ProbeReport(
        setup=_setup_info(setup, obs),
        device=obs.details.pop("device", None),
        options=_options_info(options),
        timings=obs.details.pop("timings", {}),
        facts=dict(obs.facts),
        series=sanitize(obs.series),
        details=sanitize(obs.details),
        notes=list(obs.notes),
        warnings=obs.warnings,
        diagnoses=diagnoses,
        partial=state.partial,
        unknown_facts=unknown,
        kb_problem=problem,
        trials=sanitize(trials),
        verification=sanitize(summary),
    )


def _options_info(options: ProbeOptions) -> dict[str, Any]:
    info: dict[str, Any] = {"steps": options.steps, "budget": options.budget,
                            "device": options.device, "amp": options.amp, "seed": options.seed}
    if options.verify:
        info.update(verify=True, seeds=options.seeds, verify_top=options.verify_top,
                    verify_budget=options.verify_budget, trial_steps=options.trial_steps)
    return info


def load_knowledge(kb_dirs: Sequence[str] = ()) -> tuple[Any, str | None]:
    """(the knowledge base, None) or (None, why it cannot be used)."""
    try:
        from advisor.kb import KBError, load_kb
    except ImportError as exc:  # pragma: no cover - partial installs
        return None, f"the engine is not available: {exc}"
    try:
        return load_kb(list(kb_dirs), check_examples=False), None
    except KBError as exc:
        return None, "the knowledge base has problems: " + "; ".join(
            str(p) for p in exc.problems[:5])


def diagnose(facts: dict[str, Any], kb_dirs: Sequence[str] = (), *, kb: Any = None,
             problem: str | None = None) -> tuple[
        list[dict[str, Any]], list[str], Any, str | None]:
    """Run the engine on the facts: (diagnoses, facts the KB does not know, result, problem).
    The knowledge base is loaded from `kb_dirs` unless one is given (`kb`, or None with the
    `problem` that kept it from loading)."""
    if kb is None and problem is None:
        kb, problem = load_knowledge(kb_dirs)
    if kb is None:
        return [], [], None, problem
    from advisor.engine import Engine

    result = Engine(kb).diagnose(facts)  # it sets aside, and lists, facts the KB does not know
    return sanitize(result.to_dict()["diagnoses"]), result.unknown_facts, result, None


def _setup_info(setup: ProbeSetup, obs: Any) -> dict[str, Any]:
    model = setup.model
    return {
        "name": setup.name,
        "model": f"{type(model).__module__}.{type(model).__qualname__}",
        "optimizer": obs.details.get("optimizer", {}).get("class"),
        "optimizer_defaulted": bool(obs.get("optim.defaulted")),
        "loss_fn": _name(setup.loss_fn),
        "task": obs.get("task.kind"),
        "task_source": obs.details.get("task_source"),
        "has_val_data": setup.val_data is not None,
        "custom_step": setup.step is not None,
    }


def _name(obj: Any) -> str:
    kind = obj if isinstance(obj, type) else type(obj)
    name = getattr(obj, "__qualname__", None) or kind.__qualname__
    return f"{getattr(obj, '__module__', kind.__module__)}.{name}"


def sanitize(obj: Any) -> Any:
    """JSON-safe copy: NaN/Inf floats become None, tuples lists, unknown objects strings."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (bool, int, str)) or obj is None:
        return obj
    if isinstance(obj, dict):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [sanitize(v) for v in obj]
    if hasattr(obj, "item"):
        try:
            return sanitize(obj.item())
        except (ValueError, RuntimeError):
            pass
    if hasattr(obj, "tolist"):
        return sanitize(obj.tolist())
    return str(obj)
