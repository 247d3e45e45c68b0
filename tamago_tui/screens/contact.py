"""Contact: one contact's mail history, from the local index at once, then brought up to date."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.history import HistoryRow, local_history
from tamago_tui.screens.base import BaseScreen


def short_date(iso: str) -> str:
    return iso[:16].replace("T", " ") if iso else ""


class ContactScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="contact.back"),
        Binding("e", "edit", "Edit contact", id="contact.edit"),
    ]

    def __init__(self, contact_id: int):
        super().__init__()
        self.contact_id = contact_id
        self.rows: list[HistoryRow] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="contact-title", classes="screen-title")
        yield Static("", id="contact-addresses", classes="hint")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Date", key="date", width=16)
        table.add_column("From", key="from", width=22)
        table.add_column("Subject", key="subject", width=30)
        table.add_column("Att", key="att", width=3)
        self.load_local()

    def load_local(self) -> None:
        store = self.app.services.open_store()
        try:
            self.contact = ContactBook(store).get(self.contact_id)
            self.rows = local_history(store, self.contact.emails)
        finally:
            store.close()
        self.query_one("#contact-title", Static).update(self.contact.name)
        org = f" · {self.contact.organisation}" if self.contact.organisation else ""
        self.query_one("#contact-addresses", Static).update(", ".join(self.contact.emails) + org)
        self.show_rows()

    def show_rows(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in self.rows:
            table.add_row(
                short_date(row.date), row.sender, row.subject or "(no subject)",
                "+" if row.has_attachments else "", key=str(row.rowid),
            )
        status = f"{len(self.rows)} messages" if self.rows else "No messages with this contact in the index yet."
        self.query_one("#history-status", Static).update(status)

    @on(DataTable.RowSelected)
    def open_message(self, event: DataTable.RowSelected) -> None:
        from tamago_tui.screens.message import MessageScreen

        self.app.push_screen(MessageScreen(int(event.row_key.value)))

    def action_edit(self) -> None:
        from tamago_tui.screens.contact_editor import ContactEditor

        self.app.push_screen(ContactEditor(self.contact_id), lambda _: self.load_local())
