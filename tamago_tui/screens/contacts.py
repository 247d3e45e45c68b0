"""Contacts: the contact book, filtered as you type."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static

from tamago_tui.widgets.navbar import NavBar
from tamago_tui.backend.contacts import ContactBook, ContactRow, filter_rows
from tamago_tui.screens.base import BaseScreen

# Enough to fill any screen; the status line tells how many more match.
VISIBLE_ROWS = 200


class ContactsScreen(BaseScreen):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="contacts.filter"),
        Binding("ctrl+n", "new", "New", id="contacts.new"),
        Binding("n", "new", "New", id="contacts.new_key", show=False),
        Binding("e", "edit", "Edit", id="contacts.edit"),
        Binding("d", "delete", "Delete", id="contacts.delete", show=False),
        Binding("escape", "clear_filter", "Clear", id="contacts.clear", show=False),
    ]

    rows: list[ContactRow] = []

    def compose(self) -> ComposeResult:
        yield NavBar("Contacts", active="contacts")
        yield Input(placeholder="Filter by name, organisation or address  (/)", id="filter")
        yield DataTable(id="contacts-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="contacts-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Name", key="name", width=24)
        table.add_column("Organisation", key="org", width=16)
        table.add_column("Email", key="email", width=32)
        self.load_rows()

    def on_screen_resume(self) -> None:
        self.load_rows()

    @work(thread=True, exclusive=True, group="contacts-load", exit_on_error=False)
    def load_rows(self) -> None:
        store = self.app.services.open_store()
        try:
            rows = ContactBook(store).rows()
        finally:
            store.close()
        self.app.call_from_thread(self._set_rows, rows)

    def _set_rows(self, rows: list[ContactRow]) -> None:
        self.rows = rows
        self.refilter()

    @on(Input.Changed, "#filter")
    def refilter(self) -> None:
        query = self.query_one("#filter", Input).value
        matches = filter_rows(self.rows, query)
        table = self.query_one(DataTable)
        table.clear()
        for row in matches[:VISIBLE_ROWS]:
            table.add_row(row.name, row.organisation, row.emails, key=str(row.id))
        status = self.query_one("#contacts-status", Static)
        if not self.rows:
            status.update("No contacts yet. Press ctrl+n to add one.")
        elif len(matches) > VISIBLE_ROWS:
            status.update(f"{len(matches)} of {len(self.rows)} contacts match; showing the first {VISIBLE_ROWS}.")
        else:
            status.update(f"{len(matches)} of {len(self.rows)} contacts")

    @on(Input.Submitted, "#filter")
    def focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def on_key(self, event) -> None:
        # Down from the filter moves into the list, so no mouse is ever needed.
        if event.key == "down" and self.focused is self.query_one("#filter", Input):
            self.focus_table()
            event.stop()

    def selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected)
    def open_contact(self, event: DataTable.RowSelected) -> None:
        from tamago_tui.screens.contact import ContactScreen

        self.app.push_screen(ContactScreen(int(event.row_key.value)))

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one(DataTable).focus()

    def action_new(self) -> None:
        from tamago_tui.screens.contact_editor import ContactEditor

        self.app.push_screen(ContactEditor(None), lambda _: self.load_rows())

    def action_edit(self) -> None:
        from tamago_tui.screens.contact_editor import ContactEditor

        contact_id = self.selected_id()
        if contact_id is not None:
            self.app.push_screen(ContactEditor(contact_id), lambda _: self.load_rows())

    def action_delete(self) -> None:
        from tamago_tui.screens.confirm import Confirm

        contact_id = self.selected_id()
        if contact_id is None:
            return

        def done(confirmed: bool | None) -> None:
            if confirmed:
                store = self.app.services.open_store()
                try:
                    ContactBook(store).delete(contact_id)
                finally:
                    store.close()
                self.load_rows()

        self.app.push_screen(Confirm("Delete this contact? Their mail stays in the mailbox."), done)
