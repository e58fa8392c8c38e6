"""Record golden fact files from probe reports: `python tests/golden/record.py REPORTS_DIR`.

Each `REPORTS_DIR/NAME.json` (written by `advisor probe examples/NAME.py --json ...`) becomes
`tests/golden/facts/NAME.json`: the facts the probe measured and the ids of the diagnoses the
engine drew from them, in order. `test_golden.py` re-runs the engine on the stored facts: the
knowledge base and the engine are checked against real measurements in milliseconds, without
torch. Re-record after a deliberate change to the probe's measurements or to the rules, and
review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "facts"


def main(folder: str) -> None:
    from advisor.engine import Engine
    from advisor.kb import load_kb

    engine = Engine(load_kb([], use_env=False))
    OUT.mkdir(exist_ok=True)
    for path in sorted(Path(folder).glob("*.json")):
        report = json.loads(path.read_text())
        facts = {k: v for k, v in report["facts"].items() if not k.startswith("perf.")}
        result = engine.diagnose(facts)
        golden = {"source": f"examples/{path.stem}.py", "facts": facts,
                  "diagnoses": [d.id for d in result.diagnoses]}
        (OUT / path.name).write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
        print(f"{path.stem}: {len(facts)} facts, {golden['diagnoses'][:3]}")


if __name__ == "__main__":
    main(sys.argv[1])
