"""Training logs read from disk: TensorBoard, Hugging Face, Lightning, CSV and JSON Lines.

`read_logs(PATH)` finds the runs under PATH and returns one `LoggedRun` each (named numpy series
plus roles such as loss and lr), for the whole-run facts (advisor.facts.logs) and the
`advisor logs` command. Readers of optional formats import their package only when used.
"""

from advisor.logs.discover import read_logs
from advisor.logs.errors import LogsError, MissingExtra
from advisor.logs.run import ROLES, LoggedRun, Series, assign_roles, parse_mapping

__all__ = ["ROLES", "LoggedRun", "LogsError", "MissingExtra", "Series", "assign_roles",
           "parse_mapping", "read_logs"]
