"""The calibration's proposals as a knowledge overlay a person reviews and loads with `--kb`.

Each changed rule is written whole, with `replaces: true`: a copy of its YAML mapping as written
in its source file (title, explanation, remedies, sources, examples, everything a reviewer and a
user of the base read), with only the proposed thresholds and cf patched in, and a comment above
it giving the figures that justify the change. Copying the source mapping rather than
serialising the loaded Rule keeps every field exactly as its author wrote it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from advisor.calibration.fit import Counts, Proposal, shown
from advisor.errors import AdvisorError
from advisor.kb.loader import builtin_dir
from advisor.kb.yamlsource import YamlError, read_yaml_file


class OverlayError(AdvisorError):
    """A rule's source mapping cannot be copied (its file changed or vanished since loading)."""


def is_builtin(proposal: Proposal) -> bool:
    """Whether the rule has a built-in id: written in the built-in base, or replacing one of
    its rules (an earlier overlay loaded with --kb). Only those can be replaced by a user file
    (`replaces: true`); a rule of a user's own is changed in that user's file instead."""
    if proposal.rule.replaces:
        return True
    try:
        Path(proposal.rule.location.file).resolve().relative_to(builtin_dir().resolve())
    except ValueError:
        return False
    return True


def shown_location(proposal: Proposal) -> str:
    """Where the rule was written, as `knowledge/rules/FILE.yaml:LINE` for a built-in rule
    (the same text wherever the command was run from)."""
    return shown(proposal.rule.location)


def source_mapping(proposal: Proposal) -> dict[str, Any]:
    """The rule's mapping as written in its YAML file."""
    rule = proposal.rule
    try:
        doc = read_yaml_file(rule.location.file)
    except (OSError, YamlError) as exc:
        raise OverlayError(f"{rule.location}: cannot read rule '{rule.id}' again to copy it: "
                           f"{exc}") from None
    for raw in (doc.data or {}).get("rules", []):
        if isinstance(raw, dict) and raw.get("id") == rule.id:
            return raw
    raise OverlayError(f"{rule.location}: rule '{rule.id}' is no longer in this file; run "
                       "the calibration again")


def patched_mapping(proposal: Proposal) -> dict[str, Any]:
    """The source mapping with `replaces: true` and the proposed thresholds and cf."""
    raw = dict(source_mapping(proposal))
    out: dict[str, Any] = {}
    for key, value in raw.items():
        out[key] = value
        if key == "id":
            out["replaces"] = True
    for change in proposal.atoms:
        if change.proposed is None:
            continue
        node = out["when"]
        for step in change.atom.path:
            node = node["not"] if step[0] == "not" else node[step[0]][step[1]]
        node[change.atom.op] = change.proposed
    if proposal.cf is not None:
        out["cf"] = proposal.cf
    return out


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line text (explanations read as they were written)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def figures(before: Counts, after: Counts) -> str:
    return (f"precision {_pct(before.precision)} -> {_pct(after.precision)}, recall "
            f"{_pct(before.recall)} -> {_pct(after.recall)}, F1 {before.f1:.2f} -> "
            f"{after.f1:.2f}")


def comment(proposal: Proposal) -> list[str]:
    rule = proposal.rule
    lines = [f"{rule.id} (from {shown_location(proposal)}): {proposal.positives} positive "
             f"case(s) of {rule.conclusion}; rule fires on {proposal.before.fired} -> "
             f"{proposal.after.fired}"]
    for change in proposal.atoms:
        if change.proposed is not None:
            lines.append(f"  {change.atom.fact} {change.atom.op} {change.atom.value:g} -> "
                         f"{change.proposed:g}")
    if proposal.cf is not None:
        lines.append(f"  cf {rule.cf:g} -> {proposal.cf:g} (rule precision "
                     f"{_pct(proposal.after.rule_precision)} over {proposal.after.fired} "
                     "firing(s), shrunk toward the current cf)")
    lines.append(f"  {figures(proposal.before, proposal.after)}")
    if any(c.proposed is not None for c in proposal.atoms):
        lines.append("  review: the title, explanation and remedies may quote the old threshold")
    return [f"# {line}" for line in lines]


def render_overlay(proposals: Sequence[Proposal], header: Sequence[str] = ()) -> str:
    """The overlay file: a header comment, then `rules:` with each changed built-in rule."""
    chosen = [p for p in proposals if p.changed and is_builtin(p)]
    lines = [f"# {h}" if h else "#" for h in header]
    lines += ["# Review each rule, then load this file with --kb (`advisor diagnose --kb FILE "
              "REPORT`,", "# `advisor probe --kb FILE SETUP`, `advisor kb validate --kb FILE`); "
              "see docs/calibration.md.", "version: 1"]
    if not chosen:
        return "\n".join(lines + ["rules: []"]) + "\n"
    lines.append("rules:")
    for p in chosen:
        body = yaml.dump([patched_mapping(p)], Dumper=_Dumper, sort_keys=False,
                         default_flow_style=None, width=100, allow_unicode=True)
        lines += [""] + textwrap.indent("\n".join(comment(p)), "  ").splitlines()
        lines += textwrap.indent(body, "  ").rstrip("\n").splitlines()
    return "\n".join(lines) + "\n"
