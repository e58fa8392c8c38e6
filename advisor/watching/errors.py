"""The watch's errors meant for the user (a missing script, a bad argument)."""

from __future__ import annotations

from advisor.errors import AdvisorError


class WatchError(AdvisorError):
    """The script or module to watch cannot be run, or `advisor.watch()` got a bad argument."""
