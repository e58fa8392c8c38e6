"""Loads knowledge-base YAML files into a validated, merged KnowledgeBase.

Validation has layers, and every layer reports all of its problems at once:
YAML syntax -> the JSON Schema (`structure.py`) -> conditions -> cross-references, enums and
duplicates (`semantics.py`) -> the rule graph (`graph.py`) -> each rule's own examples.

Running examples needs the inference engine, which sits above this package: `advisor.kb`
imports nothing from `advisor.engine`. A caller hands the checker in (`example_checker=`), or
the loader binds the engine's by name when examples are asked for (`_default_checker`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.kb.conditions import ConditionParser
from advisor.kb.model import (
    Ask,
    Example,
    Fact,
    KnowledgeBase,
    Location,
    Problem,
    Remedy,
    Rule,
    SourceRef,
)
from advisor.kb.schema import kb_file_schema
from advisor.kb.structure import StructureChecker
from advisor.kb.trials import add_evidence, check_trial, make_trial, points_at_key
from advisor.kb.yamlsource import YamlDocument, YamlError, read_yaml_file

ENV_VAR = "ADVISOR_KB_PATH"
_SCHEMA = kb_file_schema()

# (what is being done: a file's path, or a stage such as "checking examples", done, total)
Progress = Callable[[str, int, int], None]
# runs every rule's examples; gets the base and a progress callback (or None)
ExampleChecker = Callable[[KnowledgeBase, "Progress | None"], list[Problem]]
# The checker used when a caller asks for examples without passing one. Named, not imported:
# it is resolved on first use only (see `_default_checker`), so this package never imports the
# engine, and `advisor.kb` loads, validates and is tested without it.
DEFAULT_EXAMPLE_CHECKER = "advisor.engine.examples:check_kb_examples"


def _default_checker() -> ExampleChecker:
    """The engine's example checker, looked up by name like a plugin.

    Running an example is inference, so it belongs to the engine, a layer above this one. A
    static import would make `kb` depend on `engine`; making every caller pass the checker
    would break the many `load_kb()` calls that rely on `check_examples=True` by default. Late
    binding by name keeps both: the dependency points from the engine to kb in code, and only
    a caller that actually checks examples loads the engine.
    """
    module, _, name = DEFAULT_EXAMPLE_CHECKER.partition(":")
    return getattr(importlib.import_module(module), name)


class KBError(AdvisorError):
    """The knowledge base has problems; `problems` lists every one with its location."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def builtin_dir() -> Path:
    """The knowledge/ folder shipped beside the advisor package (source tree or wheel)."""
    here = Path(__file__).resolve().parents[2] / "knowledge"
    if here.is_dir():
        return here
    from importlib.resources import files  # pragma: no cover - unusual install layouts

    return Path(str(files("advisor.knowledge")))


