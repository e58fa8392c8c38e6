"""The probe: a short, instrumented, budgeted training run of a user's setup that turns what it
observes into the facts of the catalogue (docs/design.md), then asks the engine for diagnoses.

Importing this package does not import torch (the command line's parser comes from
`advisor.commands.probe`, which imports nothing from here at module level, and `advisor kb` /
`advisor diagnose` must start without torch). Everything heavy is imported on first use
through `__getattr__`.

`advisor.probe(...)` (the function, in `advisor/__init__.py`) forwards to
`advisor.probing.api.probe`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ProbeReport", "ProbeSetup", "ProbeSetupError", "probe"]

_LAZY = {
    "probe": ("advisor.probing.api", "probe"),
    "ProbeSetup": ("advisor.probing.setup", "ProbeSetup"),
    "ProbeSetupError": ("advisor.probing.setup", "ProbeSetupError"),
    "ProbeReport": ("advisor.report.probe", "ProbeReport"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'advisor.probing' has no attribute {name!r}")
