"""Where `ProbeReport` used to live: it is plain data in advisor.report.probe now, rendered by
advisor.report. Kept so that `from advisor.probing.report import ProbeReport` (the lazy
`advisor.probing.ProbeReport`) goes on working; new code imports advisor.report.probe."""

from advisor.report.probe import SCHEMA, ProbeReport

__all__ = ["SCHEMA", "ProbeReport"]
