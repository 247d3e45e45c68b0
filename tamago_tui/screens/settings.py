"""Settings: the [settings] of config.toml, one line each, with the focused one explained.

Opened with `g` on the accounts screen or "Settings" in the command palette. Values
are checked as the config file's are (config.settings_from_text); ctrl+s saves through
the services, which merge into config.toml as it is now (a hand edit made meanwhile
stays). Accounts have their own editor; this screen never shows a secret.
"""

from __future__ import annotations

from dataclasses import fields, replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tamago_tui.backend.config import Settings, setting_help, settings_from_text
from tamago_tui.backend.errors import TamagoError
from tamago_tui.widgets.markup import escape


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class SettingsScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="settings.save", priority=True, tooltip="Save the settings"),
        Binding("escape", "cancel", "Cancel", id="settings.cancel", tooltip="Close without saving"),
    ]

    def compose(self) -> ComposeResult:
        settings = self.app.services.settings
        with Vertical(classes="dialog", id="settings-dialog"):
            yield Static("Settings  (config.toml [settings])", classes="screen-title", markup=False)
            for f in fields(Settings):
                with Horizontal(classes="field-row"):
                    yield Label(f.name, classes="setting-label")
                    yield Input(_shown(getattr(settings, f.name)), id=f.name, compact=True)
            yield Static("", id="setting-help", classes="hint")
            yield Static("", id="settings-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_descendant_focus(self, event) -> None:
        widget = event.widget
        if isinstance(widget, Input):
            self.query_one("#setting-help", Static).update(Text(setting_help(widget.id)))

    @on(Input.Submitted)
    def next_field(self) -> None:
        """Enter moves on to the next setting; ctrl+s saves."""
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_save() if event.button.id == "save" else self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_save(self) -> None:
        services = self.app.services
        typed = {f.name: self.query_one(f"#{f.name}", Input).value for f in fields(Settings)}
        try:
            settings = settings_from_text(typed, services.settings)
            changed = settings != services.settings
            if changed:
                services.save_config(replace(services.config, settings=settings))
        except TamagoError as exc:
            self.query_one("#settings-error", Static).update(f"[b]Not saved:[/b] {escape(str(exc))}")
            return
        self.notify("Settings saved to config.toml." if changed else "No setting changed.")
        self.dismiss(changed)
