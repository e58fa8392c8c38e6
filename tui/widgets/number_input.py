"""An Input for numeric answers that does not swallow the screen's command keys.

Textual's Input consumes every printable key, even those its `type="number"` then rejects, so
a person typing an answer could not press `w` (why?) or `b` (back) without first leaving the
field. This Input keeps only the characters a number can contain and lets the rest reach the
screen's bindings. `e` stays part of numbers (1e-3), which is why no binding uses it.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

NUMBER_CHARS = frozenset("0123456789.,-+eE_")


class NumberInput(Input):
    """A text Input that takes only number characters and lets other keys reach the screen.

    Not `type="number"`: Textual's number type drops a typed comma, so `0,001` arrived as
    `0001` and was recorded as 1 (a false "hyperparameter out of range"). The comma is kept
    here and `advisor.tui.session.parse_number` decides, visibly, what the text means.
    """

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, type="text", id=id,
                         restrict=r"[0-9.,+\-eE_]*")

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Only number characters are ours, so the footer keeps showing the screen's keys."""
        return character is not None and character in NUMBER_CHARS

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character not in NUMBER_CHARS:
            # Stops Input's own key handler (next in the MRO) from inserting or swallowing it;
            # the event still bubbles up to the screen, whose bindings then run.
            event.prevent_default()
