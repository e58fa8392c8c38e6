"""Errors of the log readers: every one names the path and what to do about it.

`LogsError` is an `AdvisorError`, so the command line prints it as `advisor: MESSAGE` and exits
with the usage code (2), like any other bad input. `MissingExtra` is the one a person fixes by
installing an optional dependency; its message names the exact pip command.
"""

from __future__ import annotations

from advisor.errors import AdvisorError


class LogsError(AdvisorError):
    """A log path that cannot be read: missing, empty, malformed, or an unknown run or tag."""


class MissingExtra(LogsError):
    """A log format whose reader needs an optional package that is not installed."""

    def __init__(self, extra: str, package: str, path: str, what: str) -> None:
        self.extra = extra
        self.package = package
        super().__init__(
            f"{path}: reading {what} needs the '{package}' package, which is not installed; "
            f"install it with: pip install 'advisor[{extra}]'"
        )
