"""Post-mortem from training logs (issue 12): readers turn log files into `LoggedRun` records
(`advisor.logs.run`), and `advisor.facts.logs` judges a whole run from them.

This branch (logfacts) holds only the record's minimal definition; the readers land from the
readers' branch and replace this file's docstring with theirs at merge.
"""
