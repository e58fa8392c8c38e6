"""Atomic file writes: a reader never sees half a report, and a failed write loses nothing.

One rule for every output path (probe --json/--markdown/--html, diagnose -o, the TUI's
exports): the folder must exist. A typo in a folder name should be refused, not silently turned
into a new tree of folders somewhere the person will not look.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from advisor.errors import UsageError


class MissingFolderError(UsageError):
    """The folder of an output path does not exist."""


def _current_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; put it back at once
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def require_folder(path: str | os.PathLike) -> Path:
    """The folder `path` would be written in; MissingFolderError when it does not exist."""
    folder = Path(os.path.abspath(path)).parent
    if folder.exists() and not folder.is_dir():
        raise MissingFolderError(f"{folder} is a file, not a folder; choose another path")
    if not folder.is_dir():
        raise MissingFolderError(f"the folder {folder} does not exist; create it or choose "
                                 "another path")
    return folder


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, flush it to disk, then rename over it.

    Raises MissingFolderError when the folder does not exist (it is never created), OSError
    when the file cannot be written.
    """
    target = Path(path)
    require_folder(target)
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


class WritesFiles:
    """`write_json`, `write_markdown` and `write_html` for any report that renders itself
    (`to_json()`, `markdown()`, `html()`), each written atomically: what `--json`,
    `--markdown` and `--html` call on a probe, watch, logs or comparison report alike."""

    def to_json(self) -> str:
        raise NotImplementedError

    def markdown(self) -> str:
        raise NotImplementedError

    def html(self) -> str:
        raise NotImplementedError

    def write_json(self, path: str | os.PathLike) -> Path:
        return write_atomic(path, self.to_json())

    def write_markdown(self, path: str | os.PathLike) -> Path:
        return write_atomic(path, self.markdown())

    def write_html(self, path: str | os.PathLike) -> Path:
        return write_atomic(path, self.html())
