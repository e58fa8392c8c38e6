"""Lightning's CSVLogger: `<save_dir>/<name>/version_N/metrics.csv` beside `hparams.yaml`.

The logger writes one row per log call, a sparse wide table: a `step` column, an `epoch` column
(logged by the Trainer) and one column per logged key (`train_loss_step`, `train_loss_epoch`,
`val_loss`, `lr-Adam`, ...), empty where that call did not log the key, `nan` where it logged
NaN. The generic CSV reader handles exactly that; this module only recognises the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from advisor.logs.readers.tabular import read_csv
from advisor.logs.run import LoggedRun

_VERSION = re.compile(r"version_\d+$")


def is_lightning_metrics(path: Path) -> bool:
    """A CSVLogger's metrics.csv: the name, and a version_N folder or an hparams.yaml beside it."""
    return path.name == "metrics.csv" and (
        bool(_VERSION.match(path.parent.name)) or (path.parent / "hparams.yaml").exists())


def read_metrics_csv(path: Path, name: str, mapping: Mapping[str, str] | None = None) -> LoggedRun:
    return read_csv(path, name, mapping, source="lightning")
