"""What `advisor watch` runs: a script path or a module name, and the program's own arguments,
as the command line names them; and the checks that refuse, before anything runs, a script
that does not exist or a module that cannot be found.

Imports no torch (nor does the package's `__init__`), so that parsing `advisor watch ...` and
answering a wrong path take no time: torch is loaded only once there is a script to run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from advisor.errors import UsageError


class TargetError(UsageError):
    """The script or module to run does not exist or cannot be read."""


@dataclass(frozen=True)
class Target:
    """What to run: a script path or a module name, and the script's own arguments."""

    path: str | None = None
    module: str | None = None
    args: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.module if self.module else os.path.basename(self.path or "?")


def split_argv(argv: Sequence[str], with_value: set[str]) -> tuple[list[str], Target | None]:
    """Split `advisor watch [OPTIONS] SCRIPT [ARGS...]` (or `-m MODULE`, or `-- SCRIPT`) into
    the watch's own options and the target: everything after the script belongs to it, even
    words that look like the watch's options (`--steps 30 train.py --steps 5`)."""
    own: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest = argv[i + 1:]
            return own, (Target(path=rest[0], args=tuple(rest[1:])) if rest else None)
        if word == "-m":
            if i + 1 >= len(argv):
                own.append(word)
                return own, None
            return own, Target(module=argv[i + 1], args=tuple(argv[i + 2:]))
        if word.startswith("-"):
            own.append(word)
            if word in with_value and "=" not in word and i + 1 < len(argv):
                own.append(argv[i + 1])
                i += 1
            i += 1
            continue
        return own, Target(path=word, args=tuple(argv[i + 1:]))
    return own, None


def check_target(target: Target) -> Target:
    """Refuse, before anything runs, a script that does not exist or a module not found."""
    if target.module:
        try:
            with cwd_importable():   # as `python -m` sees it, whatever started advisor
                spec = importlib.util.find_spec(target.module)
        except (ImportError, ValueError) as exc:
            raise TargetError(f"-m {target.module}: cannot find the module ({exc}); check the "
                              "name and that its package is importable from here") from None
        if spec is None:
            raise TargetError(f"-m {target.module}: no module of that name; check the name "
                              "and that its package is importable from the current folder")
        return target
    path = target.path or ""
    if not os.path.exists(path):
        raise TargetError(f"{path}: no such file; give the path of your training script, e.g. "
                          "`advisor watch train.py --epochs 3`")
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, "__main__.py")):
        raise TargetError(f"{path}: is a folder without __main__.py; give the script inside it")
    if not os.access(path, os.R_OK):
        raise TargetError(f"{path}: cannot be read (permission denied); check its permissions")
    return target


@contextlib.contextmanager
def cwd_importable() -> Iterator[None]:
    """The working directory first on sys.path, as `python -m` has it; restored after."""
    path = list(sys.path)
    sys.path.insert(0, os.getcwd())
    try:
        yield
    finally:
        sys.path[:] = path
