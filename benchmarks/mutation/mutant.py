"""One corpus mutant as a probe setup: `ADVISOR_MUTANT=PROGRAM__OPERATOR advisor probe THIS_FILE`.

PROGRAM alone (no operator) gives the healthy program. The operator's global patches (a no-op
gradient clipping) stay in place for the life of the process, which is the probe's worker.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from operators import BY_NAME  # noqa: E402
from programs import load_program  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def setup() -> dict:
    case = os.environ.get("ADVISOR_MUTANT", "")
    program_name, _, operator = case.partition("__")
    if not (CORPUS / f"{program_name}.py").exists():
        raise SystemExit(f"ADVISOR_MUTANT={case!r}: no corpus program {program_name!r} in "
                         f"{CORPUS}; set it to PROGRAM or PROGRAM__OPERATOR")
    if operator and operator not in BY_NAME:
        raise SystemExit(f"ADVISOR_MUTANT={case!r}: unknown operator {operator!r}; one of "
                         + ", ".join(BY_NAME))
    program = load_program(CORPUS / f"{program_name}.py")
    if operator:
        BY_NAME[operator].apply(program)
    return program.setup
