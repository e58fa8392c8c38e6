"""Compare two logged runs (`advisor logs A B`): where and how the second run departs from the
first, and what else differs there.

For each role both runs log (loss, val_loss, lr, grad_norm, val_metric) the two series are put
on ONE grid: bins of equal step width over the steps both runs cover, as many as the sparser
series fills (so a run logged every step compares with one logged every 10th); positive series
(loss, learning rate, gradient norm) as logarithms, so that a difference is a ratio. In each bin
the medians of A and B are compared with the standard error of those medians (robust units as
the facts layer measures them, advisor.facts.logs) and with the level itself: a bin departs when
B is DEPART_Z standard errors AND DEPART_REL of the level away from A. A departure is the first of
SUSTAIN_BINS consecutive bins that depart the same way, never one noisy bin; its step is then
refined inside that bin (where B's points cross half the gap). The departure of the loss (or
any series) is then explained by what else differs at that step: the learning rate ratio, the
gradient norm ratio, a NaN in one run, different logging ranges, the final values.

Sentences say "A" and "B" for the first and the second run; `Comparison` keeps the structured
values for the JSON report. Pure numpy: no torch, no textual.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from advisor.facts.curves import robust_std
from advisor.facts.logs import (
    MAX_BINS,
    POINTS_PER_BIN,
    clean,
    grouped_median,
)
from advisor.logs.run import LoggedRun

COMPARED_ROLES = ("loss", "val_loss", "lr", "grad_norm", "val_metric")
ROLE_NAMES = {"loss": "loss", "val_loss": "validation loss", "lr": "learning rate",
              "grad_norm": "gradient norm", "val_metric": "validation metric"}
FINAL_ROLES = ("loss", "val_loss", "val_metric")   # whose final values a reader wants compared
# what may explain a series' departure: a cause measured at the same step (the learning rate
# is set, not caused, so nothing explains it)
EXPLAINED_BY = {"loss": ("lr", "grad_norm"), "grad_norm": ("lr",),
                "val_loss": ("loss", "lr"), "val_metric": ("loss", "lr"), "lr": ()}

DEPART_Z = 4.0          # a bin departs: B's median this many standard errors from A's ...
DEPART_REL = 0.05       # ... and at least 5 % of the level away (noise-free series: lr)
SUSTAIN_BINS = 3        # a departure: this many consecutive bins departing the same way
MIN_GRID = 24           # a sparse series (validation) still gets this many bins, if it has
#                         the points: a validation loss logged 50 times is not 3 bins
MIN_POINTS = 5          # finite points each run needs in the common range to be compared
END_SHARE = 0.025       # "at the end": the medians over the last 2.5 % of the bins both
END_BINS = 3            # ... runs fill, at least 3
NOISE_FLOOR = 1e-3      # the least noise believed: 0.1 % of the level (a logged lr has none)
LOG_NONPOSITIVE = 0.01  # a positive series may have 1 % of points <= 0 (dropped) on log scale
LOG_RANGE_SLACK = 0.01  # ranges differ when the ends are 1 % of the longer span apart


# ------------------------------------------------------------------ the result
@dataclass
class RoleComparison:
    """One role compared. Steps are logged steps; ratios are B / A (None where a level is not
    positive). `departure_step` None: no departure (or nothing could be compared: `note`)."""

    role: str
    tag_a: str
    tag_b: str
    range_a: tuple[int, int] | None            # first and last logged step, NaN included
    range_b: tuple[int, int] | None
    overlap: tuple[int, int] | None = None      # the finite steps both runs cover
    points_a: int = 0                           # finite points in the overlap
    points_b: int = 0
    bins: int = 0
    bin_width: float = 0.0
    departure_step: int | None = None
    direction: str | None = None                # higher | lower | nonfinite | finite
    ratio_at_departure: float | None = None
    ratio_at_end: float | None = None
    departed_at_end: bool = False               # the last bins still depart the same way
    rejoined_step: int | None = None            # back within noise from here to the end
    nonfinite_a: int | None = None              # first non-finite step of each run
    nonfinite_b: int | None = None
    final_a: float | None = None                # median of the last bins (END_SHARE) ...
    final_b: float | None = None                # ... of the overlap
    lr_ratio_at_departure: float | None = None
    grad_norm_ratio_at_departure: float | None = None
    loss_ratio_at_departure: float | None = None
    lowest_step_a: int | None = None            # validation loss: where each run is lowest
    lowest_step_b: int | None = None
    note: str | None = None                     # why it could not be compared

    @property
    def name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)

    @property
    def compared(self) -> bool:
        return self.note is None


@dataclass
class Comparison:
    """Two runs compared role by role, and the sentences that say it."""

    a_name: str
    b_name: str
    a_path: str
    b_path: str
    a_source: str
    b_source: str
    shared_roles: list[str]
    only_a: list[str]
    only_b: list[str]
    roles: dict[str, RoleComparison] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)

    @property
    def departed(self) -> bool:
        return any(r.departure_step is not None for r in self.roles.values())

    @property
    def first_departure(self) -> RoleComparison | None:
        hits = [r for r in self.roles.values() if r.departure_step is not None]
        return min(hits, key=lambda r: r.departure_step) if hits else None

    def to_dict(self) -> dict:
        first = self.first_departure
        return _plain({
            "a": {"name": self.a_name, "path": self.a_path, "source": self.a_source},
            "b": {"name": self.b_name, "path": self.b_path, "source": self.b_source},
            "shared_roles": self.shared_roles, "only_a": self.only_a, "only_b": self.only_b,
            "departed": self.departed,
            "first_departure": None if first is None else
            {"role": first.role, "step": first.departure_step, "direction": first.direction},
            "roles": {k: {"name": r.name, "compared": r.compared, **asdict(r)}
                      for k, r in self.roles.items()},
            "findings": self.findings,
        })


def _plain(x):
    """JSON-safe: tuples as lists, numpy scalars as Python ones, NaN and inf as None."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


