"""The user's warnings as a report lists them: one entry per kind of message (numbers in it
masked, so "step 12" and "step 13" are one kind), with where it was first raised and how
often. The probe (warnings recorded around its run) and the watch (warnings read as they pass)
both tally through here, so their reports count alike."""

from __future__ import annotations

import re
from typing import Any

QUIET = (DeprecationWarning, PendingDeprecationWarning)   # library notices, not the user's


class WarningTally:
    """Entries in the order first seen: {"category", "message", "where", "count"}."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, Any]] = {}

    def add(self, category: type[Warning], message: object, filename: str,
            lineno: int) -> None:
        if issubclass(category, QUIET):
            return
        text = str(message)
        key = f"{category.__name__}:{re.sub(r'[0-9]+', '#', text)}"
        entry = self._seen.setdefault(key, {"category": category.__name__,
                                            "message": text[:500],
                                            "where": f"{filename}:{lineno}", "count": 0})
        entry["count"] += 1

    def entries(self) -> list[dict[str, Any]]:
        return list(self._seen.values())
