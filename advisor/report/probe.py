"""The probe report as plain data: setup, device, timings, facts, series, observations and
diagnoses, every value JSON-able, as one versioned JSON document (`advisor-probe-report/1`).

`facts` is a flat {name: value} mapping at the top level, so `advisor diagnose REPORT.json`
re-runs the engine on exactly what the probe observed. The report holds no engine object: its
diagnoses are the stored dictionaries, and `diagnosis()` turns them into the representation
every renderer uses, so a report read back from disk renders like a fresh one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from advisor.report.diagnosis import SEVERITIES, SEVERITY_RANK, Diagnosis
from advisor.report.files import WritesFiles
from advisor.report.html import render_probe_html
from advisor.report.markdown import render_probe_markdown
from advisor.report.text import render_probe_text

SCHEMA = "advisor-probe-report/1"


@dataclass
class ProbeReport(WritesFiles):
    """What `advisor.probe(...)` returns; `to_dict()` is the JSON document."""

    setup: dict[str, Any]
    device: dict[str, Any] | None
    options: dict[str, Any]
    timings: dict[str, float]
    facts: dict[str, Any]
    series: dict[str, Any]
    details: dict[str, Any]
    notes: list[str]
    warnings: list[dict[str, Any]]
    diagnoses: list[dict[str, Any]]
    partial: bool = False
    unknown_facts: list[str] = field(default_factory=list)
    kb_problem: str | None = None
    # what `--verify` measured (advisor.report.trials); [] and None when it did not run
    trials: list[dict[str, Any]] = field(default_factory=list)
    verification: dict[str, Any] | None = None

    # ------------------------------------------------------------------------- queries
    def ids(self, *severities: str) -> list[str]:
        """Diagnosis ids in rank order, optionally only of the given severities."""
        return [d["id"] for d in self.diagnoses if not severities or d["severity"] in severities]

    def worst_severity(self) -> str | None:
        if not self.diagnoses:
            return None
        return min((d["severity"] for d in self.diagnoses), key=SEVERITY_RANK.__getitem__)

    def fact(self, name: str, default: Any = None) -> Any:
        value = self.facts.get(name, default)
        return value["value"] if isinstance(value, dict) and "value" in value else value

    def user_error(self) -> tuple[str, str | None, str | None] | None:
        """(message, FILE:LINE in the user's code, phase) of the error the setup's code raised,
        or None when it raised none: what every rendering's error section shows."""
        message = self.fact("runtime.error_message")
        if not message:
            return None
        return (str(message), self.details.get("runtime_error_where"),
                self.details.get("runtime_error_phase"))

    def diagnosis(self) -> Diagnosis:
        """The diagnoses as the representation the renderers share."""
        return Diagnosis.from_dict({"diagnoses": self.diagnoses, "facts": self.facts,
                                    "unknown_facts": self.unknown_facts,
                                    "trials": self.trials, "verification": self.verification})

    # ------------------------------------------------------------------------- conversions
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "partial": self.partial,
            "setup": self.setup,
            "device": self.device,
            "options": self.options,
            "timings": self.timings,
            "summary": {s: sum(1 for d in self.diagnoses if d["severity"] == s)
                        for s in SEVERITIES},
            "diagnoses": self.diagnoses,
            "trials": self.trials,
            "verification": self.verification,
            "facts": self.facts,
            "series": self.series,
            "observations": {"notes": self.notes, "warnings": self.warnings,
                             "details": self.details},
            "unknown_facts": self.unknown_facts,
            "kb_problem": self.kb_problem,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeReport:
        """The report back from its JSON document (`to_dict`'s output, version 1).

        Missing sections become empty ones (a report written before `--verify` existed has no
        trials and no verification); checking a document is the reader's job
        (advisor.report.reader), which says what is wrong and where.
        """
        obs = data.get("observations") if isinstance(data.get("observations"), dict) else {}

        def section(value: Any, kind: type) -> Any:
            return value if isinstance(value, kind) else kind()

        return cls(
            setup=section(data.get("setup"), dict),
            device=data.get("device") if isinstance(data.get("device"), dict) else None,
            options=section(data.get("options"), dict),
            timings={k: v for k, v in section(data.get("timings"), dict).items()
                     if isinstance(v, (int, float)) and not isinstance(v, bool)},
            facts=section(data.get("facts"), dict),
            series=section(data.get("series"), dict),
            details=section(obs.get("details"), dict),
            notes=[str(n) for n in section(obs.get("notes"), list)],
            warnings=[w for w in section(obs.get("warnings"), list) if isinstance(w, dict)],
            diagnoses=[d for d in section(data.get("diagnoses"), list) if isinstance(d, dict)],
            partial=bool(data.get("partial", False)),
            unknown_facts=[str(x) for x in section(data.get("unknown_facts"), list)],
            kb_problem=data.get("kb_problem") if isinstance(data.get("kb_problem"), str)
            else None,
            trials=[t for t in section(data.get("trials"), list) if isinstance(t, dict)],
            verification=data.get("verification")
            if isinstance(data.get("verification"), dict) else None,
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_default, allow_nan=False) + "\n"

    def text(self) -> str:
        return render_probe_text(self)

    def markdown(self) -> str:
        return render_probe_markdown(self)

    def html(self) -> str:
        return render_probe_html(self)

    def __str__(self) -> str:
        return self.text()



def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)
