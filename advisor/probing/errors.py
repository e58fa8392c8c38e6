"""Errors raised by the user's code become observations (`runtime.error`), never crashes.

PyTorch's messages are the only reliable signature of what went wrong, so the classification is
by exception type first, then by message patterns that have been stable across releases.
"""

from __future__ import annotations

import os
import re
import sysconfig
import traceback
from pathlib import Path

_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("out_of_memory", (r"out of memory", r"can't allocate memory", r"CUDA error: out of memory",
                       r"MPS backend out of memory", r"not enough memory")),
    ("batchnorm_single_sample", (r"Expected more than 1 value per channel when training",
                                 r"Expected more than 1 spatial element when training")),
    ("bce_input_range", (r"all elements of input should be between 0 and 1",
                         r"input should be between 0 and 1",
                         r"Assertion `input_val >= zero && input_val <= one`")),
    ("target_out_of_bounds", (r"Target -?\d+ is out of bounds",
                              r"all elements of target should be between 0 and 1",
                              r"Assertion `t >= 0 && t < n_classes` failed",
                              r"Assertion `cur_target >= 0 && cur_target < n_classes`",
                              r"device-side assert triggered")),
    ("dtype_mismatch", (r"expected scalar type \w+ but found \w+", r"Found dtype \w+ but expected",
                        r"must have the same dtype", r"should be the same",
                        r"not implemented for '\w+'", r"expected .*dtype",
                        r"result type \w+ can't be cast", r"Expected object of scalar type",
                        r"expected both vectors to have same dtype",
                        r"Input type \(.*\) and (weight|bias) type")),
    ("shape_mismatch", (r"shapes cannot be multiplied", r"must match the size of tensor",
                        r"Expected input batch_size \(\d+\) to match target batch_size",
                        r"Target size \(.*\) must be the same as input size",
                        r"target size .* different to the input size",
                        r"size mismatch", r"shape '\[.*\]' is invalid for input of size",
                        r"expected input\[.*\] to have \d+ channels",
                        r"Expected \d+D \(unbatched\) or \d+D \(batched\) input",
                        r"only batches of spatial targets supported",
                        r"doesn't match the broadcast",
                        # class weights for C classes against an output of another width
                        r"weight tensor should be defined either for all \d+ classes",
                        r"The size of tensor a", r"inconsistent tensor size",
                        r"Expected target size", r"expected .* dimensions",
                        r"Sizes of tensors must match", r"is not broadcastable",
                        r"input and target shapes", r"Dimension out of range",
                        r"expected 2D or 3D input", r"Expected \d+-dimensional input",
                        r"must be the same size", r"mat\d and mat\d shapes")),
)


def classify_error(exc: BaseException) -> str:
    """One of the runtime.error values for an exception raised by the user's code."""
    name = type(exc).__name__
    text = f"{name}: {exc}"
    if name in ("OutOfMemoryError",) or isinstance(exc, MemoryError):
        return "out_of_memory"
    for kind, patterns in _PATTERNS:
        if any(re.search(p, text, re.IGNORECASE) for p in patterns):
            return kind
    if isinstance(exc, IndexError) and "target" in text.lower():
        return "target_out_of_bounds"
    return "other"


def error_message(exc: BaseException, limit: int = 500) -> str:
    """The first meaningful lines of the message, short enough for a report."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: the code called sys.exit({exc.code!r}) during the run"
    text = f"{type(exc).__name__}: {exc}".strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    text = " ".join(lines[:3])
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ADVISOR = str(Path(__file__).resolve().parents[1])
_LIBRARIES = tuple({str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib",
                                                       "platlib")
                    if (p := sysconfig.get_paths().get(key))})


def user_frame(exc: BaseException) -> str | None:
    """'FILE:LINE' of the innermost frame in the user's own code (not advisor, not the standard
    library, not an installed package), or None when the traceback never enters it."""
    chosen = None
    for frame in traceback.extract_tb(exc.__traceback__):
        name = frame.filename or ""
        if name.startswith("<"):
            continue
        path = os.path.realpath(name)
        if path.startswith(_ADVISOR) or path.startswith(_LIBRARIES):
            continue
        chosen = frame
    return f"{chosen.filename}:{chosen.lineno}" if chosen else None
