"""Orchestrates a probe run: phases in order, the user's errors turned into observations, Ctrl-C
into a partial report, and every global put back.

Phases: model (no training) -> data scan -> first batch (trace, loss, task, initial loss) ->
training run -> NaN localisation (only after a NaN) -> wiring -> LR range test -> overfit test
(which falls back to the LR range test's suggestion when the user's rate cannot memorise).

Every experiment is bounded by steps (`advisor.experiments`), so the same setup and seed give the
same facts on an idle or a loaded machine. The time budget is only a cap: each phase may use its
share of what is left, and a phase cut short by it says so instead of concluding. The probe runs
with a fixed number of torch intra-op threads (and puts the user's setting back): threads that
fight other processes slow a loaded machine down tenfold, and a thread count that follows the
machine would change the arithmetic.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from advisor.experiments import nan_localisation, training
from advisor.experiments.lr_range import lr_range_test, sweep_series
from advisor.experiments.overfit import overfit_test
from advisor.experiments.recipe import Recipe
from advisor.experiments.reduction import measure_reduction
from advisor.facts.decay import judge_decay
from advisor.facts.gradients_growth import judge_gradient_growth
from advisor.facts.initial_loss import judge_initial_loss
from advisor.facts.lr_range import judge_lr_range
from advisor.facts.numerics import judge_numerics
from advisor.facts.overfit import judge_overfit
from advisor.facts.training import judge_training
from advisor.probing.batches import BatchStream
from advisor.probing.collectors import data as data_col
from advisor.probing.collectors import model as model_col
from advisor.probing.collectors import structure, wiring
from advisor.probing.context import ProbeContext, ProbeOptions
from advisor.probing.device import describe, peak_memory_mb, pick_device, reset_peak
from advisor.probing.errors import classify_error, error_message, user_frame
from advisor.probing.facts import Observations
from advisor.probing.setup import ProbeSetup, ProbeSetupError
from advisor.probing.state import preserved, seed_everything
from advisor.probing.watchdog import HANG_DETAIL, UserCodeHung, Watchdog
from advisor.report.user_warnings import WarningTally

Progress = Callable[..., None]
PhaseEnd = Callable[[str, Observations], None]
# after(state, ctx): a last phase on the probe's context (the remedy trials), run under the
# same guarantees as the experiments: RNG restored, threads fixed, watchdog, Ctrl-C
AfterProbe = Callable[["RunState", ProbeContext], None]
SHARES = {"training": 0.5, "lr_range": 0.25, "overfit": 0.25}
# the data scan is bounded by samples and batches (data_scan.scan); its time cap only guards a
# very slow dataset, and a scan it cuts says so
SCAN_SHARE, SCAN_MIN = 0.25, 10.0
# the probe's own intra-op threads: fixed per machine, never more than 4 (small models gain
# nothing from more, and a loaded machine loses a lot)
PROBE_THREADS = min(4, max(1, (os.cpu_count() or 2) // 2))


class PhaseClock:
    """Time spent per phase, and how much of the budget is left for the next ones."""

    def __init__(self, budget: float):
        self.start = time.perf_counter()
        self.budget = budget
        self.timings: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 4)

    def restart(self) -> None:
        """Start the budget now: one-time costs before (torch's lazy imports on the first
        optimizer) must not eat the training time."""
        self.start = time.perf_counter()

    def left(self) -> float:
        return max(self.budget - (time.perf_counter() - self.start), 0.0)

    def share(self, name: str, remaining: list[str]) -> float:
        total = sum(SHARES[p] for p in remaining) or 1.0
        return self.left() * SHARES[name] / total

    def deadline(self, name: str, remaining: list[str]) -> float:
        """The time cap of a phase: its share of what is left of the budget."""
        return time.perf_counter() + self.share(name, remaining)


class RunState:
    """What a run has produced so far; enough to write a partial report at any point."""

    def __init__(self, setup: ProbeSetup, options: ProbeOptions):
        self.setup = setup
        self.options = options
        self.obs = Observations()
        self.partial = False
        self.device: torch.device | None = None
        self.clock = PhaseClock(options.budget)
        self.phase = "setup"
        self.captured: list[warnings.WarningMessage] = []
        self.watchdog: Watchdog | None = None
        self.on_phase_end: PhaseEnd | None = None
        self.ctx: ProbeContext | None = None  # set once the model is copied

    def enter(self, phase: str) -> None:
        """A new phase starts: the one before it has ended (its facts are final)."""
        if self.on_phase_end is not None and self.phase != "setup":
            self.on_phase_end(self.phase, self.obs)
        self.phase = phase
        self.doing(f"the {phase} phase")

    def doing(self, activity: str, step: int | None = None) -> None:
        """What the user's code is running now: the watchdog restarts its timer and names it
        if it never returns ("forward did not return within N s at step K")."""
        if self.watchdog is not None:
            self.watchdog.beat(self.phase, step, activity)


def watch_limit(budget: float) -> float:
    """How long one activity of the user's code (a forward, a step, reading a batch) may run
    before the probe gives up on it: the whole budget, and never less than 10 s (a first step
    that compiles or autotunes is legitimately slow)."""
    return max(float(budget), 10.0)


def run(setup: ProbeSetup, options: ProbeOptions, progress: Progress | None = None,
        on_phase_end: PhaseEnd | None = None, after: AfterProbe | None = None) -> RunState:
    """Probe the setup. Raises ProbeSetupError for an unusable setup; everything the user's code
    raises during the run becomes an observation; code that never returns is interrupted by a
    watchdog (pure-Python code only: see the README) and the report says where it hung.
    `on_phase_end(phase, observations)` is called as each phase ends; `after(state, ctx)`
    runs last when the probe completed without an error of the user's code."""
    state = RunState(setup, options)
    state.on_phase_end = on_phase_end
    state.device = pick_device(options.device)
    with preserved(setup.train_data, setup.val_data), fixed_threads(PROBE_THREADS), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Watchdog(watch_limit(options.budget), phase="setup") as dog:
                state.watchdog = dog
                _phases(state, progress or (lambda *a: None))
                if after is not None and _completed(state):
                    state.enter("verify")
                    with state.clock.phase("verify"):
                        after(state, state.ctx)  # type: ignore[arg-type]
                dog.rest()
        except KeyboardInterrupt:
            state.partial = True
            state.obs.details["interrupted_in"] = state.phase
            state.obs.note(f"Interrupted during the {state.phase} phase: this report is partial.")
        except UserCodeHung as exc:
            _hung(state, exc)
        finally:
            state.watchdog = None
            state.captured = list(caught)
    _finish(state)
    if on_phase_end is not None:
        on_phase_end(state.phase, state.obs)
    return state