def user_dirs_from_env() -> list[Path]:
    raw = os.environ.get(ENV_VAR, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def discover(path: Path) -> list[Path]:
    """YAML files under a directory (sorted, so loading is deterministic), or the file itself."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _files(root: Path, problems: list[Problem]) -> list[Path]:
    """The YAML files of one source; a folder without any is a problem, not an empty base
    (a wrong `--kb` path must not pass silently)."""
    found = discover(root)
    if not found and root.is_dir():
        problems.append(Problem(Location(_display(root)), "holds no YAML files (*.yaml, *.yml)"))
    return found


@contextlib.contextmanager
def _without_cycle_collection():
    """Loading makes hundreds of thousands of small objects and no garbage cycles; the cyclic
    collector would scan the growing heap again and again (a third of the time for 10,000
    rules). Reference counting still frees everything; the collector resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_kb(
    extra_dirs: Iterable[str | os.PathLike] = (),
    *,
    builtin: bool = True,
    use_env: bool = True,
    check_examples: bool = True,
    example_checker: ExampleChecker | None = None,
    progress: Progress | None = None,
) -> KnowledgeBase:
    """Load the built-in base merged with user directories; raise KBError listing all problems.

    `check_examples`: also run every rule's examples, with `example_checker` or else the
    engine's (`DEFAULT_EXAMPLE_CHECKER`, resolved by name on first use).
    `progress(what, done, total)` is called as loading goes: `what` is the file being read
    (done/total count files), then "checking references", "checking the rule graph" and
    "checking examples" (done/total count rules for the last one), so a long load can show
    that it is moving. Loading never prints anything itself.
    """
    checker = None
    if check_examples:
        checker = example_checker or _default_checker()
    with _without_cycle_collection():
        return _load_kb(extra_dirs, builtin, use_env, checker, progress or _silent)


def _silent(what: str, done: int, total: int) -> None:
    """The progress callback when nobody listens."""


def _load_kb(extra_dirs: Iterable[str | os.PathLike], builtin: bool, use_env: bool,
             checker: ExampleChecker | None, progress: Progress) -> KnowledgeBase:
    sources: list[tuple[Path, bool]] = []
    if builtin:
        sources.append((builtin_dir(), True))
    user = [Path(d) for d in extra_dirs]
    if use_env:
        user += user_dirs_from_env()
    problems: list[Problem] = []
    for d in user:
        if not d.exists():
            problems.append(Problem(Location(str(d)), "no such knowledge file or directory"))
        else:
            sources.append((d, False))
    files = [(file, is_builtin) for root, is_builtin in sources for file in _files(root, problems)]
    builder = _Builder(problems)
    for done, (file, is_builtin) in enumerate(files):
        progress(_display(file), done, len(files))
        builder.add_file(file, is_builtin)
    kb = builder.finish()
    if not problems:
        # after every file is merged (a user rule may replace a built-in diagnosis and its
        # trials), before the checks, which then treat the evidence rules as any other rule
        problems += add_evidence(kb)
    if not problems:
        from advisor.kb.semantics import check_semantics

        progress("checking references", 0, 1)
        problems += check_semantics(kb)
    if not problems:
        from advisor.kb.graph import build_graph, check_graph

        progress("checking the rule graph", 0, 1)
        graph = kb.graph = build_graph(kb)
        graph_problems = check_graph(kb, graph)
        problems += [p for p in graph_problems if p.level == "error"]
        kb.warnings = [p for p in graph_problems if p.level != "error"]
    if not problems and checker is not None:
        problems += checker(kb, progress)  # the engine reuses kb.graph, built above
    if problems:
        raise KBError(problems)
    return kb


class _Builder:
    """Accumulates facts and rules file by file, resolving id clashes between sources."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.kb = KnowledgeBase()
        self.builtin_ids: set[str] = set()
        self.builtin_facts: set[str] = set()

    def add_file(self, file: Path, is_builtin: bool) -> None:
        shown = _display(file)
        try:
            doc = read_yaml_file(file, shown)
        except OSError as exc:
            self.problems.append(Problem(Location(shown),
                                         f"cannot read file: {exc.strerror or exc}"))
            return
        except YamlError as exc:
            self.problems.append(exc.problem)
            return
        self.kb.files.append(shown)
        if doc.data is None:
            return
        found = StructureChecker(_SCHEMA, doc).run()
        self.problems += found
        if found:
            return
        for i, raw in enumerate(doc.data.get("facts", [])):
            self._add_fact(_build_fact(doc, raw, ("facts", i)), is_builtin)
        parser = ConditionParser(doc, self.problems)
        for i, raw in enumerate(doc.data.get("rules", [])):
            rule = _build_rule(doc, raw, ("rules", i), parser, self.problems)
            if rule is not None:
                self._add_rule(rule, is_builtin)

    def _add_fact(self, fact: Fact, is_builtin: bool) -> None:
        old = self.kb.facts.get(fact.name)
        if old is not None:
            may_replace = fact.replaces and not is_builtin and fact.name in self.builtin_facts
            if not may_replace:
                clash = _clash("fact", fact.name, old.location)
                self.problems.append(Problem(fact.location, clash))
                return
        if is_builtin:
            self.builtin_facts.add(fact.name)
        self.kb.facts[fact.name] = fact

    def _add_rule(self, rule: Rule, is_builtin: bool) -> None:
        old = self.kb.rules.get(rule.id)
        if old is not None:
            may_replace = rule.replaces and not is_builtin and rule.id in self.builtin_ids
            if not may_replace:
                self.problems.append(Problem(rule.location, _clash("rule", rule.id, old.location)))
                return
            del self.kb.rules[rule.id]  # keep the replacement at the end: deterministic order
        if is_builtin:
            self.builtin_ids.add(rule.id)
        self.kb.rules[rule.id] = rule

    def finish(self) -> KnowledgeBase:
        return self.kb


def _clash(what: str, name: str, first: Location) -> str:
    label = "id" if what == "rule" else "name"
    return (f"duplicate {what} {label} '{name}': already defined at {first}; rename it, or add "
            f"'replaces: true' to a user {what} that deliberately replaces a built-in one")


def _display(file: Path) -> str:
    try:
        return os.path.relpath(file)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(file)


def _build_fact(doc: YamlDocument, raw: dict[str, Any], path: tuple) -> Fact:
    ask = None
    if "ask" in raw:
        spec = raw["ask"]
        choices = tuple((_choice_value(k, raw.get("type")), str(v))
                        for k, v in (spec.get("choices") or {}).items())
        ask = Ask(question=spec["question"], help=spec.get("help", ""), choices=choices)
    return Fact(
        name=raw["name"],
        type=raw["type"],
        meaning=raw["meaning"].strip(),
        location=doc.at(path),
        values=tuple(raw.get("values", ())),
        unit=raw.get("unit", ""),
        measured=raw.get("measured", "").strip(),
        ask=ask,
        replaces=raw.get("replaces", False),
    )


def _choice_value(key: Any, fact_type: str | None) -> Any:
    """YAML reads `yes:` as True already; numbers stay numbers; enum keys stay strings."""
    if fact_type == "enum":
        return str(key)
    return key


def _build_rule(doc: YamlDocument, raw: dict[str, Any], path: tuple,
                parser: ConditionParser, problems: list[Problem]) -> Rule | None:
    when = parser.parse(raw["when"], path + ("when",))
    remedies = tuple(_build_remedy(doc, r, path + ("remedies", i), problems)
                     for i, r in enumerate(raw.get("remedies", ())))
    if when is None:
        return None
    examples = tuple(
        Example(
            given=dict(ex["given"]),
            expect=ex["expect"],
            location=doc.at(path + ("examples", i)),
            name=ex.get("name", ""),
            min_cf=ex.get("min_cf"),
            fact_locations={
                k: doc.at(path + ("examples", i, "given", k), key=True) for k in ex["given"]
            },
        )
        for i, ex in enumerate(raw["examples"])
    )
    return Rule(
        id=raw["id"],
        title=raw["title"].strip(),
        kind=raw["kind"],
        severity=raw["severity"],
        cf=float(raw["cf"]),
        when=when,
        explanation=raw["explanation"].strip(),
        location=doc.at(path),
        remedies=remedies,
        sources=tuple(SourceRef(**s) for s in raw["sources"]),
        examples=examples,
        concludes=raw.get("concludes", ""),
        replaces=raw.get("replaces", False),
        contested=raw.get("contested", "").strip(),
        tags=tuple(raw.get("tags", ())),
    )


def _build_remedy(doc: YamlDocument, raw: dict[str, Any], path: tuple,
                  problems: list[Problem]) -> Remedy:
    """A remedy; a `trial:` that is not in the vocabulary is a problem at its key or value
    (and the remedy is kept without it, so the rest of the file is still checked)."""
    trial = None
    if "trial" in raw:
        spec, where = raw["trial"], path + ("trial",)
        found = check_trial(spec)
        problems += [Problem(doc.at(where + suffix, key=points_at_key(spec, suffix)), message)
                     for suffix, message in found]
        if not found:
            trial = make_trial(spec, doc.at(where))
    return Remedy(raw["action"].strip(), raw.get("detail", "").strip(),
                  tuple(raw.get("sources", ())), trial)
