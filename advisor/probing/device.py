"""Where the probe runs: CUDA, then MPS, else CPU (or what --device says), and its memory."""

from __future__ import annotations

import contextlib
import resource
import sys
from collections.abc import Iterator
from typing import Any

import torch

from advisor.probing.setup import ProbeSetupError


def pick_device(requested: str | None = None) -> torch.device:
    if requested and requested != "auto":
        try:
            device = torch.device(requested)
        except RuntimeError as exc:
            raise ProbeSetupError(f"--device {requested}: {exc}; use cpu, cuda, cuda:N or mps") \
                from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ProbeSetupError(f"--device {requested}: CUDA is not available on this machine")
        if device.type == "mps" and not _mps():
            raise ProbeSetupError(f"--device {requested}: MPS is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps():
        return torch.device("mps")
    return torch.device("cpu")


def _mps() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":  # pragma: no cover - MPS only
        torch.mps.synchronize()


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak allocated memory on the accelerator, or the process's peak resident set on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    if device.type == "mps":  # pragma: no cover - MPS only
        return torch.mps.driver_allocated_memory() / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def describe(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {"type": device.type, "name": str(device),
                            "torch": torch.__version__}
    if device.type == "cuda":
        info["name"] = torch.cuda.get_device_name(device)
    elif device.type == "cpu":
        info["threads"] = torch.get_num_threads()
    return info


@contextlib.contextmanager
def autocast(device: torch.device, enabled: bool) -> Iterator[None]:
    """fp16 autocast for --amp (bfloat16 does not overflow, so fp16 even on CPU)."""
    if not enabled:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=torch.float16):
        yield
