"""The data, read once before training: input statistics, targets against the task, class
balance, outliers, whether consecutive batches mix labels, and train vs validation.

Everything is measured on what a training loop would actually receive (the batches, in order),
and judged against the data itself: sampling noise is estimated from the same data, so small
validation sets or short scans do not read as shifts or sorting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from advisor.probing.batches import BatchStream, first_tensor, forward, leading_size, split_pair
from advisor.probing.collectors.loss import TaskInfo
from advisor.probing.facts import Observations

KNN_SAMPLES = 2000
KNN_DIMS = 512
MAX_TARGET_VALUES = 400_000


@dataclass
class FeatureStats:
    """Per-feature mean, std, min and max, accumulated batch by batch (shifted sums in float64)."""

    shift: np.ndarray | None = None
    n: int = 0
    s1: np.ndarray | None = None
    s2: np.ndarray | None = None
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    def add(self, rows: np.ndarray) -> None:
        rows = rows.astype(np.float64, copy=False)
        if rows.size == 0:
            return
        if self.shift is None:
            self.shift = rows.mean(0)
            self.s1 = np.zeros(rows.shape[1])
            self.s2 = np.zeros(rows.shape[1])
            self.lo, self.hi = rows.min(0), rows.max(0)
        if rows.shape[1] != len(self.shift):
            return
        d = rows - self.shift
        self.n += len(rows)
        self.s1 += d.sum(0)
        self.s2 += (d * d).sum(0)
        self.lo = np.minimum(self.lo, rows.min(0))
        self.hi = np.maximum(self.hi, rows.max(0))

    @property
    def mean(self) -> np.ndarray:
        return self.shift + self.s1 / max(self.n, 1)

    @property
    def std(self) -> np.ndarray:
        m = self.s1 / max(self.n, 1)
        return np.sqrt(np.maximum(self.s2 / max(self.n, 1) - m * m, 0.0))

    @property
    def constant(self) -> np.ndarray:
        return self.hi == self.lo


def feature_rows(x: torch.Tensor, layout: str) -> np.ndarray:
    """Rows = observations, columns = features: columns of a table, channels of an image
    ('channel' layout: dim 1), or the last dim of a sequence ('last')."""
    x = x.detach().to("cpu", torch.float64)
    if x.dim() <= 1:
        return x.reshape(-1, 1).numpy()
    if x.dim() == 2:
        return x.numpy()
    dim = 1 if layout == "channel" else x.dim() - 1
    return x.movedim(dim, -1).reshape(-1, x.shape[dim]).numpy()


@dataclass
class DataScan:
    """What one pass over (part of) the data found."""

    batches: int = 0
    samples: int = 0
    batch_size: int | None = None
    complete: bool = False                 # the scan read a whole epoch
    dataset_len: int | None = None
    targets: list[torch.Tensor] = field(default_factory=list)   # per batch, on CPU
    stats: dict[str, FeatureStats] = field(default_factory=dict)  # layout -> stats
    input_ndim: int | None = None
    input_integer: bool = False
    input_nonfinite: bool = False
    knn_x: list[np.ndarray] = field(default_factory=list)
    knn_y: list[np.ndarray] = field(default_factory=list)
    knn_seen: int = 0
    hashes: dict[int, set] = field(default_factory=dict)
    reservoir: list[Any] = field(default_factory=list)
    first_batch: Any = None
    global_targets: torch.Tensor | None = None
    seconds: float = 0.0

    def all_targets(self) -> torch.Tensor | None:
        if not self.targets:
            return None
        try:
            return torch.cat([t.reshape(len(t), -1) if t.dim() > 1 else t.reshape(-1)
                              for t in self.targets])
        except RuntimeError:
            return self.targets[0]


def scan(data: Iterable[Any] | BatchStream, *, step: Callable[..., Any] | None = None,
         model: torch.nn.Module | None = None, max_samples: int = 20000,
         max_batches: int = 2000, seconds: float = 5.0, keep: int = 8,
         rng: np.random.Generator | None = None) -> DataScan:
    """Read batches in loader order until an epoch ends or a limit is reached."""
    rng = rng or np.random.default_rng(0)
    stream = data if isinstance(data, BatchStream) else BatchStream(data)
    out = DataScan(dataset_len=_dataset_len(stream.data))
    start = time.perf_counter()
    it = stream.epoch()
    exhausted = False
    while out.batches < max_batches and out.samples < max_samples \
            and time.perf_counter() - start < seconds:
        try:
            batch = next(it)
        except StopIteration:
            exhausted = True
            break
        if out.first_batch is None:
            out.first_batch = batch
        _read_batch(out, batch, step, model, rng)
        _reservoir(out, batch, keep, rng)
    out.complete = exhausted or bool(out.dataset_len and out.samples >= out.dataset_len)
    out.seconds = time.perf_counter() - start
    if not out.complete:
        out.global_targets = dataset_targets(stream.data)
    return out


def _read_batch(out: DataScan, batch: Any, step: Callable[..., Any] | None,
                model: torch.nn.Module | None, rng: np.random.Generator) -> None:
    if step is None:
        inputs, targets = split_pair(batch)
    else:
        inputs = first_tensor(batch)
        with torch.no_grad():
            targets = forward(model, batch, step)[1] if model is not None else None
    n = leading_size(batch) if step is not None else leading_size(targets)
    n = n or 1
    out.batches += 1
    out.samples += n
    if out.batch_size is None:
        out.batch_size = n
    t = _as_tensor(targets)
    if t is not None and sum(x.numel() for x in out.targets) < MAX_TARGET_VALUES:
        out.targets.append(t.detach().cpu())
    x = first_tensor(inputs)
    if x is None:
        return
    out.input_ndim = x.dim()
    if not torch.is_floating_point(x):
        out.input_integer = True
        return
    if not bool(torch.isfinite(x).all()):
        out.input_nonfinite = True
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    layouts = ("channel", "last") if x.dim() == 3 else ("channel",)
    for layout in layouts:
        out.stats.setdefault(layout, FeatureStats()).add(feature_rows(x, layout))
    if t is not None and x.dim() >= 1 and len(x) == len(t):
        _knn_sample(out, x, t, rng)


def _as_tensor(targets: Any) -> torch.Tensor | None:
    if isinstance(targets, torch.Tensor):
        return targets
    try:
        return torch.as_tensor(targets)
    except (TypeError, ValueError, RuntimeError):
        return None


def _knn_sample(out: DataScan, x: torch.Tensor, t: torch.Tensor,
                rng: np.random.Generator) -> None:
    """A uniform sample of (input, target) rows over the whole scan (reservoir sampling), and
    a hash of every input to find identical inputs with different labels."""
    flat = x.detach().reshape(len(x), -1).to("cpu", torch.float32)
    if flat.shape[1] > KNN_DIMS:  # a fixed random projection keeps distances roughly
        g = torch.Generator().manual_seed(1234)
        proj = torch.randn(flat.shape[1], KNN_DIMS, generator=g) / math.sqrt(KNN_DIMS)
        flat_p = flat @ proj
    else:
        flat_p = flat
    xs, ts = flat_p.numpy(), t.detach().reshape(len(t), -1).cpu().numpy()
    if t.dim() <= 1 or t[0].numel() == 1:
        keys = ts.reshape(-1)
        raw = flat.numpy()
        for i in range(len(raw)):
            h = hash(raw[i].tobytes())
            out.hashes.setdefault(h, set()).add(float(keys[i]))
    for i in range(len(xs)):
        out.knn_seen += 1
        if len(out.knn_x) < KNN_SAMPLES:
            out.knn_x.append(xs[i])
            out.knn_y.append(ts[i])
        else:
            j = int(rng.integers(0, out.knn_seen))
            if j < KNN_SAMPLES:
                out.knn_x[j], out.knn_y[j] = xs[i], ts[i]


def _reservoir(out: DataScan, batch: Any, keep: int, rng: np.random.Generator) -> None:
    """A uniform sample of whole batches, for end-of-run losses on the training data."""
    if len(out.reservoir) < keep:
        out.reservoir.append(batch)
        return
    j = int(rng.integers(0, out.batches))
    if j < keep:
        out.reservoir[j] = batch


def _dataset_len(data: Any) -> int | None:
    ds = getattr(data, "dataset", None)
    for obj in (ds, data):
        try:
            if obj is not None and not isinstance(obj, torch.Tensor):
                n = len(obj)  # type: ignore[arg-type]
                if obj is data and getattr(data, "batch_size", None) is None \
                        and not hasattr(data, "dataset"):
                    return None  # a list of batches: its length counts batches
                return int(n)
        except TypeError:
            continue
    return None


def dataset_targets(data: Any) -> torch.Tensor | None:
    """All labels of a DataLoader's dataset when they are stored as an attribute (cheap).

    A partial scan of data sorted by class sees one class only; the dataset's own label array
    gives the true class distribution to compare the batches with."""
    ds = getattr(data, "dataset", None)
    indices = None
    while ds is not None and hasattr(ds, "indices") and hasattr(ds, "dataset"):  # Subset
        idx = torch.as_tensor(list(ds.indices))
        indices = idx if indices is None else idx[indices]
        ds = ds.dataset
    if ds is None:
        return None
    t = None
    if hasattr(ds, "tensors") and len(ds.tensors) >= 2:
        t = ds.tensors[-1]
    else:
        for attr in ("targets", "labels", "y"):
            v = getattr(ds, attr, None)
            if v is not None:
                t = _as_tensor(v)
                break
    if t is None:
        return None
    return t[indices] if indices is not None else t


# ----------------------------------------------------------------------------- judgements
def observe_data(scan_: DataScan, task: TaskInfo, param_count: int | None,
                 obs: Observations, input_layout: str = "last") -> None:
    """Facts about the training data, judged against the task."""
    n = scan_.dataset_len or (scan_.samples if scan_.complete else None) or scan_.samples
    obs.set("data.num_samples", int(n))
    obs.set("data.batch_size", scan_.batch_size)
    if param_count:
        obs.set("data.samples_per_param", n / param_count)
    obs.details["data_scan"] = {"batches": scan_.batches, "samples": scan_.samples,
                                "complete_epoch": scan_.complete,
                                "seconds": round(scan_.seconds, 3)}
    input_facts(scan_, obs, input_layout)
    targets = scan_.all_targets()
    if targets is None:
        return
    if task.classification:
        _class_facts(scan_, targets, task, obs)
    else:
        _regression_facts(targets, obs)
    order = order_correlation(scan_, task)
    if order is not None:
        obs.set("data.order_correlation", order)
    obs.set("data.labels_constant", bool(_constant(targets)))


def input_facts(scan_: DataScan, obs: Observations, layout: str) -> None:
    """Per-feature input statistics: largest |mean|, largest std, smallest non-zero std."""
    if scan_.input_nonfinite:
        obs.note("The training inputs contain NaN or Inf values.")
        obs.details["input_nonfinite"] = True
    stats = scan_.stats.get(layout) or scan_.stats.get("channel")
    if stats is None or stats.n == 0:
        return
    mean, std = stats.mean, stats.std
    varying = ~stats.constant
    obs.set("data.input_max_abs_mean", float(np.abs(mean).max()))
    obs.set("data.input_max_std", float(std.max()))
    if varying.any():
        obs.set("data.input_min_std", float(std[varying].min()))
    obs.details["input_features"] = {"count": int(len(mean)),
                                     "constant": int((~varying).sum()),
                                     "min": float(stats.lo.min()), "max": float(stats.hi.max())}


def _class_labels(targets: torch.Tensor, task: TaskInfo) -> np.ndarray | None:
    """Class index per sample (one-hot rows become their argmax); None for multilabel."""
    if task.kind == "multilabel":
        return None
    t = targets.detach().cpu()
    if t.dim() >= 2 and t.shape[1] > 1 and not task.class_indices:
        return t.float().argmax(1).numpy()
    flat = t.reshape(-1).float()
    if task.kind == "binary" and not task.class_indices:
        flat = (flat > 0.5).float()
    flat = flat[flat != task.ignore_index]
    return flat.round().long().numpy()


def _class_facts(scan_: DataScan, targets: torch.Tensor, task: TaskInfo,
                 obs: Observations) -> None:
    obs.set("task.num_classes", task.num_classes)
    obs.set("data.label_out_of_range", label_out_of_range(targets, task))
    labels = _class_labels(targets, task)
    if task.kind == "multilabel":
        pos = targets.reshape(len(targets), -1).float().sum(0).numpy()
        pos = pos[pos > 0]
        if len(pos) >= 2:
            obs.set("data.class_imbalance_ratio", float(pos.max() / pos.min()))
    elif labels is not None and len(labels):
        reference = _global_labels(scan_, task)
        ref = reference if reference is not None and len(reference) else labels
        counts = np.bincount(ref - ref.min())
        counts = counts[counts > 0]
        if len(counts) >= 2:
            obs.set("data.class_imbalance_ratio", float(counts.max() / counts.min()))
        obs.details["class_counts"] = counts.tolist()[:100]
    inconsistent, why = labels_inconsistent(scan_, targets, task)
    if inconsistent is not None:
        obs.set("data.labels_inconsistent", inconsistent[0], cf=inconsistent[1])
        if why:
            obs.details["labels_inconsistent"] = why
    mismatch = output_class_mismatch(task, scan_)
    if mismatch is not None:
        obs.set("model.output_class_mismatch", mismatch)


def label_out_of_range(targets: torch.Tensor, task: TaskInfo) -> bool:
    """A class index outside [0, outputs) or a binary/multilabel target outside [0, 1]."""
    t = targets.detach().float()
    if task.class_indices and task.output_size:
        t = t[t != task.ignore_index]
        if task.loss in ("bce", "bce_with_logits") or task.output_size == 1:
            return bool(((t < 0) | (t > 1)).any())
        return bool(((t < 0) | (t >= task.output_size)).any())
    if task.kind in ("binary", "multilabel"):
        return bool(((t < 0) | (t > 1)).any())
    return False


def output_class_mismatch(task: TaskInfo, scan_: DataScan) -> bool | None:
    """Classes in the targets exceed the outputs, or the outputs are not the classes."""
    out = task.output_size
    if out is None:
        return None
    if task.kind == "multiclass" and task.class_indices:
        if task.max_label is None:
            return None
        classes = task.max_label + 1
        if classes > out:
            return True
        # fewer classes than outputs: only when enough samples were seen to trust it
        enough = scan_.complete or scan_.samples >= 20 * out
        return bool(classes < out and enough and (task.num_classes or 0) == classes)
    if task.kind == "binary":
        return bool(out != 1 and not (out == 2 and task.loss in ("cross_entropy", "nll")))
    if task.kind == "multilabel" or (task.kind == "multiclass" and not task.class_indices):
        return bool(task.num_classes is not None and out != task.num_classes)
    return None


def _global_labels(scan_: DataScan, task: TaskInfo) -> np.ndarray | None:
    if scan_.complete or scan_.global_targets is None:
        return None
    try:
        return _class_labels(scan_.global_targets, task)
    except (RuntimeError, ValueError, TypeError):
        return None


def _regression_facts(targets: torch.Tensor, obs: Observations) -> None:
    y = targets.detach().to("cpu", torch.float64).reshape(len(targets), -1).numpy()
    fractions = [robust_outlier_fraction(y[:, j]) for j in range(y.shape[1])]
    fractions = [f for f in fractions if f is not None]
    if fractions:
        obs.set("data.target_outlier_fraction", max(fractions))
    obs.details["target_range"] = [float(np.nanmin(y)), float(np.nanmax(y))]


def robust_outlier_fraction(y: np.ndarray, z: float = 5.0) -> float | None:
    """Share of values more than z robust z-scores (MAD-based) from the median."""
    y = y[np.isfinite(y)]
    if len(y) < 10:
        return None
    med = np.median(y)
    dev = np.abs(y - med)
    scale = 1.4826 * np.median(dev)
    if scale == 0:
        scale = 1.2533 * dev.mean()  # more than half the targets equal: mean abs deviation
    if scale == 0:
        return 0.0
    return float((dev / scale > z).mean())


def _constant(targets: torch.Tensor) -> bool:
    t = targets.detach().reshape(len(targets), -1)
    return len(t) > 1 and bool((t == t[:1]).all())


# ------------------------------------------------------------------- order of the batches
def _label_keys(t: torch.Tensor, task: TaskInfo, edges: np.ndarray | None) -> np.ndarray | None:
    if task.classification:
        return _class_labels(t, task)
    y = t.detach().to("cpu", torch.float64).reshape(len(t), -1)[:, 0].numpy()
    return np.searchsorted(edges, y) if edges is not None else None


def order_correlation(scan_: DataScan, task: TaskInfo) -> float | None:
    """How sorted the labels are across consecutive batches: 0 shuffled, 1 sorted.

    D = mean total-variation distance between each batch's label histogram and the overall
    label distribution. For shuffled data D is the sampling noise D_rand (simulated with the
    same batch sizes); for data sorted by label each batch holds one label, D_pure. The result
    is (D - D_rand) / (D_pure - D_rand), clipped to [0, 1]. Regression targets are binned
    into deciles. None when fewer than two batches were seen or the labels never vary."""
    if task.kind == "multilabel" or len(scan_.targets) < 2:
        return None
    edges = None
    if not task.classification:
        all_y = scan_.all_targets().to(torch.float64).reshape(-1).numpy()
        edges = np.unique(np.quantile(all_y, np.linspace(0.1, 0.9, 9)))
    batches = [_label_keys(t, task, edges) for t in scan_.targets]
    batches = [b for b in batches if b is not None and len(b)]
    if len(batches) < 2:
        return None
    reference = _global_labels(scan_, task) if task.classification else None
    pool = reference if reference is not None and len(reference) else np.concatenate(batches)
    offset = int(min(pool.min(), min(b.min() for b in batches)))
    k = int(max(pool.max(), max(b.max() for b in batches))) - offset + 1
    p = np.bincount(pool - offset, minlength=k) / len(pool)
    if p.max() >= 1.0 - 1e-12:
        return None
    d_obs = float(np.mean([_tv(np.bincount(b - offset, minlength=k) / len(b), p)
                           for b in batches]))
    rng = np.random.default_rng(0)
    sims = []
    for _ in range(8):
        sims.append(np.mean([_tv(rng.multinomial(len(b), p) / len(b), p) for b in batches]))
    d_rand = float(np.mean(sims))
    d_pure = float(np.mean([1.0 - p[np.bincount(b - offset, minlength=k).argmax()]
                            for b in batches]))
    if d_pure - d_rand < 1e-3:
        return None
    return float(np.clip((d_obs - d_rand) / (d_pure - d_rand), 0.0, 1.0))


def _tv(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


# ------------------------------------------------------------------------ label sanity
def labels_inconsistent(scan_: DataScan, targets: torch.Tensor,
                        task: TaskInfo) -> tuple[tuple[bool, float] | None, str]:
    """Targets that do not fit the task: fractional class targets, identical inputs with
    different labels, or labels that the inputs do not predict at all (a nearest-neighbour
    test against shuffled labels). Returns ((value, certainty), why)."""
    t = targets.detach().float()
    if task.class_indices and bool((t != t.round()).any()):
        return (True, 1.0), "fractional values in class-index targets"
    if task.kind in ("binary", "multilabel") and not task.class_indices \
            and bool(((t < 0) | (t > 1)).any()):
        return (True, 1.0), "targets outside [0, 1] for a binary loss"
    conflict = duplicate_conflicts(scan_)
    if conflict is not None and conflict >= 0.02:
        return (True, 0.9), f"{conflict:.1%} of the samples share an input with another label"
    z = label_predictability(scan_, task)
    if z is not None and z < 3.0:
        return (True, 0.7), (f"nearest-neighbour labels predict no better than shuffled "
                             f"labels (z = {z:.1f})")
    return (False, 1.0), ""


def duplicate_conflicts(scan_: DataScan) -> float | None:
    if not scan_.hashes:
        return None
    total = scan_.knn_seen or sum(1 for _ in scan_.hashes)
    conflicted = sum(1 for labels in scan_.hashes.values() if len(labels) > 1)
    return conflicted / max(total, 1)


def label_predictability(scan_: DataScan, task: TaskInfo, k: int = 5) -> float | None:
    """z-score of leave-one-out k-NN balanced accuracy against the same test on shuffled labels.

    Real labels depend on the inputs, so neighbours share them (z well above 3 even for hard
    data); labels unrelated to the inputs score like shuffled ones (z near 0)."""
    if task.kind == "multilabel" or scan_.input_integer or len(scan_.knn_x) < 60:
        return None
    if task.class_indices and np.asarray(scan_.knn_y[0]).size > 1:
        return None  # per-pixel or per-token labels: not one label per input
    x = np.stack(scan_.knn_x).astype(np.float64)
    y_raw = np.stack(scan_.knn_y)
    if y_raw.ndim == 2 and y_raw.shape[1] > 1:
        y = y_raw.argmax(1)
    else:
        y = y_raw.reshape(-1)
        if task.kind == "binary" and not task.class_indices:
            y = (y > 0.5).astype(np.int64)
    y = np.round(y).astype(np.int64)
    y = y - y.min()
    classes = np.unique(y)
    if len(classes) < 2:
        return None
    x = x - x.mean(0)
    sd = x.std(0)
    x = x[:, sd > 0] / sd[sd > 0]
    if x.shape[1] == 0:
        return None
    sq = (x * x).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * x @ x.T
    np.fill_diagonal(d, np.inf)
    nn_idx = np.argpartition(d, k, axis=1)[:, :k]
    obs_score = _balanced_knn(y, nn_idx, len(classes))
    rng = np.random.default_rng(0)
    null = [_balanced_knn(rng.permutation(y), nn_idx, len(classes)) for _ in range(50)]
    sd_null = float(np.std(null)) or 1e-3
    return float((obs_score - float(np.mean(null))) / sd_null)


def _balanced_knn(y: np.ndarray, nn_idx: np.ndarray, n_classes: int) -> float:
    votes = y[nn_idx]
    counts = np.zeros((len(y), int(y.max()) + 1))
    np.add.at(counts, (np.repeat(np.arange(len(y)), votes.shape[1]), votes.reshape(-1)), 1)
    pred = counts.argmax(1)
    recalls = [float((pred[y == c] == c).mean()) for c in np.unique(y)]
    return float(np.mean(recalls))


# ----------------------------------------------------------------------- train vs val
def observe_val_shift(train: DataScan, val: DataScan, task: TaskInfo, obs: Observations,
                      layout: str) -> None:
    """Label and input distribution of the validation data against the training data."""
    tr_t, va_t = train.all_targets(), val.all_targets()
    if tr_t is not None and va_t is not None and task.kind != "multilabel":
        shift = label_shift(tr_t, va_t, task)
        if shift is not None:
            obs.set("data.val_label_shift", shift)
    tr_s = train.stats.get(layout) or train.stats.get("channel")
    va_s = val.stats.get(layout) or val.stats.get("channel")
    if tr_s is not None and va_s is not None and tr_s.n and va_s.n \
            and len(tr_s.mean) == len(va_s.mean):
        obs.set("data.val_input_shift", input_shift(tr_s, va_s, train.samples, val.samples))


def label_shift(train_t: torch.Tensor, val_t: torch.Tensor, task: TaskInfo) -> float | None:
    """Total-variation distance of the val label histogram from the train one, minus what two
    samples of these sizes from one distribution differ by anyway (clipped at 0)."""
    if task.classification:
        a, b = _class_labels(train_t, task), _class_labels(val_t, task)
    else:
        ya = train_t.to(torch.float64).reshape(len(train_t), -1)[:, 0].numpy()
        yb = val_t.to(torch.float64).reshape(len(val_t), -1)[:, 0].numpy()
        edges = np.unique(np.quantile(ya, np.linspace(0.1, 0.9, 9)))
        a, b = np.searchsorted(edges, ya), np.searchsorted(edges, yb)
    if a is None or b is None or not len(a) or not len(b):
        return None
    off = int(min(a.min(), b.min()))
    k = int(max(a.max(), b.max())) - off + 1
    pa = np.bincount(a - off, minlength=k) / len(a)
    pb = np.bincount(b - off, minlength=k) / len(b)
    tv = _tv(pa, pb)
    pooled = np.concatenate([a, b]) - off
    rng = np.random.default_rng(0)
    noise = []
    for _ in range(20):
        perm = rng.permutation(pooled)
        noise.append(_tv(np.bincount(perm[:len(a)], minlength=k) / len(a),
                         np.bincount(perm[len(a):], minlength=k) / len(b)))
    return float(max(0.0, tv - float(np.mean(noise))))


def input_shift(train: FeatureStats, val: FeatureStats, n_train: int, n_val: int) -> float:
    """Largest |mean_val - mean_train| / std_train over features, beyond sampling noise.

    Each feature's difference is reduced by three standard errors (so a small validation set
    does not read as a shift) and features constant in training are skipped."""
    std = train.std
    ok = std > 1e-12 * (np.abs(train.mean) + 1.0)
    if not ok.any():
        return 0.0
    d = np.abs(val.mean[ok] - train.mean[ok]) / std[ok]
    se = np.sqrt(1.0 / max(train.n, 1) + 1.0 / max(val.n, 1)) * np.maximum(
        1.0, val.std[ok] / std[ok])
    rows_per_sample = max(train.n / max(n_train, 1), 1.0)
    se = se * math.sqrt(rows_per_sample)  # rows within an image are not independent samples
    return float(np.max(np.maximum(d - 3.0 * se, 0.0)))
