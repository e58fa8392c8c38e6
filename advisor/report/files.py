"""Atomic file writes: a reader never sees half a report, and a failed write loses nothing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; put it back at once
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, flush it to disk, then rename over it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
            # mkstemp creates the file private (0600); a report is as readable as any file the
            # user writes, so give it the mode the umask allows
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
