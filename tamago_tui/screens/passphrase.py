"""Ask for a passphrase or password without echoing it; a new one is typed twice."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class SecretPrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="secret.cancel", tooltip="Close without a passphrase")]

    def __init__(self, question: str, hint: str = "", confirm: bool | None = None):
        super().__init__()
        self.question, self.hint = question, hint
        # A passphrase being chosen is typed twice: a typo would lock the store for good.
        self.confirm = question.startswith("Choose") if confirm is None else confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question))
            if self.hint:
                yield Static(self.hint, classes="hint")
            yield Input(password=True, id="secret")
            if self.confirm:
                yield Input(password=True, id="again", placeholder="type it again")
            yield Static("", id="secret-error", classes="error")
            yield Static("enter confirms · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#secret", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        first = self.query_one("#secret", Input).value
        if not self.confirm:
            self.dismiss(first)
        elif event.input.id == "secret":
            self.query_one("#again", Input).focus()
        elif event.value != first:
            self.query_one("#secret-error", Static).update("The two passphrases differ; type them again.")
            self.query_one("#again", Input).value = ""
            self.query_one("#secret", Input).value = ""
            self.query_one("#secret", Input).focus()
        else:
            self.dismiss(first)

    def action_cancel(self) -> None:
        self.dismiss(None)
