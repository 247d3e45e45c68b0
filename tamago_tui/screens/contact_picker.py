"""Pick one contact from the list, filtered as you type (the merge target). Returns its id."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from tamago_tui.backend.contacts import ContactRow, RowFilter

PAGE = 40


class ContactPicker(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="contact_picker.cancel", tooltip="Close without choosing")]

    def __init__(self, title: str, rows: list[ContactRow], exclude: int | None = None, query: str = ""):
        super().__init__()
        self.title_text = title
        self.filter = RowFilter([r for r in rows if r.id != exclude])
        self.query_text = query

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Static(Text(self.title_text), classes="screen-title")
            yield Input(self.query_text, placeholder="Filter, then enter or down to choose", id="picker-filter")
            yield DataTable(id="picker-table", cursor_type="row")
            yield Static("", id="picker-status", classes="status-line")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Name", key="name", width=26)
        table.add_column("Email", key="email", width=40)
        self.refilter()
        if not self.shown and self.query_text:  # nobody else by that name: show everyone
            self.query_one("#picker-filter", Input).value = ""

    @on(Input.Changed, "#picker-filter")
    def refilter(self) -> None:
        matches = self.filter(self.query_one("#picker-filter", Input).value)
        table = self.query_one(DataTable)
        table.clear()
        self.shown = [r.id for r in matches[:PAGE]]
        for row in matches[:PAGE]:
            table.add_row(Text(row.name), Text(row.emails), key=str(row.id))
        more = f"; showing {PAGE}" if len(matches) > PAGE else ""
        noun = "contact" if len(matches) == 1 else "contacts"
        self.query_one("#picker-status", Static).update(
            f"{len(matches)} {noun}{more} · enter chooses, esc cancels")

    @on(Input.Submitted, "#picker-filter")
    def submit_filter(self) -> None:
        if len(self.shown) == 1:
            self.dismiss(self.shown[0])
        else:
            self.query_one(DataTable).focus()

    def on_key(self, event) -> None:
        if event.key == "down" and self.focused is self.query_one("#picker-filter", Input):
            self.query_one(DataTable).focus()
            event.stop()

    @on(DataTable.RowSelected, "#picker-table")
    def chosen(self, event: DataTable.RowSelected) -> None:
        self.dismiss(int(event.row_key.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
