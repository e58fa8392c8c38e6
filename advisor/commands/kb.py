"""`advisor kb ...`: validate, list, show, graph, test, schema and calibrate."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from advisor.commands.options import add_kb_option, kb_dirs, positive_int
from advisor.errors import EXIT_OK, EXIT_USAGE
from advisor.kb import KBError, KnowledgeBase, load_kb


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`advisor kb KB_COMMAND`: one sub-parser per action, each taking --kb."""
    sub = parser.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    validate = sub.add_parser("validate", help="check the KB (and DIRs) and report problems")
    validate.add_argument("dirs", nargs="*", metavar="DIR")
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    listing = sub.add_parser("list", help="list the rules")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    show = sub.add_parser("show", help="show one rule or fact")
    show.add_argument("id")
    graph = sub.add_parser("graph", help="export the rule graph")
    graph.add_argument("--format", choices=["dot", "json"], default="dot")
    test = sub.add_parser("test", help="run every rule's examples")
    test.add_argument("dirs", nargs="*", metavar="DIR")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing examples too")
    sub.add_parser("schema", help="print the JSON Schema of knowledge files")
    calibrate = sub.add_parser(
        "calibrate", help="propose rule thresholds and cfs fitted on labelled probe reports",
        description="Fit each rule's numeric thresholds and cf on labelled probe reports (the "
                    "procedure is in docs/calibration.md) and print the proposals; -o writes "
                    "them as a knowledge overlay to review and load with --kb.")
    calibrate.add_argument("reports", metavar="REPORTS_DIR",
                           help="folder of probe reports CASE.json (and labels.yaml)")
    calibrate.add_argument("--labels", metavar="FILE",
                           help="label file (default: REPORTS_DIR/labels.yaml)")
    calibrate.add_argument("--split", metavar="FILE",
                           help="split file (calibration/evaluation programs); only --part is "
                                "fitted on")
    calibrate.add_argument("--part", choices=["calibration", "evaluation"],
                           default="calibration", help="the half to fit on (default: "
                                                       "calibration; needs --split)")
    calibrate.add_argument("-o", "--output", metavar="OVERLAY.yaml",
                           help="write the proposals as a knowledge overlay (atomically)")
    calibrate.add_argument("--min-positives", type=positive_int, default=3, metavar="N",
                           help="fit a rule only when at least N cases expect its conclusion "
                                "(default 3)")
    calibrate.add_argument("--format", choices=["text", "json"], default="text")
    for p in (parser, validate, listing, show, graph, test, calibrate):
        add_kb_option(p)


def progress_printer():
    """Progress of a long load on stderr (a 20 MB rules file takes minutes): on a terminal, or
    when ADVISOR_PROGRESS=1 asks for it (CI logs, tests); otherwise silent."""
    import os

    if not (sys.stderr.isatty() or os.environ.get("ADVISOR_PROGRESS") == "1"):
        return None
    seen: set[str] = set()

    def show(what: str, done: int, total: int) -> None:
        if what in seen and done not in (0, total):
            return
        seen.add(what)
        print(f"advisor kb: {what} ({done}/{total})", file=sys.stderr, flush=True)

    return show


def _print_problems(problems) -> None:
    for p in problems:
        print(str(p), file=sys.stderr)