def _completed(state: RunState) -> bool:
    """The probe ran to its end: a context, no error of the user's code, no interruption."""
    return state.ctx is not None and not state.partial and \
        state.obs.get("runtime.error") in (None, "none")


def _hung(state: RunState, exc: UserCodeHung) -> None:
    """The user's code did not return: the run stops there (the next phase would most likely
    hang again) and the report says what hung, where and for how long."""
    state.partial = True
    hang = exc.hang
    if hang is None:  # pragma: no cover - the watchdog always attaches one
        state.obs.note(f"The setup's code did not return during the {state.phase} phase.")
        return
    state.obs.details[HANG_DETAIL] = hang.to_dict()
    state.obs.note(f"{_capital(hang.message)}; the probe stopped it, and this report is "
                   "partial.")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _phases(state: RunState, progress: Progress) -> None:
    setup, options, obs, clock = state.setup, state.options, state.obs, state.clock
    device = state.device
    state.enter("model")
    progress("model", 0, 1)
    with clock.phase("model"):
        seed_everything(options.seed)
        with quiet_analysis(obs, "model facts"):
            model_col.observe_model(setup.model, obs)
        recipe = Recipe.from_user(setup.model, setup.optimizer, device, setup.scheduler,
                                  setup.scaler)
        ctx = ProbeContext(setup, options, device, recipe, obs,
                           BatchStream(setup.train_data),
                           BatchStream(setup.val_data) if setup.val_data is not None else None)
        state.ctx = ctx
        opt = ctx.build(scheduler=False).optimizer  # the configured rate, not the schedule's
        model_col.observe_optimizer(opt, recipe.kind == "default", obs)
        if recipe.kind == "default":
            obs.note("No optimizer was given: the probe used Adam with lr 3e-4.")
        obs.set("wiring.params_not_in_optimizer",
                model_col.params_not_in_optimizer(setup.model, setup.optimizer))
    clock.restart()
    state.enter("data")
    progress("data", 0, 1)
    with clock.phase("data"):
        seed_everything(options.seed + 1)
        try:
            scan = _scan(ctx, setup.train_data, max(SCAN_MIN, SCAN_SHARE * options.budget))
        except ProbeSetupError:
            raise
        except (Exception, SystemExit) as exc:  # the dataset or step raised
            _record_error(ctx, exc, "reading the training data")
            return
        val_scan = None
        if ctx.val is not None:
            try:
                val_scan = _scan(ctx, ctx.val, max(SCAN_MIN, SCAN_SHARE * options.budget) / 2,
                                 max_samples=5000, keep=8)
                ctx.val_batches = list(val_scan.reservoir)
            except ProbeSetupError:
                raise
            except (Exception, SystemExit) as exc:
                _record_error(ctx, exc, "reading the validation data")
        ctx.train_eval_batches = list(scan.reservoir)
    if scan.batches == 0:
        raise ProbeSetupError(f"{setup.name}: train_data yielded no batches; expected an "
                              "iterable of (inputs, targets) batches")
    state.enter("first batch")
    progress("first batch", 0, 1)
    with clock.phase("first_batch"):
        seed_everything(options.seed + 2)
        ok = _first_batch(ctx, scan, val_scan)
    if not ok:
        # the crash may be the symmetry's doing (identical units saturating into NaN): the
        # check needs no training run, so the report still says whether the init is symmetric
        with quiet_analysis(ctx.obs, "wiring"):
            wiring.observe_symmetry(ctx, None)
        return
    _train_and_experiments(state, ctx, progress)


