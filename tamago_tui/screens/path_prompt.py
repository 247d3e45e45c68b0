"""Ask for a file path (for contact import and export). Returns the path typed, or None."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class PathPrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="path_prompt.cancel", tooltip="Close without a file")]

    def __init__(self, title: str, hint: str, value: str = "", action: str = "OK"):
        super().__init__()
        self.title_text, self.hint, self.value, self.action = title, hint, value, action

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="screen-title")
            yield Static(self.hint, classes="hint")
            yield Input(self.value, placeholder="~/contacts.vcf", id="path")
            yield Static("", id="path-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button(f"{self.action} (enter)", id="ok", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.submit() if event.button.id == "ok" else self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        value = self.query_one("#path", Input).value.strip()
        if not value:
            self.query_one("#path-error", Static).update("Type a file path first.")
            return
        self.dismiss(str(Path(value).expanduser()))

    def action_cancel(self) -> None:
        self.dismiss(None)
