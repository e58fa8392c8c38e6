"""How every report shows a value: numbers, certainties, fact values and durations.

Text, Markdown, HTML and the TUI all format through these functions, so one observation reads
the same wherever it is shown ("0.0001235", "yes", "+0.66", "12.3 s"). Nothing here imports
more than the standard library.
"""

from __future__ import annotations

from typing import Any

SIGNIFICANT = 4  # digits of a measured number: enough to compare, few enough to read


def number(value: float | int) -> str:
    """A measured number: integers whole, floats to four significant digits."""
    if isinstance(value, float):
        return f"{value:.{SIGNIFICANT}g}"
    return str(value)


def fact_value(value: Any, missing: str = "unknown") -> str:
    """A fact's value as a person reads it: yes/no, short numbers, `missing` for None.

    A value stored with its certainty (`{value: 0.5, cf: 0.8}`) shows both.
    """
    if value is None:
        return missing
    if isinstance(value, dict) and "value" in value:
        return f"{fact_value(value['value'], missing)} (cf {value.get('cf')})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return number(value)
    return str(value)


def certainty(value: float) -> str:
    """How sure a conclusion is, 0 to 1: `0.66`."""
    return f"{value:.2f}"


def signed_certainty(value: float | None) -> str:
    """A certainty factor of a test or a rule, -1 to 1, sign shown: `+0.66`; None: unknown."""
    return "unknown" if value is None else f"{value:+.2f}"


def duration(seconds: float) -> str:
    """A run's length: `12.3 s`."""
    return f"{seconds:.1f} s"


def seconds(value: float) -> str:
    """A phase's time in a table whose header already says seconds: `1.23`."""
    return f"{value:.2f}"
