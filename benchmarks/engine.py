"""Benchmark of the knowledge base and the inference engine.

Measures, for the built-in base and for generated bases of 1,000 and 10,000 rules (chains six
rules deep over 1,000 facts, written as YAML files to a temporary directory so loading reads
real files):

- load + validate: `load_kb` with every rule's examples checked,
- diagnose: `Engine.diagnose` on a realistic observation set (10% of the facts observed),
- next question: `Engine.next_question` on the same observations,

and prints the ratio 10k / 1k for each, beside the goals. It prints; it does not assert.

Times are the CPU time of this process (`time.process_time`), best of several runs: on a
shared machine, wall time mostly measures the other processes. On an idle machine the two
agree, as everything here runs in one thread.

    python benchmarks/engine.py            # all three bases
    python benchmarks/engine.py --quick    # built-in and 1k only
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advisor.engine import Engine  # noqa: E402
from advisor.kb import KnowledgeBase, load_kb  # noqa: E402

DEPTH = 6  # rules per chain: fact -> r0 -> r1 -> ... -> r5
N_FACTS = 1000
ENUM_VALUES = ["low", "mid", "high", "extreme"]

GOALS = {  # (seconds, label)
    ("diagnose", "builtin"): (0.005, "< 5 ms"),
    ("diagnose", "10k"): (0.050, "< 50 ms"),
    ("next question", "10k"): (0.020, "< 20 ms"),
    ("load + validate", "10k"): (3.0, "< 3 s"),
}
MAX_RATIO = 12.0


# --------------------------------------------------------------------------- generation

def _fact_specs(n: int) -> list[dict[str, Any]]:
    """A third bool, a third number, a third enum; half of them can be asked."""
    facts = []
    for i in range(n):
        kind = ("bool", "number", "enum")[i % 3]
        fact: dict[str, Any] = {"name": f"g.f{i:04d}", "type": kind}
        if kind == "enum":
            fact["values"] = ENUM_VALUES
        facts.append(fact)
    return facts


def _test_for(fact: dict[str, Any], rnd: random.Random) -> tuple[dict, Any, Any]:
    """A fact test, a value that makes it hold and one that makes it fail."""
    name, kind = fact["name"], fact["type"]
    if kind == "bool":
        want = rnd.random() < 0.5
        return {"fact": name, "is": want}, want, not want
    if kind == "number":
        limit = round(rnd.uniform(0.1, 100), 2)
        if rnd.random() < 0.5:
            return {"fact": name, "gt": limit}, limit * 2 + 1, limit / 2
        return {"fact": name, "ge": 0, "lt": limit}, limit / 2, limit * 2 + 1
    chosen = rnd.sample(ENUM_VALUES, 2)
    other = next(v for v in ENUM_VALUES if v not in chosen)
    return {"fact": name, "in": chosen}, chosen[0], other


def _flow(value: Any) -> str:
    """A value in YAML flow style (JSON is valid YAML, but keep it readable)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"


