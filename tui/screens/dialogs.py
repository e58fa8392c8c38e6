"""Small modal dialogs: ask for a path or spec, show a message (an error, a WHY explanation).

Every error the UI can meet (a broken report, a setup that does not load, a knowledge base with
problems) ends up in a `MessageScreen`, so the person reads it in full and nothing crashes.
"""

from __future__ import annotations

from collections.abc import Callable

from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input


class PromptScreen(ModalScreen[str | None]):
    """One line of input. `check` may return an error message, which keeps the dialog open."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "", help: str = "",
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.help = help
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Plain(self.title_text, classes="dialog-title")
            if self.help:
                yield Plain(self.help, classes="dialog-help")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Plain("", id="prompt-error", classes="dialog-error")
            yield Plain("enter: OK   escape: cancel", classes="dialog-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        error = "Type a value first." if not value else (self.check(value) if self.check else None)
        if error:
            self.query_one("#prompt-error", Plain).update(error)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MessageScreen(ModalScreen[None]):
    """A titled, scrollable message; any of escape, enter, q or w closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
        Binding("w", "close", "Close", show=False),
    ]

    def __init__(self, title: str, text: str | Text, *, error: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-error-box" if self.error else "dialog"):
            yield Plain(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                body = self.text if isinstance(self.text, Text) else Text(self.text)
                yield Plain(body, id="message-text")
            yield Plain("escape / enter: close", classes="dialog-keys")

    def action_close(self) -> None:
        self.dismiss(None)

    @property
    def message_text(self) -> str:
        return self.text.plain if isinstance(self.text, Text) else self.text
