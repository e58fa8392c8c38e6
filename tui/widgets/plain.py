"""A Static that never parses markup.

Everything the screens display comes from data (rule texts, error messages, questions) that may
contain square brackets, such as "allowed: [a, b]". Parsed as Textual markup that would be
mangled or raise; styling is done with rich Text objects instead.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


class Plain(Static):
    """Static(markup=False)."""

    def __init__(self, content: VisualType = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(content, markup=False, id=id, classes=classes)


def reflow(text: str) -> str:
    """Knowledge texts are YAML block scalars broken at ~100 columns; rejoin the lines of each
    paragraph so the terminal wraps them at its own width. Blank lines and list items stay."""
    paragraphs: list[str] = []
    for line in (raw.strip() for raw in text.strip().splitlines()):
        starts_item = line[:2] in ("- ", "* ") or (line[:1].isdigit() and ". " in line[:4])
        if not line:
            paragraphs.append("")
        elif paragraphs and paragraphs[-1] and not starts_item:
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
    return "\n".join(paragraphs)