# ------------------------------------------------------------------ one run's side of a role
@dataclass
class _Side:
    steps: np.ndarray        # finite points, one per step, in step order
    values: np.ndarray
    first_nonfinite: int | None
    logged: tuple[int, int]


def _prepare(run: LoggedRun, role: str) -> _Side | None:
    """The role's series cleaned as the facts layer cleans it (last value of a repeated step;
    non-finite values out, the first one remembered; HF's hidden NaN losses out too)."""
    s = run.get(role)
    if s is None or len(s) == 0:
        return None
    c = clean(s)
    steps, x, bad = c.steps, c.values, c.first_nonfinite
    if role == "loss" and run.hidden_nan_steps:
        hidden = np.asarray(run.hidden_nan_steps, dtype=np.int64)
        keep = ~np.isin(steps, hidden)
        steps, x = steps[keep], x[keep]
        bad = int(hidden.min()) if bad is None else min(bad, int(hidden.min()))
    return _Side(steps, x, bad, (int(s.steps[0]), int(s.steps[-1])))


def finite_points(run: LoggedRun, role: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The role's finite (step, value) points as the comparison reads them (for plots)."""
    side = _prepare(run, role)
    return None if side is None else (side.steps, side.values)


def _on_log_scale(a: _Side, b: _Side) -> bool:
    """Positive series (loss, learning rate, gradient norm) are compared as logarithms: a
    difference is then a ratio, and the noise of a rate decayed to 1e-7 is measured against
    1e-7, not against the rate's peak. A few non-positive points (a warmup from 0) are
    dropped; more than LOG_NONPOSITIVE of them keep the linear scale."""
    return all(len(s.values) and np.mean(s.values <= 0) <= LOG_NONPOSITIVE for s in (a, b))


def _scaled(side: _Side, log: bool) -> _Side:
    if not log:
        return side
    pos = side.values > 0
    return _Side(side.steps[pos], np.log(side.values[pos]), side.first_nonfinite, side.logged)


# ------------------------------------------------------------------ the common grid
@dataclass
class _Grid:
    lo: int
    width: float
    level_a: np.ndarray
    level_b: np.ndarray
    sign: np.ndarray         # +1 / -1 where the bin departs, 0 where not
    both: np.ndarray         # indices of the bins both runs fill, in order
    diff: np.ndarray

    def start(self, k: int) -> int:
        return int(math.ceil(self.lo + k * self.width))


def _window(side: _Side, lo: float, hi: float) -> slice:
    """The run's points with lo <= step <= hi."""
    return slice(int(np.searchsorted(side.steps, lo, side="left")),
                 int(np.searchsorted(side.steps, hi, side="right")))


def _binned(side: _Side, sl: slice, lo: int, span: int, n: int, floor: float):
    """One run on the grid: each bin's median, the standard error of that median (1.2533
    sigma / sqrt(n), sigma = 1.4826 MAD in the bin, as advisor.facts.logs.bin_series measures
    it) and its point count. A bin of under 5 points borrows the median noise of the solid
    ones; a series with no solid bin (validation every epoch) the scatter of its successive
    differences, which a trend hardly inflates. `floor`: the smallest noise believed."""
    steps, x = side.steps[sl], side.values[sl]
    of = np.zeros(len(steps), dtype=np.int64) if span <= 0 else \
        np.minimum(((steps - lo) / span * n).astype(np.int64), n - 1)
    count = np.bincount(of, minlength=n)
    level = grouped_median(x, of, n)
    sigma = 1.4826 * grouped_median(np.abs(x - level[of]), of, n)
    solid = count >= 5
    if solid.any():
        typical = float(np.median(sigma[solid]))
    else:
        typical = robust_std(np.diff(x)) / math.sqrt(2) if len(x) > 2 else 0.0
    sigma = np.maximum(np.where(solid, sigma, typical), floor)
    return level, 1.2533 * sigma / np.sqrt(np.maximum(count, 1)), count


def _grid(a: _Side, b: _Side, lo: int, hi: int, log: bool) -> tuple[_Grid, int, int]:
    """Both series binned on one grid of equal step width over [lo, hi], as many bins as the
    sparser series fills; each bin's sign says whether B's median departs from A's beyond the
    noise of both and DEPART_REL of the level."""
    sa, sb = _window(a, lo, hi), _window(b, lo, hi)
    na, nb = sa.stop - sa.start, sb.stop - sb.start
    sparse = min(na, nb)
    n = int(min(MAX_BINS, max(sparse // POINTS_PER_BIN, min(sparse, MIN_GRID))))
    span = hi - lo
    if span <= 0:
        n = 1
    floor = NOISE_FLOOR if log else NOISE_FLOOR * float(
        np.median(np.abs(np.r_[a.values[sa], b.values[sb]]))) + 1e-12
    la, ea, ca = _binned(a, sa, lo, span, n, floor)
    lb, eb, cb = _binned(b, sb, lo, span, n, floor)
    diff = lb - la
    if log:
        big = np.abs(diff) > math.log1p(DEPART_REL)
    else:
        big = np.abs(diff) > DEPART_REL * np.maximum(np.abs(la), np.abs(lb))
    with np.errstate(invalid="ignore"):
        beyond = big & (np.abs(diff) > DEPART_Z * np.hypot(ea, eb))
    both = np.flatnonzero((ca > 0) & (cb > 0))
    sign = np.zeros(n, dtype=np.int64)
    sign[both] = np.where(beyond[both], np.sign(diff[both]), 0).astype(np.int64)
    return _Grid(lo, span / n if span > 0 else 1.0, la, lb, sign, both, diff), na, nb


def _first_sustained(signs: np.ndarray, k: int) -> int | None:
    """Index of the first run of k equal non-zero signs."""
    if len(signs) < k:
        return None
    win = np.lib.stride_tricks.sliding_window_view(signs, k)
    hit = np.flatnonzero((win[:, 0] != 0) & np.all(win == win[:, :1], axis=1))
    return int(hit[0]) if len(hit) else None


def _refine(a: _Side, b: _Side, lo: float, hi: float, sign: int, gap: float) -> int | None:
    """The step inside [lo, hi] where the departure begins: the denser run's points compared
    with the other run (interpolated), each marked when it lies beyond half the gap in the
    departure's direction; the split maximising marked-after minus unmarked-after wins (a
    step change is found at its step, a drift where it crosses half its size)."""
    sa, sb = _window(a, lo, hi), _window(b, lo, hi)
    dense, other, s = (b, a, sign) if sb.stop - sb.start >= sa.stop - sa.start else (a, b, -sign)
    sl = sb if dense is b else sa
    steps = dense.steps[sl]
    if len(steps) == 0 or len(other.steps) == 0:
        return None
    ref = np.interp(steps, other.steps, other.values)
    marked = s * (dense.values[sl] - ref) > 0.5 * abs(gap)
    score = np.cumsum((2 * marked.astype(np.int64) - 1)[::-1])[::-1]
    return int(steps[int(np.argmax(score))])


def _ratio(b: float | None, a: float | None) -> float | None:
    if a is None or b is None or not (a > 0 and b > 0):
        return None
    return float(b / a)


def _level_near(side: _Side, step: int, width: float) -> float | None:
    """The median of a run's points in [step, step + width] (the departure's bin), else its
    last point at or before the step."""
    sl = _window(side, step, step + max(width, 1.0))
    if sl.stop > sl.start:
        return float(np.median(side.values[sl]))
    i = int(np.searchsorted(side.steps, step, side="right")) - 1
    return float(side.values[i]) if i >= 0 else None


def _lowest_step(side: _Side, g: _Grid, level: np.ndarray) -> int:
    """The logged step where a run's series is lowest: in the grid bin of the lowest median,
    the point closest to that median (one noisy low point does not decide it)."""
    k = int(g.both[np.argmin(level[g.both])])
    sl = _window(side, g.start(k), g.start(k + 1) - 1)
    near = int(np.argmin(np.abs(side.values[sl] - level[k])))
    return int(side.steps[sl][near])


# ------------------------------------------------------------------ one role
def compare_role(role: str, a: LoggedRun, b: LoggedRun,
                 sides: tuple[_Side | None, _Side | None] | None = None) -> RoleComparison:
    """The role's series of both runs compared on one grid (see the module's docstring).
    `sides`: the two series already prepared (compare_runs prepares each once)."""
    sa, sb = sides if sides is not None else (_prepare(a, role), _prepare(b, role))
    rc = RoleComparison(role, a.roles.get(role, ""), b.roles.get(role, ""),
                        sa.logged if sa else None, sb.logged if sb else None)
    if sa is None or sb is None:
        rc.note = f"{'A' if sa is None else 'B'} logs no {rc.name} values"
        return rc
    rc.nonfinite_a, rc.nonfinite_b = sa.first_nonfinite, sb.first_nonfinite
    nonfinite = _nonfinite_departure(sa, sb)
    log = _on_log_scale(sa, sb)
    sa, sb = _scaled(sa, log), _scaled(sb, log)
    if len(sa.steps) == 0 or len(sb.steps) == 0:
        rc.note = f"{'A' if len(sa.steps) == 0 else 'B'} logs no finite {rc.name} value"
        _set_departure(rc, nonfinite)
        return rc
    lo, hi = max(int(sa.steps[0]), int(sb.steps[0])), min(int(sa.steps[-1]), int(sb.steps[-1]))
    if lo > hi:
        rc.note = (f"the runs log {rc.name} over steps that do not overlap "
                   f"(A: {_steps(sa.steps[0], sa.steps[-1])}, "
                   f"B: {_steps(sb.steps[0], sb.steps[-1])})")
        return rc
    rc.overlap = (lo, hi)
    g, rc.points_a, rc.points_b = _grid(sa, sb, lo, hi, log)
    rc.bins, rc.bin_width = len(g.sign), float(g.width)
    if min(rc.points_a, rc.points_b) < MIN_POINTS or len(g.both) < 2:
        rc.note = (f"too few {rc.name} points over the steps both runs log "
                   f"(A: {rc.points_a}, B: {rc.points_b}; {MIN_POINTS} needed)")
        _set_departure(rc, nonfinite)
        return rc
    raw = np.exp if log else (lambda v: v)
    tail = g.both[-min(max(END_BINS, int(END_SHARE * len(g.both))), len(g.both)):]
    rc.final_a = float(raw(np.median(g.level_a[tail])))
    rc.final_b = float(raw(np.median(g.level_b[tail])))
    rc.ratio_at_end = _ratio(rc.final_b, rc.final_a)
    if role == "val_loss":   # where each run's validation loss is lowest, on the grid
        rc.lowest_step_a = _lowest_step(sa, g, g.level_a)
        rc.lowest_step_b = _lowest_step(sb, g, g.level_b)
    signs = g.sign[g.both]
    k = min(SUSTAIN_BINS, len(g.both))
    first = _first_sustained(signs, k)
    found = None
    if first is not None:
        sign = int(signs[first])
        bin0 = int(g.both[first])
        gap = float(np.median(g.diff[g.both[first: first + k]]))
        prev = int(g.both[first - 1]) if first > 0 else bin0
        at = _refine(sa, sb, g.start(prev), g.start(bin0 + 1) - 1, sign, gap)
        step = g.start(bin0) if at is None else at
        rc.ratio_at_departure = _ratio(float(raw(g.level_b[bin0])), float(raw(g.level_a[bin0])))
        # at the end B may still depart, either way: a run that fell below A first may end
        # above it (a higher rate: faster at first, a higher floor later)
        rc.departed_at_end = bool(signs[-1] != 0 and np.all(signs[-k:] == signs[-1]))
        if not rc.departed_at_end:
            last = first + int(np.flatnonzero(signs[first:] == sign)[-1])
            if last + 1 < len(g.both):
                rc.rejoined_step = g.start(int(g.both[last + 1]))
        found = (step, "higher" if sign > 0 else "lower")
    if nonfinite is not None and (found is None or nonfinite[0] < found[0]):
        found = nonfinite
    _set_departure(rc, found)
    return rc


def _nonfinite_departure(a: _Side, b: _Side) -> tuple[int, str] | None:
    """B turns non-finite where A is still finite (or the reverse), inside the other's range."""
    fa, fb = a.first_nonfinite, b.first_nonfinite
    if fb is not None and (fa is None or fb < fa) and a.logged[1] >= fb:
        return fb, "nonfinite"
    if fa is not None and (fb is None or fa < fb) and b.logged[1] >= fa:
        return fa, "finite"
    return None


def _set_departure(rc: RoleComparison, found: tuple[int, str] | None) -> None:
    if found is not None:
        rc.departure_step, rc.direction = int(found[0]), found[1]


def _context(rc: RoleComparison, sides: dict[str, tuple[_Side | None, _Side | None]]) -> None:
    """The other roles' B/A ratios at this role's departure, measured over its bin."""
    if rc.departure_step is None:
        return
    width = rc.bin_width or 1.0
    for role, attr in (("lr", "lr_ratio_at_departure"),
                       ("grad_norm", "grad_norm_ratio_at_departure"),
                       ("loss", "loss_ratio_at_departure")):
        if role == rc.role or role not in sides:
            continue
        sa, sb = sides[role]
        if sa is None or sb is None or not len(sa.steps) or not len(sb.steps):
            continue
        setattr(rc, attr, _ratio(_level_near(sb, rc.departure_step, width),
                                 _level_near(sa, rc.departure_step, width)))


# ------------------------------------------------------------------ the comparison
def compare_runs(a: LoggedRun, b: LoggedRun) -> Comparison:
    """Where and how B departs from A, role by role, with the sentences that explain it."""
    has_a = [r for r in COMPARED_ROLES if a.get(r) is not None]
    has_b = [r for r in COMPARED_ROLES if b.get(r) is not None]
    shared = [r for r in COMPARED_ROLES if r in has_a and r in has_b]
    c = Comparison(a.name, b.name, a.path, b.path, a.source, b.source, shared,
                   [r for r in has_a if r not in shared], [r for r in has_b if r not in shared])
    sides = {role: (_prepare(a, role), _prepare(b, role)) for role in shared}
    for role in shared:
        c.roles[role] = compare_role(role, a, b, sides[role])
    for rc in c.roles.values():
        _context(rc, sides)
    c.findings = findings(c, a, b)
    return c


# ------------------------------------------------------------------ the sentences
def _steps(lo: int, hi: int) -> str:
    return f"{int(lo):,}\u2013{int(hi):,}"


def ratio_text(r: float) -> str:
    """B / A as words: "12 % lower", "1.8x higher", "10x lower"."""
    if r >= 1.5:
        return f"{r:.2g}x higher"
    if r <= 1 / 1.5:
        return f"{1 / r:.2g}x lower"
    pct = abs(r - 1) * 100
    if pct < 0.5:
        return "the same"
    return f"{pct:.0f} % {'higher' if r > 1 else 'lower'}"


def _value(v: float | None) -> str:
    return "?" if v is None else f"{v:.4g}"


def findings(c: Comparison, a: LoggedRun, b: LoggedRun) -> list[str]:
    """The sentences: departures first (the loss's, then by step), then agreements, then what
    the logs themselves differ in (NaN, ranges, roles only one run logs), then final values."""
    if not c.shared_roles:
        return [_no_shared(a, b)]
    out: list[str] = []
    departed = sorted((r for r in c.roles.values() if r.departure_step is not None),
                      key=lambda r: (r.role != "loss", r.departure_step))
    out += [_departure_sentence(r, c) for r in departed]
    agreed = [r for r in c.roles.values() if r.compared and r.departure_step is None]
    if not departed and agreed and all(r.compared for r in c.roles.values()):
        lo = min(r.overlap[0] for r in agreed)
        hi = max(r.overlap[1] for r in agreed)
        out.append(f"No departure: B follows A within noise on every series both log "
                   f"({', '.join(r.name for r in agreed)}) over steps {_steps(lo, hi)}.")
    else:
        out += [f"The runs agree on {r.name} within noise up to step {r.overlap[1]:,}."
                for r in agreed]
    out += [f"{r.name[0].upper()}{r.name[1:]} cannot be compared: {r.note}."
            for r in c.roles.values() if not r.compared]
    out += _nonfinite_sentences(c)
    out += _range_sentences(c)
    if c.only_a or c.only_b:
        parts = [f"only {w} logs {', '.join(ROLE_NAMES[r] for r in rs)}"
                 for w, rs in (("A", c.only_a), ("B", c.only_b)) if rs]
        text = "; ".join(parts) + " (not compared)."
        out.append(text[0].upper() + text[1:])
    out += [s for r in c.roles.values() if r.role in FINAL_ROLES
            for s in [_final_sentence(r)] if s]
    return out


def _no_shared(a: LoggedRun, b: LoggedRun) -> str:
    def has(run: LoggedRun) -> str:
        roles = [ROLE_NAMES[r] for r in COMPARED_ROLES if run.get(r) is not None]
        return ", ".join(roles) if roles else "none of them (tags: " + \
            (", ".join(run.tags[:8]) or "none") + ")"
    return (f"Nothing to compare: the runs share no series among loss, validation loss, "
            f"learning rate, gradient norm and validation metric (A logs {has(a)}; B logs "
            f"{has(b)}). Map the tags with --map role=tag.")


def _departure_sentence(r: RoleComparison, c: Comparison) -> str:
    step = f"{r.departure_step:,}"
    if r.direction == "nonfinite":
        head = f"B's {r.name} turns NaN/inf at step {step}, where A's is still finite"
    elif r.direction == "finite":
        head = f"A's {r.name} turns NaN/inf at step {step}; B's stays finite there"
    else:
        how = r.direction or ""
        crossed = r.departed_at_end and r.final_a is not None and r.final_b is not None and \
            (r.final_b > r.final_a) != (r.direction == "higher")
        if crossed:
            how += " at first"
        if r.ratio_at_end is not None and r.departed_at_end:
            how += f", {r.ratio_at_end:.2g}x A's by the end"
        elif r.departed_at_end and r.final_a is not None and r.final_b is not None:
            how += f", {r.final_b - r.final_a:+.3g} by the end"   # a level not positive
        elif r.rejoined_step is not None:
            how += f", back within noise from step {r.rejoined_step:,}"
        head = f"B's {r.name} departs from A's at step {step} ({how})"
    why = _explanation(r, c)
    tail = ""
    if r.direction in ("higher", "lower") and r.nonfinite_b is not None and \
            (r.nonfinite_a is None or r.nonfinite_b < r.nonfinite_a):
        tail = f"; it turns NaN/inf at step {r.nonfinite_b:,}"
    if r.role == "val_loss" and r.direction == "higher":
        tail += _overfit_clause(r)
    return head + why + tail + "."


def _explanation(r: RoleComparison, c: Comparison) -> str:
    """What differs at the departure, among the series that can cause it (EXPLAINED_BY): the
    learning rate and the gradient norm when their own comparison departed by then (or is
    NaN), the training loss for a validation series (its ratio there, departed or not)."""
    reach = r.departure_step + max(r.bin_width, 1.0)
    said: list[str] = []
    causes = EXPLAINED_BY.get(r.role, ())
    for role in causes:
        other = c.roles.get(role)
        if other is None:
            continue
        ratio = getattr(r, f"{role}_ratio_at_departure")
        if role == "loss":
            if ratio is not None:
                said.append(f"its training loss is {ratio_text(ratio)}"
                            .replace("is the same", "is the same as A's"))
            continue
        if other.departure_step is None or other.departure_step > reach:
            continue
        if other.direction in ("nonfinite", "finite"):
            who = "B's" if other.direction == "nonfinite" else "A's"
            said.append(f"{who} {other.name} is NaN/inf from step {other.departure_step:,}")
            continue
        if ratio is None or ratio_text(ratio) == "the same":
            continue
        since = f" (from step {other.departure_step:,})" \
            if other.departure_step < r.departure_step else ""
        said.append(f"its {other.name} is {ratio_text(ratio)}{since}")
    if said:   # "..., where A's is still finite" already used "where"
        joined = " and ".join(said)
        return f"; there {joined}" if r.direction in ("nonfinite", "finite") else \
            f", where {joined}"
    quiet = [c.roles[o].name for o in causes if o in c.roles and c.roles[o].compared
             and (c.roles[o].departure_step is None or c.roles[o].departure_step > reach)]
    if quiet:
        return (f", while the runs still agree on {' and '.join(quiet)} there "
                "(the cause is something these logs do not show)")
    return ""


def _overfit_clause(r: RoleComparison) -> str:
    """Where each run's validation loss is lowest; "B overfits earlier" when B's is lowest
    clearly earlier and its training loss is no higher than A's at the departure."""
    la, lb = r.lowest_step_a, r.lowest_step_b
    if la is None or lb is None or r.overlap is None:
        return ""
    width = max(r.bin_width, 1.0)
    earlier = lb < la - width and (r.loss_ratio_at_departure is None or
                                   r.loss_ratio_at_departure <= 1 + DEPART_REL)

    def where(step: int) -> str:
        if step >= r.overlap[1] - width:
            return f"keeps falling to step {step:,}"
        return f"is lowest at step {step:,}"

    text = f"; B's validation loss {where(lb)}, A's {where(la)}"
    return text + (" (B overfits earlier)" if earlier else "")


def _nonfinite_sentences(c: Comparison) -> list[str]:
    """NaN in a role that the departure sentences did not already name."""
    out = []
    for r in c.roles.values():
        said = r.direction in ("nonfinite", "finite") or (
            r.direction in ("higher", "lower") and r.nonfinite_b is not None
            and (r.nonfinite_a is None or r.nonfinite_b < r.nonfinite_a))
        if said:
            continue
        if r.nonfinite_a is not None and r.nonfinite_a == r.nonfinite_b:
            out.append(f"The {r.name} of both runs turns NaN/inf at step {r.nonfinite_a:,}.")
        else:
            out += [f"{who}'s {r.name} turns NaN/inf at step {s:,}."
                    for who, s in (("A", r.nonfinite_a), ("B", r.nonfinite_b)) if s is not None]
    return out


def _range_sentences(c: Comparison) -> list[str]:
    """Different logging ranges of the main series (the loss, else the first shared one): a
    run that stopped earlier, or started later (resumed from a checkpoint)."""
    main = c.roles.get("loss") or next(iter(c.roles.values()))
    if main.range_a is None or main.range_b is None:
        return []
    (a0, a1), (b0, b1) = main.range_a, main.range_b
    slack = LOG_RANGE_SLACK * max(a1 - a0, b1 - b0, 1)
    out = []
    if abs(b0 - a0) > slack:
        later = "B" if b0 > a0 else "A"
        out.append(f"{later} starts logging {main.name} at step {max(a0, b0):,}, the other "
                   f"at step {min(a0, b0):,} ({later} resumed from a checkpoint, or logs "
                   "from a later step).")
    if abs(b1 - a1) > slack:
        early = "B" if b1 < a1 else "A"
        out.append(f"{early} stops logging {main.name} at step {min(a1, b1):,}, "
                   f"{abs(b1 - a1):,} steps before the other ({max(a1, b1):,}).")
    return out


def _final_sentence(r: RoleComparison) -> str | None:
    """B's final value against A's: at the end both reach, else at the last common step. Only
    said when the runs departed (an agreement is said already)."""
    if r.final_a is None or r.final_b is None or r.overlap is None or \
            r.direction not in ("higher", "lower"):
        return None
    values = f"{_value(r.final_b)} vs {_value(r.final_a)}"
    same_end = r.range_a is not None and r.range_b is not None and \
        abs(r.range_a[1] - r.range_b[1]) <= max(r.bin_width, 1.0)
    where = "ends with" if same_end else f"has at step {r.overlap[1]:,}, the last step both log,"
    if r.nonfinite_a is not None or r.nonfinite_b is not None:
        return None   # the NaN was said; the last finite values compare nothing
    if not r.departed_at_end:
        if r.rejoined_step is None:
            return None   # the end is neither departed for good nor back within noise
        return f"B {where} a {r.name} within noise of A's ({values})."
    if r.ratio_at_end is None:
        how = "higher" if r.final_b > r.final_a else "lower"
        return f"B {where} a {how} {r.name} than A ({values})."
    return f"B {where} a {ratio_text(r.ratio_at_end)} {r.name} than A ({values})."
