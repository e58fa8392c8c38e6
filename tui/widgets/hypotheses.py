"""The ranked hypotheses beside the guided interview, each with a certainty bar.

A person answering questions wants to see what the answers are doing: the bars move after every
answer, so it is clear which hypothesis a question serves and when the picture settles. The
widget draws plain text (no child widgets) so an update is one cheap refresh and the width
adapts to the terminal.
"""

from __future__ import annotations

from advisor.tui.session import Hypothesis
from rich.text import Text
from textual.widget import Widget

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SEVERITY_MARK = {"error": "E", "warning": "W", "info": "i"}


def bar(fraction: float, width: int) -> str:
    """A bar of `width` cells, filled in eighths so small changes still show."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")
    return text.ljust(width, "·")[:width]


class HypothesisBars(Widget):
    """Top hypotheses: a severity mark, the title, a bar and the certainty."""

    DEFAULT_CSS = """
    HypothesisBars { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._items: list[Hypothesis] = []
        self.empty_text = "No hypothesis has evidence yet."

    @property
    def items(self) -> list[Hypothesis]:
        return list(self._items)

    def show(self, items: list[Hypothesis]) -> None:
        self._items = list(items)
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:  # noqa: ANN001
        return max(1, 2 * len(self._items))

    def render(self) -> Text:
        width = max(self.size.width, 12)
        if not self._items:
            return Text(self.empty_text, style="dim")
        out = Text()
        for i, h in enumerate(self._items):
            if i:
                out.append("\n")
            style = SEVERITY_STYLE.get(h.severity, "")
            out.append(f"{SEVERITY_MARK.get(h.severity, '?')} ", style=style)
            # wrapped at words under its mark, never cut: the title is what tells them apart
            out.append(_wrap(h.title, width - 2, indent="  ") + "\n")
            out.append("  ")
            out.append(bar(h.certainty, width - 8), style=style)
            out.append(f" {h.certainty:4.2f}")
        return out


def _wrap(text: str, width: int, indent: str) -> str:
    import textwrap

    lines = textwrap.wrap(text, max(width, 8), break_long_words=True) or [""]
    return ("\n" + indent).join(lines)
