"""Help (F1 or ?): the keys of every screen, the current one first.

Over SSH at 80 columns the footer shows only a few keys; this lists all of
them, including those hidden from the footer, without needing the palette.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tamago_tui.keys import KeyEntry, own_bindings, screen_title

MOVING_AROUND = [
    ("tab / shift+tab", "Next / previous field or list"),
    ("up / down", "Move in a list; down from a filter goes into the list"),
    ("enter", "Open the highlighted row, or press the focused button"),
    ("space", "Tick or untick a checkbox or a folder"),
    ("ctrl+p", "Command palette: every action of this screen, by name"),
    ("ctrl+q", "Quit tamago"),
]


def _screen_classes() -> list[type]:
    """Every screen with keys of its own, in the order a person meets them."""
    from tamago_tui.screens.account_editor import AccountEditor
    from tamago_tui.screens.accounts import AccountsScreen
    from tamago_tui.screens.compose import ComposeScreen
    from tamago_tui.screens.connection_test import ConnectionTestScreen
    from tamago_tui.screens.contact import ContactScreen
    from tamago_tui.screens.contact_editor import ContactEditor
    from tamago_tui.screens.contacts import ContactsScreen
    from tamago_tui.screens.drafts import DraftsScreen
    from tamago_tui.screens.duplicates import DuplicatesScreen
    from tamago_tui.screens.oauth_signin import OAuthSignInScreen
    from tamago_tui.screens.message import MessageScreen
    from tamago_tui.screens.outbox import OutboxScreen
    from tamago_tui.screens.troubleshoot import TroubleshootScreen

    return [ContactsScreen, ContactScreen, MessageScreen, ContactEditor, DuplicatesScreen,
            AccountsScreen, AccountEditor, ConnectionTestScreen, OAuthSignInScreen, TroubleshootScreen,
            OutboxScreen, ComposeScreen, DraftsScreen]


Section = tuple[str, list[tuple[str, str]]]  # a title, then (keys, what they do) rows


def _rows(entries: list[KeyEntry], top_level: bool) -> list[tuple[str, str]]:
    # "esc Back" means nothing on a top-level (F2-F5) screen.
    return [(e.label, e.text) for e in entries if not (top_level and e.action == "back")]


def help_sections(current: Screen | None, app) -> list[Section]:
    """This screen, the global keys, moving around, then every other screen."""
    top_level = set(app.MODES.values())
    sections: list[Section] = []
    current_class = type(current) if current is not None else None
    if current_class is not None and own_bindings(current_class):
        rows = _rows(own_bindings(current_class), current_class in top_level)
        sections.append((f"This screen: {screen_title(current_class)}", rows))
    sections.append(("Everywhere", _rows(own_bindings(type(app)), False)))
    sections.append(("Moving around", MOVING_AROUND))
    for cls in _screen_classes():
        if current_class is not None and issubclass(current_class, cls):
            continue
        sections.append((screen_title(cls), _rows(own_bindings(cls), cls in top_level)))
    return sections


def render_sections(sections: list[Section]) -> Group:
    parts: list = []
    for title, rows in sections:
        table = Table.grid(padding=(0, 1))
        table.add_column(width=16, style="bold", no_wrap=True)
        table.add_column(ratio=1)  # long descriptions wrap under themselves, not under the keys
        for keys, text in rows:
            table.add_row(keys, text)
        parts += [Text(title, style="bold underline"), table, Text("")]
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen .dialog {
        height: 100%;
    }
    HelpScreen #help-scroll {
        height: 1fr;
    }
    """
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
    ]

    def __init__(self, current: Screen | None):
        super().__init__()
        self.current = current
        self.sections: list[Section] = []

    def compose(self) -> ComposeResult:
        self.sections = help_sections(self.current, self.app)
        with Vertical(classes="dialog"):
            yield Static("Keys · esc closes · up/down/page keys scroll", classes="screen-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(render_sections(self.sections), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
