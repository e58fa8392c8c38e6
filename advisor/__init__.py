"""advisor: a troubleshooting expert system for deep-learning training.

`advisor.probe(...)` and `advisor.ProbeSetup` load torch, so they are imported on first use:
the knowledge base, the engine and the command line start without it.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ProbeSetup", "__version__", "probe"]


def __getattr__(name: str) -> Any:
    if name == "probe":
        from advisor.probe.api import probe

        return probe
    if name == "ProbeSetup":
        from advisor.probe.setup import ProbeSetup

        return ProbeSetup
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
