"""The probe: a short, instrumented, budgeted training run of a user's setup that turns what it
observes into the facts of the catalogue (docs/design.md), then asks the engine for diagnoses.

Importing this package does not import torch: `advisor.cli` imports `advisor.probe.cli` to build
its parser, and `advisor kb` / `advisor diagnose` must start without torch. Everything heavy is
imported on first use through `__getattr__`.

`advisor.probe` is both this package and a function (`advisor.probe(model=..., ...)`): once the
package is imported Python binds the name `advisor.probe` to the module, so the module itself is
made callable and forwards to `advisor.probe.api.probe`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["ProbeReport", "ProbeSetup", "ProbeSetupError", "probe"]

_LAZY = {
    "probe": ("advisor.probe.api", "probe"),
    "ProbeSetup": ("advisor.probe.setup", "ProbeSetup"),
    "ProbeSetupError": ("advisor.probe.setup", "ProbeSetupError"),
    "ProbeReport": ("advisor.probe.report", "ProbeReport"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'advisor.probe' has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """Lets `advisor.probe(...)` work whether `advisor.probe` resolves to the function or to
    this package (which it does as soon as any `advisor.probe.*` module has been imported)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from advisor.probe.api import probe as _probe

        return _probe(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