def generate(n_rules: int, directory: Path, seed: int = 7,
             n_facts: int = N_FACTS) -> list[dict[str, Any]]:
    """Write facts.yaml and rules/*.yaml for `n_rules` rules; return the fact specs."""
    rnd = random.Random(seed)
    facts = _fact_specs(n_facts)
    lines = ["facts:"]
    for i, fact in enumerate(facts):
        lines.append(f"  - name: {fact['name']}")
        lines.append(f"    type: {fact['type']}")
        if "values" in fact:
            lines.append(f"    values: {_flow(fact['values'])}")
        lines.append(f"    meaning: Generated fact number {i}.")
        lines.append("    measured: Generated for the benchmark.")
        if i % 2 == 0:
            lines.append("    ask:")
            lines.append(f"      question: What is the value of generated fact {i}?")
            lines.append("      help: Any answer will do.")
    (directory / "facts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    per_layer = n_rules // DEPTH
    layers: list[list[tuple[str, dict[str, Any]]]] = []  # (id, facts that make it fire)
    rules_dir = directory / "rules"
    rules_dir.mkdir()
    count = 0
    for layer in range(DEPTH):
        out = ["rules:"]
        current: list[tuple[str, dict[str, Any]]] = []
        size = per_layer if layer < DEPTH - 1 else n_rules - per_layer * (DEPTH - 1)
        for j in range(size):
            rid = f"g_l{layer}_r{j:05d}"
            fact = facts[rnd.randrange(n_facts)]
            test, yes, no = _test_for(fact, rnd)
            witness: dict[str, Any] = {}
            concludes = ""
            if layer == 0:
                when: dict[str, Any] = test
            else:
                parent_id, parent_witness = layers[-1][j % len(layers[-1])]
                if fact["name"] in parent_witness:  # keep the examples consistent
                    fact = facts[(int(fact["name"][3:]) + 1) % n_facts]
                    while fact["name"] in parent_witness:
                        fact = facts[(int(fact["name"][3:]) + 1) % n_facts]
                    test, yes, no = _test_for(fact, rnd)
                witness.update(parent_witness)
                if j % 5 == 4:  # a negated test now and then
                    test = {"not": test}
                    yes, no = no, yes
                when = {"all": [{"rule": parent_id}, test]}
            if j % 10 == 9 and current:  # extra evidence for a sibling conclusion
                concludes = current[rnd.randrange(len(current))][0]
            fires = {**witness, fact["name"]: yes}
            silent = {**witness, fact["name"]: no}
            severity = ("error", "warning", "info")[j % 3]
            out += [
                f"  - id: {rid}",
                f"    title: Generated rule {count}",
                f"    kind: {'symptom' if layer < 2 else 'cause'}",
                f"    severity: {severity}",
                "    cf: 0.9",
                f"    when: {_flow(when)}",
                "    explanation: A generated rule. It stands for a real one in size and shape.",
            ]
            if concludes:
                out.append(f"    concludes: {concludes}")
            out += [
                "    remedies:",
                "      - action: Apply the generated remedy.",
                "        detail: A sentence of detail, as real remedies have.",
                "    sources:",
                "      - seed: 000_generated.txt",
                "        section: benchmark",
                "    examples:",
                f"      - given: {_flow(fires)}",
                "        expect: fires",
                f"      - given: {_flow(silent)}",
                "        expect: silent",
            ]
            if not concludes:
                current.append((rid, fires))
            count += 1
        layers.append(current)
        (rules_dir / f"layer{layer}.yaml").write_text("\n".join(out) + "\n", encoding="utf-8")
    return facts


def observations(kb: KnowledgeBase, fraction: float = 0.1, seed: int = 3) -> dict[str, Any]:
    """A realistic fact set: `fraction` of the facts observed, with plausible values."""
    rnd = random.Random(seed)
    names = sorted(kb.facts)
    chosen = rnd.sample(names, max(1, int(len(names) * fraction)))
    facts: dict[str, Any] = {}
    for name in chosen:
        fact = kb.facts[name]
        if fact.type == "bool":
            facts[name] = rnd.random() < 0.5
        elif fact.type == "number":
            facts[name] = round(rnd.uniform(0, 200), 3)
        elif fact.type == "enum":
            facts[name] = rnd.choice(fact.values)
        else:
            facts[name] = "text"
    return facts


# --------------------------------------------------------------------------- measuring

clock = time.process_time
ROUNDS = 15  # rounds of diagnose / next question, each a batch of CALLS calls per base
CALLS = 3


def calibration() -> float:
    """Seconds for ten million additions in a Python loop: how fast this machine runs Python
    (about 0.4 s on a current desktop with CPython 3.11)."""
    start = clock()
    total = 0
    for i in range(10_000_000):
        total += i
    return clock() - start


def _timed(fn: Callable[[], Any], number: int = 1) -> float:
    start = clock()
    for _ in range(number):
        fn()
    return (clock() - start) / number


def measure(loaders: dict[str, tuple[Callable[[], KnowledgeBase], int]]) -> dict[str, dict]:
    """Best times per base. The bases are measured in turn, round after round, so that a busy
    moment of the machine does not fall on one base only and skew the ratios."""
    best: dict[str, dict[str, float]] = {label: {} for label in loaders}
    kbs: dict[str, KnowledgeBase] = {}

    def keep(label: str, metric: str, seconds: float) -> None:
        best[label][metric] = min(seconds, best[label].get(metric, seconds))

    for round_ in range(max(repeat for _, repeat in loaders.values())):
        for label, (load, repeat) in loaders.items():
            if round_ < repeat:
                kbs.pop(label, None)  # one copy at a time in memory
                start = clock()
                kbs[label] = load()
                keep(label, "load + validate", clock() - start)
    engines = {label: Engine(kb) for label, kb in kbs.items()}
    facts = {label: observations(kb) for label, kb in kbs.items()}
    for label, engine in engines.items():
        result = engine.diagnose(facts[label])
        question = engine.next_question(facts[label])
        print(f"  {label}: {len(engine.kb.rules)} rules, {len(engine.kb.facts)} facts, "
              f"{len(facts[label])} observed, {len(result.diagnoses)} diagnoses, next question: "
              f"{question.fact.name if question else None}", flush=True)
    for _ in range(ROUNDS):
        for label, engine in engines.items():
            observed = facts[label]
            keep(label, "diagnose", _timed(lambda e=engine, f=observed: e.diagnose(f), CALLS))
            keep(label, "next question",
                 _timed(lambda e=engine, f=observed: e.next_question(f), CALLS))
    return best


def _load_average() -> tuple[float, ...]:
    try:
        import os

        return os.getloadavg()
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return ()


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-rule base")
    args = parser.parse_args(argv)

    print(f"measuring CPU time: best of {ROUNDS} rounds of {CALLS} calls; loading: best of 3 "
          "(10k: of 2); the bases take turns")
    sizes = [("1k", 1000)] + ([] if args.quick else [("10k", 10000)])
    with tempfile.TemporaryDirectory(prefix="advisor-bench-") as tmp:
        loaders: dict[str, tuple[Callable[[], KnowledgeBase], int]] = {
            "builtin": (lambda: load_kb(use_env=False), 3)}
        for label, n in sizes:
            directory = Path(tmp) / label
            directory.mkdir()
            generate(n, directory)
            loaders[label] = (lambda d=directory: load_kb([d], builtin=False, use_env=False),
                              2 if n > 1000 else 3)
        results = measure(loaders)

    metrics = ["load + validate", "diagnose", "next question"]
    columns = list(results)
    has_ratio = "1k" in results and "10k" in results
    header = f"{'':<16}" + "".join(f"{c:>12}" for c in columns)
    header += f"{'10k/1k':>9}" if has_ratio else ""
    print()
    print(header)
    print("-" * len(header))
    ratios = {}
    for metric in metrics:
        row = f"{metric:<16}" + "".join(f"{_fmt(results[c][metric]):>12}" for c in columns)
        if has_ratio:
            ratios[metric] = results["10k"][metric] / results["1k"][metric]
            row += f"{ratios[metric]:>8.1f}x"
        print(row)
    print()
    print(f"this machine: 10 million Python additions in {calibration():.2f} s "
          f"(a current desktop: about 0.4 s); load average "
          f"{', '.join(f'{x:.1f}' for x in _load_average())}")
    print()
    print("goals:")
    for (metric, base), (limit, text) in GOALS.items():
        if base not in results:
            continue
        value = results[base][metric]
        verdict = "met" if value < limit else "MISSED"
        print(f"  {metric} {base} {text}: {_fmt(value)}  {verdict}")
    for metric, ratio in ratios.items():
        verdict = "met" if ratio <= MAX_RATIO else "MISSED"
        print(f"  {metric} ratio 10k/1k <= {MAX_RATIO:g}: {ratio:.1f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
