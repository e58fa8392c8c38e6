"""Single-fault mutants of the corpus programs, verified to hurt, probed and labelled.

    python benchmarks/mutate.py list [PROGRAM ...]
        which operators apply to which program (and why not)
    python benchmarks/mutate.py verify [PROGRAM ...] [--steps 200]
        train each program and each of its mutants in a plain loop (same seed); keep a mutant
        only when it crashes, turns the loss non-finite or makes the metric worse by the margin
        (benchmarks/mutation/verify.py says which); writes benchmarks/mutation/verified/PROGRAM.yaml
    python benchmarks/mutate.py probe [PROGRAM ...] --out DIR [--steps 200] [--budget 600]
        probe every healthy program and every kept mutant in-process and write DIR/CASE.json
        plus DIR/labels.yaml (the format `diagnosis_accuracy.py --reports` and
        `advisor kb calibrate` read); a case is PROGRAM or PROGRAM__OPERATOR
    python benchmarks/mutate.py summary
        the kept mutants per operator and per program
    python benchmarks/mutate.py relabel --out DIR
        rewrite DIR/labels.yaml from the catalogue's accepted ids (no probing)

One mutant from the command line (the CLI probe, a worker process of its own):
    ADVISOR_MUTANT=cnn_mnist__lr_x100 advisor probe benchmarks/mutation/mutant.py

The operator catalogue (with the diagnosis ids an expert accepts for each) is
benchmarks/mutation/operators.py.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
VERIFIED = HERE / "mutation" / "verified"
sys.path.insert(0, str(HERE / "mutation"))

import yaml  # noqa: E402
from operators import BY_NAME, OPERATORS  # noqa: E402
from programs import NotApplicable, load_program  # noqa: E402


def program_paths(names: list[str]) -> list[Path]:
    paths = sorted(p for p in CORPUS.glob("*.py") if not p.name.startswith("_"))
    if names:  # an exact name selects that program only, anything else is a substring
        stems = {p.stem for p in paths}
        paths = [p for p in paths
                 if any(n == p.stem or (n not in stems and n in p.stem) for n in names)]
    return paths


def mutant(program_name: str, operator_name: str):
    """A freshly loaded program with one operator applied (raises NotApplicable)."""
    program = load_program(CORPUS / f"{program_name}.py")
    if operator_name:
        try:
            BY_NAME[operator_name].apply(program)
        except Exception:
            program.restore()
            raise
    return program


# ---------------------------------------------------------------- list


def cmd_list(args: argparse.Namespace) -> int:
    for path in program_paths(args.programs):
        applicable, skipped = [], []
        for op in OPERATORS:
            try:
                program = mutant(path.stem, op.name)
                program.restore()
                applicable.append(op.name)
            except NotApplicable as exc:
                skipped.append(f"{op.name} ({exc})")
        print(f"{path.stem}: {len(applicable)} operators: {', '.join(applicable)}")
        if args.verbose:
            print("    not: " + "; ".join(skipped))
    return 0


# ---------------------------------------------------------------- verify


def cmd_verify(args: argparse.Namespace) -> int:
    import torch
    from verify import healthy_metric_loss, hurts, train_and_measure

    torch.set_num_threads(1)
    VERIFIED.mkdir(parents=True, exist_ok=True)
    for path in program_paths(args.programs):
        if (VERIFIED / f"{path.stem}.yaml").exists() and not args.force:
            continue
        healthy_program = mutant(path.stem, "")
        healthy = train_and_measure(healthy_program, healthy_metric_loss(healthy_program.setup),
                                    args.steps)
        print(f"{path.stem}: healthy {healthy.as_dict()}", flush=True)
        record = {"program": path.stem, "steps": args.steps, "healthy": healthy.as_dict(),
                  "kept": {}, "rejected": {}, "not_applicable": {}}
        tried = 0
        for op in sorted(OPERATORS, key=lambda o, p=path.stem: _stable_hash(f"{p}__{o.name}")):
            try:
                program = mutant(path.stem, op.name)
            except NotApplicable as exc:
                record["not_applicable"][op.name] = str(exc)
                continue
            except Exception as exc:  # the operator could not rewrite this program
                record["not_applicable"][op.name] = f"operator failed: {type(exc).__name__}: {exc}"
                continue
            if args.per_program is not None and tried >= args.per_program:
                program.restore()
                record.setdefault("not_sampled", []).append(op.name)
                continue
            tried += 1
            try:
                metric_loss = healthy_metric_loss(healthy_program.setup)
                outcome = train_and_measure(program, metric_loss, args.steps)
            finally:
                program.restore()
            keep, why = hurts(healthy, outcome)
            entry = {"why": why, **outcome.as_dict(), "expect": list(op.expect)}
            record["kept" if keep else "rejected"][op.name] = entry
            print(f"  {op.name:28s} {'KEEP' if keep else 'drop'}  {why}", flush=True)
        _write_yaml(VERIFIED / f"{path.stem}.yaml", record)
    return 0


def _write_yaml(path: Path, data: dict) -> None:
    from advisor.report.files import write_atomic

    write_atomic(path, "# written by benchmarks/mutate.py verify; do not edit by hand\n"
                 + yaml.safe_dump(data, sort_keys=False, width=100))


def kept_mutants(programs: list[str], per_program: int | None = None) -> dict[str, list[str]]:
    """The verified mutants of each program; with `per_program`, a fixed sample of them.

    The sample is the first `per_program` kept operators in the order of a hash of
    (program, operator): it depends on nothing but the verified files, spreads the operators
    evenly over the corpus in expectation, and is the same on every machine."""
    kept = {}
    for path in program_paths(programs):
        record_path = VERIFIED / f"{path.stem}.yaml"
        names = list(yaml.safe_load(record_path.read_text())["kept"]) \
            if record_path.exists() else []
        if per_program is not None:
            names = sorted(names, key=lambda op, p=path.stem: _stable_hash(f"{p}__{op}"))
            names = sorted(names[:per_program], key=list(BY_NAME).index)
        kept[path.stem] = names
    return kept


def _stable_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


# ---------------------------------------------------------------- probe


def cmd_probe(args: argparse.Namespace) -> int:
    import advisor
    from advisor.probing.setup import coerce_setup

    args.out.mkdir(parents=True, exist_ok=True)
    labels_path = args.out / "labels.yaml"
    labels = (yaml.safe_load(labels_path.read_text()) or {}) if labels_path.exists() else {}
    cases = labels.setdefault("cases", {})
    for program_name, operators in kept_mutants(args.programs, args.per_program).items():
        for op_name in [""] + (operators if not args.healthy_only else []):
            case = f"{program_name}__{op_name}" if op_name else program_name
            report_path = args.out / f"{case}.json"
            cases[case] = {"program": program_name, **({"operator": op_name} if op_name else {}),
                           "expect": list(BY_NAME[op_name].expect) if op_name else []}
            if report_path.exists() and not args.force:
                continue
            start = time.perf_counter()
            program = mutant(program_name, op_name)
            try:
                setup = coerce_setup(program.setup, case)
                report = advisor.probe(setup=setup, steps=args.steps, budget=args.budget)
            finally:
                program.restore()
            report.write_json(str(report_path))
            top = [d["id"] for d in report.diagnoses
                   if d["severity"] in ("error", "warning")][:3]
            print(f"{case:55s} {time.perf_counter() - start:5.1f}s  {', '.join(top)}", flush=True)
            _write_yaml(labels_path, labels)
    _write_yaml(labels_path, labels)
    return 0


def cmd_relabel(args: argparse.Namespace) -> int:
    """Rewrite DIR/labels.yaml from the current catalogue (after an operator's accepted ids
    changed), without probing again."""
    labels_path = args.out / "labels.yaml"
    labels = yaml.safe_load(labels_path.read_text())
    for case in labels["cases"].values():
        op = case.get("operator")
        case["expect"] = list(BY_NAME[op].expect) if op else []
    _write_yaml(labels_path, labels)
    print(f"{labels_path}: {len(labels['cases'])} cases relabelled")
    return 0


# ---------------------------------------------------------------- summary


def cmd_summary(args: argparse.Namespace) -> int:
    per_op: dict[str, list[int]] = {op.name: [0, 0, 0] for op in OPERATORS}
    total = 0
    for path in program_paths(args.programs):
        record_path = VERIFIED / f"{path.stem}.yaml"
        if not record_path.exists():
            print(f"{path.stem:40s} not verified")
            continue
        record = yaml.safe_load(record_path.read_text())
        total += len(record["kept"])
        print(f"{path.stem:40s} kept {len(record['kept']):2d}  rejected "
              f"{len(record['rejected']):2d}  n/a {len(record['not_applicable']):2d}")
        for i, key in enumerate(("kept", "rejected", "not_applicable")):
            for name in record[key]:
                per_op[name][i] += 1
    print(f"\n{'operator':30s} kept rejected n/a")
    for name, (k, r, n) in per_op.items():
        print(f"{name:30s} {k:4d} {r:8d} {n:3d}")
    print(f"\n{total} verified mutants")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "verify", "probe", "summary", "relabel"):
        p = sub.add_parser(name)
        p.add_argument("programs", nargs="*", metavar="PROGRAM",
                       help="corpus programs whose name contains PROGRAM (default: all)")
        if name == "list":
            p.add_argument("-v", "--verbose", action="store_true")
        if name in ("verify", "probe"):
            p.add_argument("--steps", type=int, default=200)
            p.add_argument("--force", action="store_true", help="redo existing results")
            p.add_argument("--per-program", type=int, metavar="N",
                           help="only N operators per program: a fixed sample in the order "
                                "of a hash of (program, operator)")
        if name in ("probe", "relabel"):
            p.add_argument("--out", type=Path, required=True)
        if name == "probe":
            p.add_argument("--budget", type=float, default=600.0)
            p.add_argument("--healthy-only", action="store_true")
    args = parser.parse_args(argv)
    return {"list": cmd_list, "verify": cmd_verify, "probe": cmd_probe,
            "summary": cmd_summary, "relabel": cmd_relabel}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