def _scan(ctx: ProbeContext, data: Any, seconds: float, max_samples: int = 20000,
          keep: int = 8) -> data_col.DataScan:
    stream = data if isinstance(data, BatchStream) else ctx.train
    model = ctx.fresh_model() if ctx.setup.step is not None else None
    result = data_col.scan(stream, step=ctx.setup.step, model=model, max_samples=max_samples,
                           seconds=seconds, keep=keep, rng=np.random.default_rng(ctx.options.seed))
    if not result.complete and result.seconds >= seconds and result.samples < max_samples:
        ctx.obs.note(f"The data scan was cut short by the time budget after {result.samples} "
                     "samples: the data facts describe those samples only (raise --budget).")
    return result


def _first_batch(ctx: ProbeContext, scan: data_col.DataScan,
                 val_scan: data_col.DataScan | None) -> bool:
    """Trace, loss kind, task, data facts and the initial loss. False when the user's code
    raised (the error is recorded and training is skipped)."""
    obs = ctx.obs
    batch = ctx.on_device(scan.first_batch)
    try:
        outputs, targets, tracer = structure.trace_forward(ctx, batch)
        if not isinstance(outputs, torch.Tensor):  # a tuple or dict the loss must accept
            ctx.check_loss(outputs, targets)
        with quiet_analysis(obs, "structure"):
            structure.observe_structure(ctx, tracer, ctx.pristine)
        task = structure.observe_loss(ctx, outputs, targets, scan.all_targets())
    except ProbeSetupError:
        raise
    except (Exception, SystemExit) as exc:
        _record_error(ctx, exc, "first forward pass")
        _data_facts_without_task(ctx, scan)
        return False
    ctx.task = task
    with quiet_analysis(obs, "data facts"):
        data_col.observe_data(scan, task, obs.get("model.param_count"), obs,
                              ctx.structure.input_layout)
    if val_scan is not None and val_scan.batches:
        with quiet_analysis(obs, "validation shift"):
            data_col.observe_val_shift(scan, val_scan, task, obs, ctx.structure.input_layout)
    try:
        first_batches = [scan.first_batch] + [b for b in scan.reservoir[:3]
                                              if b is not scan.first_batch]
        reduction = measure_reduction(ctx, scan.first_batch)
        summed = reduction.elements if reduction.kind == "sum" else None
        obs.apply(judge_initial_loss(structure.initial_loss(ctx, first_batches), task, summed))
        if reduction.kind:
            obs.set("training.loss_reduction", reduction.kind)
            obs.details["loss_reduction_samples"] = reduction.samples
    except (Exception, SystemExit) as exc:
        _record_error(ctx, exc, "initial loss")
        return False
    return True


