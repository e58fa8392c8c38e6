"""A text pane that wraps each paragraph at its own width, keeping the paragraph's indent.

Knowledge texts arrive broken at the author's column (YAML block scalars) or at 78 columns
(`advisor kb show`); shown in a 47-column pane, every line then wraps once more, leaving a
ragged half line after each. Here each block is one unbroken paragraph, wrapped with its
indent (and a hanging indent for numbered items) whenever the pane's width changes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual.geometry import Size

MIN_WIDTH = 20


@dataclass(frozen=True)
class Block:
    """One paragraph: its text, the indent of its first line and of the following ones."""

    text: str
    indent: int = 0
    hang: int | None = None  # indent of continuation lines; None: same as `indent`
    style: str = ""


def wrap_blocks(blocks: list[Block], width: int) -> Text:
    """The blocks wrapped at `width`, words kept whole (a word longer than a line is cut)."""
    width = max(width, MIN_WIDTH)
    out = Text()
    for i, block in enumerate(blocks):
        if i:
            out.append("\n")
        if not block.text:
            continue
        first = " " * block.indent
        rest = " " * (block.indent if block.hang is None else block.hang)
        lines = textwrap.wrap(block.text, width, initial_indent=first, subsequent_indent=rest,
                              break_on_hyphens=False) or [first]
        out.append("\n".join(lines), style=block.style)
    return out


class Reflowed(Plain):
    """A Plain whose content is a list of `Block`s, wrapped at the width it is drawn at.

    `visual` (what `update` was given) is the unwrapped text, one line per paragraph: what the
    pane says, independent of the terminal's size."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.blocks: list[Block] = []

    def show(self, blocks: list[Block] | Text) -> None:
        if isinstance(blocks, Text):  # a one-off message: Textual wraps it
            self.blocks = []
            self.update(blocks)
            return
        self.blocks = list(blocks)
        self.update(Text("\n".join(" " * b.indent + b.text for b in self.blocks)))

    def render(self):  # type: ignore[override]
        if not self.blocks:
            return super().render()
        return wrap_blocks(self.blocks, self.content_region.width or self.size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self.blocks:
            return super().get_content_height(container, viewport, width)
        return len(wrap_blocks(self.blocks, width).plain.split("\n"))
