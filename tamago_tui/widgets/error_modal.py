"""A modal that explains an error and can copy its text (harlequin's ErrorModal idea)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tamago_tui.backend.errors import TamagoError


def describe(error: Exception) -> tuple[str, str, str]:
    """(title, message, category) for any exception, without a traceback."""
    if isinstance(error, TamagoError):
        return error.title, error.message, error.category
    return "Unexpected error", f"{type(error).__name__}: {error}", "unknown"


class ErrorModal(ModalScreen[None]):
    DEFAULT_CSS = """
    ErrorModal VerticalScroll {
        height: auto;
        max-height: 16;
    }
    """
    BINDINGS = [
        Binding("escape,enter", "dismiss", "Close", id="error.close", tooltip="Close this message"),
        Binding("c", "copy", "Copy text", id="error.copy", tooltip="Copy the error text"),
        Binding("g", "guide", "Show guide", id="error.guide", tooltip="Open the troubleshooting guide"),
    ]

    def __init__(self, error: Exception, context: str = ""):
        super().__init__()
        self.error = error
        self.context = context
        self.title_text, self.message, self.category = describe(error)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="screen-title")
            with VerticalScroll():
                if self.context:
                    yield Static(Text(self.context), classes="hint")
                yield Static(Text(self.message), id="error-message")
                if self.category and self.category != "unknown":
                    yield Static(f"Category: {self.category}. Press g for the fix.", classes="hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy (c)", id="copy")
                yield Button("Close (esc)", id="close", variant="primary")

    def on_mount(self) -> None:
        # enter closes: with Copy focused (the first button) it would copy instead.
        self.query_one("#close", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "guide":  # only an error with a known category has a guide
            return bool(self.category and self.category != "unknown")
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "copy":
            self.action_copy()
        else:
            self.dismiss()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(f"{self.title_text}: {self.message} [{self.category}]")
        self.notify("Error text copied to the clipboard.")

    def action_guide(self) -> None:
        self.dismiss()
        self.app.show_troubleshooting(self.message)