def _data_facts_without_task(ctx: ProbeContext, scan: data_col.DataScan) -> None:
    """When the first forward or loss fails there are no outputs; the data facts that never
    depended on them (inputs, counts, labels judged from the loss kind and the targets) are
    still measured, so the crash does not erase them."""
    with quiet_analysis(ctx.obs, "data facts"):
        data_col.observe_data_before_outputs(scan, ctx.setup.loss_fn, ctx.setup.task, ctx.obs,
                                             ctx.structure.input_layout)


def _record_error(ctx: ProbeContext, exc: BaseException, where: str,
                  step: int | None = None) -> None:
    """The first error the user's code raised: its class, message, the phase, the step and
    the innermost line of the user's own code that raised it."""
    if ctx.obs.get("runtime.error") not in (None, "none"):
        return
    ctx.obs.set("runtime.error", classify_error(exc))
    ctx.obs.set("runtime.error_message", error_message(exc))
    ctx.obs.details["runtime_error_phase"] = where
    if step is not None:
        ctx.obs.details["runtime_error_step"] = step
    frame = user_frame(exc)
    if frame:
        ctx.obs.details["runtime_error_where"] = frame


def _train_and_experiments(state: RunState, ctx: ProbeContext, progress: Progress) -> None:
    """The phases that run the user's code many times; an error escaping any of them is
    recorded as the runtime error (the first one wins) and ends the run."""
    try:
        _experiments(state, ctx, progress)
    except ProbeSetupError:
        raise
    except (Exception, SystemExit) as exc:
        _record_error(ctx, exc, state.phase)


def _experiments(state: RunState, ctx: ProbeContext, progress: Progress) -> None:
    clock, options, obs = state.clock, state.options, ctx.obs
    reset_peak(ctx.device)
    state.enter("training")
    with clock.phase("training"):
        seed_everything(options.seed + 3)
        rec = training.run_training(ctx, options.steps,
                                    clock.deadline("training", list(SHARES)), progress,
                                    activity=state.doing)
        _observe_training(ctx, rec)
        obs.set("perf.peak_memory_mb", peak_memory_mb(ctx.device))
    if rec.first_nonfinite_step is not None or rec.grad_nonfinite_step is not None:
        state.enter("nan localisation")
        with clock.phase("nonfinite"):
            seed_everything(options.seed + 4)
            try:
                obs.apply(nan_localisation.localize(ctx, rec))
            except Exception as exc:  # localisation is best effort
                obs.details["nonfinite_localisation_error"] = error_message(exc)
    with clock.phase("wiring"), quiet_analysis(obs, "wiring"):
        wiring.observe_wiring(ctx, rec)
        wiring.observe_symmetry(ctx, rec)
    rec.model = rec.optimizer = None  # free memory before the experiments
    if rec.error is not None or rec.steps == 0:
        return
    state.enter("lr range test")
    with clock.phase("lr_range"):
        seed_everything(options.seed + 5)
        progress("lr range test", 0, 1)
        sweep = lr_range_test(ctx, clock.deadline("lr_range", ["lr_range", "overfit"]),
                              heavy_tailed=_heavy_tailed(obs), activity=state.doing)
        obs.series["lr_range"] = sweep_series(sweep)
        with quiet_analysis(obs, "lr range facts"):
            obs.apply(judge_lr_range(sweep, obs.get("optim.lr")))
    state.enter("overfit test")
    with clock.phase("overfit"):
        seed_everything(options.seed + 6)
        batch = ctx.train_eval_batches[0] if ctx.train_eval_batches else None
        samples = obs.get("data.num_samples")
        if batch is not None and samples is not None and samples < 2:
            obs.note(f"Only {samples} training sample: the small-batch overfit test needs at "
                     "least 2, so it did not run.")
            batch = None
        if batch is not None:
            progress("overfit test", 0, 1)
            res = overfit_test(ctx, batch, clock.deadline("overfit", ["overfit"]),
                               fallback_lr=sweep.suggested, activity=state.doing)
            with quiet_analysis(obs, "overfit facts"):
                obs.apply(judge_overfit(res))
                if res.conclusive and not res.failed and res.losses:
                    obs.series["overfit_loss"] = [v if math.isfinite(v) else None
                                                  for v in res.losses]


