"""Troubleshooting: explain an error and show the fix."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from tamago_tui.widgets.navbar import NavBar


class TroubleshootScreen(Screen):
    BINDINGS = [
        Binding("ctrl+e", "explain", "Explain", id="troubleshoot.explain"),
    ]

    def compose(self) -> ComposeResult:
        yield NavBar("Troubleshooting", active="troubleshoot")
        yield Static("Paste an error message below, then press ctrl+e.", classes="hint")
        yield TextArea(id="error-text")
        yield Static("", id="guide")
        yield Footer()

    def show_text(self, text: str, provider: str | None = None) -> None:
        self.query_one("#error-text", TextArea).text = text
        self.action_explain()

    def action_explain(self) -> None:
        self.query_one("#guide", Static).update("")