def _load(dirs: list[str], check_examples: bool = True) -> KnowledgeBase | None:
    try:
        return load_kb(dirs, check_examples=check_examples, progress=progress_printer())
    except KBError as exc:
        _print_problems(exc.problems)
        print(f"{len(exc.problems)} problem(s) found; fix them and run "
              "`advisor kb validate` again.", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    command, dirs = args.kb_command, kb_dirs(args)
    if command == "schema":
        from advisor.kb.schema import kb_file_schema

        print(json.dumps(kb_file_schema(), indent=2))
        return EXIT_OK
    if command is None:
        print("usage: advisor kb {validate,list,show,graph,test,schema,calibrate} ...",
              file=sys.stderr)
        return EXIT_USAGE
    if command == "calibrate":
        return _calibrate(args, dirs)
    kb = _load(dirs, check_examples=command == "validate")
    if kb is None:
        return EXIT_USAGE
    return {"validate": _validate, "list": _list, "show": _show, "graph": _graph,
            "test": _test}[command](kb, args)


def _validate(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    shown = [w for w in kb.warnings if w.level == "warning"]
    _print_problems(shown)
    print(validate_line(kb, len(shown)))
    return EXIT_USAGE if args.strict and shown else EXIT_OK


def validate_line(kb: KnowledgeBase, warnings: int) -> str:
    """`knowledge base OK: ...`: the counts of what the files define. The trial evidence the
    loader synthesises (a fact and two rules per diagnosis with trials) is not counted, so the
    numbers match the files; "N with trials" says how many diagnoses got it."""
    from advisor.kb.trials import synthesised, trials_of

    facts, rules = synthesised(kb)
    diagnoses = kb.diagnoses
    tried = sum(1 for d in diagnoses if trials_of(d))
    with_trials = f", {tried} with trials" if tried else ""
    return (f"knowledge base OK: {len(kb.facts) - len(facts)} facts, "
            f"{len(kb.rules) - len(rules)} rules ({len(diagnoses)} diagnoses{with_trials}) "
            f"from {len(kb.files)} file(s); {warnings} warning(s)")


def _list(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    if args.format == "json":
        rows = [{"id": r.id, "title": r.title, "kind": r.kind, "severity": r.severity,
                 "cf": r.cf, "concludes": r.conclusion, "file": r.location.file,
                 "line": r.location.line, "sources": [str(s) for s in r.sources],
                 "tags": list(r.tags),
                 "trials": [m.trial.label for m in r.remedies if m.trial is not None]}
                for r in kb.rules.values()]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max(len(r.id) for r in kb.rules.values()) if kb.rules else 10
    for r in kb.rules.values():
        target = f" -> {r.concludes}" if r.concludes else ""
        print(f"{r.id:<{width}}  {r.severity:<7}  {r.cf:+.2f}  {r.title}{target}")
    return EXIT_OK


def _show(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    from advisor.kb.display import fact_text, rule_text

    if args.id in kb.rules:
        print(rule_text(kb, kb.rules[args.id]))
        return EXIT_OK
    if args.id in kb.facts:
        print(fact_text(kb, kb.facts[args.id]))
        return EXIT_OK
    import difflib

    close = difflib.get_close_matches(args.id, list(kb.rules) + list(kb.facts), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    print(f"advisor: no rule or fact named '{args.id}'.{hint} "
          "`advisor kb list` shows them all.", file=sys.stderr)
    return EXIT_USAGE


def _graph(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    from advisor.kb.graph import to_dot, to_json

    sys.stdout.write(to_dot(kb) if args.format == "dot" else to_json(kb) + "\n")
    return EXIT_OK


def _test(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    from advisor.engine.examples import run_examples

    outcomes = run_examples(kb)
    failed = [o for o in outcomes if not o.passed]
    by_rule: dict[str, list] = {}
    for o in outcomes:
        by_rule.setdefault(o.rule.id, []).append(o)
    for rid, items in by_rule.items():
        bad = [o for o in items if not o.passed]
        if bad or args.verbose:
            print(f"{'FAIL' if bad else 'PASS'}  {rid}  ({len(items) - len(bad)}/{len(items)})")
        for o in bad:
            print(textwrap.indent(f"{o.example.location}: {o.describe()}", "      "))
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else EXIT_OK


def _calibrate(args: argparse.Namespace, dirs: list[str]) -> int:
    """Fit on the labelled reports (one half when a split is given), print the proposals and
    write the overlay; the overlay is then loaded with every example checked, so a file that
    would not load is never left behind unnoticed."""
    from advisor.calibration.dataset import open_reports
    from advisor.calibration.fit import Calibrator, samples_of
    from advisor.calibration.table import render_proposals
    from advisor.commands.options import check_knowledge, check_output_path
    from advisor.errors import UsageError

    check_output_path("--output", args.output)
    data = open_reports(args.reports, args.labels, args.split)
    if data.split is None and args.part != "calibration":
        raise UsageError("--part needs --split FILE (the file that says which programs belong "
                         "to which half)")
    part = args.part if data.split is not None else "all"
    cases = data.part(args.part)
    if not cases and data.split is None:
        raise UsageError(f"{data.labels}: the label file names no case; add them under "
                         "'cases:' (see docs/calibration.md)")
    if not cases:
        raise UsageError(f"no labelled case belongs to the {part} part; check the program "
                         f"names in {data.split.path}")
    for program in data.unassigned_programs():
        print(f"advisor: program '{program}' is in neither half of {data.split.path}; its "
              "cases are left out", file=sys.stderr)
    kb = check_knowledge(dirs)
    for warning in data.unknown_ids(kb):
        print(f"advisor: warning: {warning}", file=sys.stderr)
    results = data.results(cases, kb)
    failed = [r.name for r in results if r.failure]
    if failed:
        print(f"advisor: {len(failed)} case(s) without a usable report are left out: "
              f"{', '.join(failed[:10])}", file=sys.stderr)
    calibrator = Calibrator(kb, samples_of(results), min_positives=args.min_positives)
    proposals = calibrator.fit()
    joint = calibrator.joint(proposals)
    if args.format == "json":
        print(json.dumps({"part": part, "cases": len(results) - len(failed),
                          "proposals": [p.to_dict() for p in proposals],
                          "joint": {c: {"before": b.to_dict(), "after": a.to_dict()}
                                    for c, (b, a) in joint.items()}}, indent=2))
    else:
        sys.stdout.write(render_proposals(proposals, part, joint))
    if args.output:
        _write_overlay(args.output, proposals, data, part, len(results) - len(failed), dirs)
    return EXIT_OK


def _write_overlay(path: str, proposals, data, part: str, n_cases: int,
                   dirs: list[str]) -> None:
    from advisor.calibration.overlay import render_overlay
    from advisor.errors import UsageError
    from advisor.report.files import write_atomic

    where = "all cases" if part == "all" else f"the {part} cases"
    header = [f"Calibration overlay: `advisor kb calibrate {data.folder}` on {where} "
              f"({n_cases} reports), labels {data.labels}"
              + (f", split {data.split.path}" if data.split else "") + "."]
    try:
        write_atomic(path, render_overlay(proposals, header))
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the overlay: {exc.strerror or exc}") from None
    try:
        load_kb([*dirs, path], check_examples=True)
    except KBError as exc:  # a bug of ours: the proposals were checked one by one
        raise UsageError(f"{path}: the overlay was written but does not load:\n{exc}") from None
    changed = sum(1 for p in proposals if p.changed)
    print(f"\noverlay written to {path} ({changed} rule(s)); review it, then load it with "
          f"--kb: `advisor diagnose --kb {path} REPORT`, `advisor kb validate --kb {path}`")