def _observe_training(ctx: ProbeContext, rec: training.TrainRecord) -> None:
    """The training run's series and facts; its error (the first one) as the runtime error."""
    obs = ctx.obs
    if rec.error is not None:
        _record_error(ctx, rec.error, "training", rec.loop.error_step)
        obs.details["runtime_error_step"] = rec.loop.error_step
        obs.details["runtime_error_activity"] = rec.loop.error_activity
    obs.series["loss"] = [_num(v) for v in rec.losses]
    obs.series["val_loss"] = [[s, _num(v)] for s, v in rec.val_points]
    obs.series["grad_norm_global"] = [_num(v) for v in rec.global_norms]
    obs.series["grad_norm_layers"] = {
        rec.names[i]: [_num(v) for v in rec.grad_series[rec.names[i]]] for i in rec.weight_idx}
    obs.series["update_ratio"] = [_num(v) for v in rec.update_ratios]
    obs.details["training_steps"] = rec.steps
    with quiet_analysis(obs, "training facts"):
        m = training.measurements(rec, ctx, obs.get("loss.initial"), rec.loop.capped)
        obs.apply(judge_training(m), series={"loss_smoothed": "loss_smoothed"})
    with quiet_analysis(obs, "numerics and growth facts"):
        obs.apply(judge_gradient_growth(rec.global_norms, rec.loop.capped))
        obs.apply(judge_decay(rec.decay_ratios))
        if rec.numeric_margins is not None:
            obs.apply(judge_numerics(list(zip(rec.numeric_margins.steps,
                                              rec.numeric_margins.smallest, strict=True))))
    if ctx.options.amp:
        skipped = rec.loop.skipped_updates
        late_skips = [s for s in skipped if s >= 20]
        obs.set("amp.overflow", bool(rec.first_nonfinite_step is not None or len(late_skips) >= 2))
        obs.details["amp_skipped_steps"] = skipped


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _heavy_tailed(obs: Observations) -> bool:
    """Batch losses at fixed weights scatter more than twice their typical level: a few
    batches hold outliers that dwarf the rest."""
    noise, level = obs.details.get("loss_batch_noise"), obs.get("train.final_loss")
    return bool(noise and level and noise > 2 * abs(level))


@contextmanager
def quiet_analysis(obs: Observations | None = None, what: str = "analysis") -> Iterator[None]:
    """The probe's own analysis of what it recorded: its numerics must not add to the user's
    warning count, and a failure in it loses only the facts it was computing (noted in the
    report's details as an internal error), never the run."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            yield
        except (ProbeSetupError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if obs is None:
                raise
            obs.details.setdefault("internal_errors", []).append(
                f"{what}: {type(exc).__name__}: {exc}")


@contextmanager
def fixed_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to `n` for the probe's runs, the user's setting restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_OWN = ("Anomaly Detection has been enabled", "Error detected in")


def _finish(state: RunState) -> None:
    obs = state.obs
    if obs.get("runtime.error") is None:
        obs.set("runtime.error", "none")
    tally = WarningTally()
    for w in state.captured:
        if not any(str(w.message).startswith(o) for o in _OWN):
            tally.add(w.category, w.message, w.filename, w.lineno)
    obs.warnings = tally.entries()
    obs.set("runtime.warning_count", len(obs.warnings))
    if any("target size" in w["message"] and "different to the input size" in w["message"]
           for w in obs.warnings):
        obs.set("wiring.target_shape_mismatch", True)
    obs.details["device"] = describe(state.device) if state.device is not None else None
    obs.details["threads"] = PROBE_THREADS
    obs.details["timings"] = dict(state.clock.timings)
    obs.details["timings"]["total"] = round(sum(state.clock.timings.values()), 3)
