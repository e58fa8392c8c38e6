"""One exception base and one set of exit codes for every command.

Every error a person can cause (a bad setup, a broken knowledge file, a report that cannot be
read, a bad option) is an `AdvisorError`: the command line prints `advisor: MESSAGE` and exits
with the error's `exit_code`, never a traceback. Anything else that escapes is a bug of ours and
exits with EXIT_INTERNAL.

This module imports nothing (not even the rest of advisor), so that any layer may use it.
"""

from __future__ import annotations

EXIT_OK = 0            # done; nothing at or above --fail-on was found
EXIT_FAIL_ON = 1       # a diagnosis at or above --fail-on was found
EXIT_USAGE = 2         # bad input: options, setup, knowledge files, reports, paths
EXIT_INTERNAL = 3      # a bug in advisor (run again with ADVISOR_DEBUG=1 for the traceback)
EXIT_USER_CODE = 4     # the user's code hung past the budget or ended the process (report written)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class AdvisorError(Exception):
    """Base of every error meant for the user: `str(exc)` is the whole message."""

    exit_code = EXIT_USAGE


class UsageError(AdvisorError):
    """A bad option, path or combination of arguments."""
