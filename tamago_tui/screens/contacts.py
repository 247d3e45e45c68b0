"""Contacts: the contact book, filtered as you type, instant at 50,000 contacts.

Each keystroke narrows the previous result (RowFilter) and the table holds
one page of rows, not every match: a DataTable measures each row it is
given, so 200 fresh rows per keystroke cost more than the filtering itself.
More rows are appended as the cursor nears the end of the page, and a page
that has not changed is not rebuilt. `bench/bench_contacts.py` measures it.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import CellDoesNotExist

from tamago_tui.backend import contact_io
from tamago_tui.backend.contacts import ContactBook, ContactRow, RowFilter
from tamago_tui.screens.base import BaseScreen
from tamago_tui.widgets.columns import set_columns
from tamago_tui.widgets.navbar import NavBar
from tamago_tui.widgets.markup import escape

# Rows put in the table at a time, beyond what its height shows.
KEEP_CURSOR_WITHIN = 5000  # how far down the matches a kept cursor is looked for
PAGE_MARGIN = 20
HINT = "i import  x export  m merge  u duplicates"


class ContactsScreen(BaseScreen):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="contacts.filter", tooltip="Filter the contacts"),
        Binding("ctrl+n", "new", "New", id="contacts.new", tooltip="New contact"),
        Binding("n", "new", "New", id="contacts.new_key", show=False, tooltip="New contact"),
        Binding("e", "edit", "Edit", id="contacts.edit", tooltip="Edit the selected contact"),
        Binding("d", "delete", "Delete", id="contacts.delete", show=False, tooltip="Delete the selected contact"),
        Binding("i", "import", "Import", id="contacts.import", show=False,
                tooltip="Import contacts from a vCard or CSV file"),
        Binding("x", "export", "Export", id="contacts.export", show=False,
                tooltip="Export every contact to a vCard or CSV file"),
        Binding("m", "merge", "Merge into...", id="contacts.merge", show=False,
                tooltip="Merge the selected contact into another one"),
        Binding("u", "duplicates", "Duplicates", id="contacts.duplicates", show=False,
                tooltip="Find duplicate contacts"),
        Binding("escape", "clear_filter", "Clear", id="contacts.clear", show=False,
                tooltip="Clear the filter and go to the list"),
    ]

    rows: list[ContactRow] = []
    matches: list[ContactRow] = []
    shown: list[int] = []  # ids in the table, in order

    def compose(self) -> ComposeResult:
        yield NavBar("Contacts", active="contacts")
        yield Input(placeholder="Filter by name, organisation or address  (/)", id="filter")
        yield DataTable(id="contacts-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="contacts-status", classes="status-line")
        yield Footer()

    COLUMNS = [("Name", "name", 24), ("Organisation", "org", 16), ("Email", "email", None)]

    def on_mount(self) -> None:
        self.filter = RowFilter([])
        set_columns(self.query_one(DataTable), self.COLUMNS, self.app.size.width)
        self.load_rows()

    def on_resize(self, event) -> None:
        if set_columns(self.query_one(DataTable), self.COLUMNS, event.size.width):
            self.shown = []  # the columns were rebuilt without their rows
            self.refilter()

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
        table = self.query_one(DataTable)
        keep = _cursor_key(table)  # back from a contact: the cursor stays on it, not on the first row
        self.rows = rows
        self.filter = RowFilter(rows)
        self.shown = []  # the data changed: the page must be rebuilt
        self.refilter()
        if keep is not None:
            self._show_row(keep)
        if not rows and self.focused is self.query_one("#filter", Input):
            # Nothing to filter: the list has focus, so ctrl+n and i work as the status line says.
            self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter")
    def refilter(self) -> None:
        self.matches = self.filter(self.query_one("#filter", Input).value)
        page = self.matches[: self.page_size()]
        ids = [row.id for row in page]
        if ids != self.shown:
            table = self.query_one(DataTable)
            table.clear()
            self._append(page)
            self.shown = ids
        self._update_status()

    def _show_row(self, key: str) -> None:
        """Put the cursor on the contact `key` if it is among the matches (pages appended as needed)."""
        at = next((i for i, row in enumerate(self.matches[:KEEP_CURSOR_WITHIN]) if str(row.id) == key), None)
        if at is None:
            return
        if at >= len(self.shown):
            self._show_more(at + PAGE_MARGIN)
        self.query_one(DataTable).move_cursor(row=at)

    def _show_more(self, end: int) -> None:
        """Append the matches after the rows shown, up to index `end`."""
        more = self.matches[len(self.shown): end]
        self._append(more)
        self.shown = self.shown + [row.id for row in more]

    def page_size(self) -> int:
        return max(self.query_one(DataTable).size.height, 24) + PAGE_MARGIN

    def _append(self, rows: list[ContactRow]) -> None:
        table = self.query_one(DataTable)
        for row in rows:
            # Text, not str: a DataTable reads a str as markup, and "Ada [/b]" would crash it.
            table.add_row(Text(row.name), Text(row.organisation), Text(row.emails), key=str(row.id))

    @on(DataTable.RowHighlighted, "#contacts-table")
    def more_rows(self, event: DataTable.RowHighlighted) -> None:
        """Append the next page when the cursor comes near the end of this one."""
        shown = len(self.shown)
        if event.cursor_row >= shown - 10 and shown < len(self.matches):
            self._show_more(shown + self.page_size())
            self._update_status()

    def _update_status(self) -> None:
        status = self.query_one("#contacts-status", Static)
        total, found = len(self.rows), len(self.matches)
        if not self.rows:
            status.update("No contacts yet. Press ctrl+n to add one, or i to import a file.")
        elif found == total:
            status.update(f"{total} contact{'s' if total != 1 else ''}    {HINT}")
        else:
            status.update(f"{found} of {total} contacts match    {HINT}")

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

    def selected_row(self) -> ContactRow | None:
        contact_id = self.selected_id()
        return next((r for r in self.matches if r.id == contact_id), None)

    @on(DataTable.RowSelected, "#contacts-table")
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

    # -- import, export, merge -------------------------------------------

    def action_import(self) -> None:
        from tamago_tui.screens.path_prompt import PathPrompt

        prompt = PathPrompt(
            "Import contacts",
            "A vCard (.vcf: 2.1, 3.0 or 4.0) or CSV file (.csv: Google, Outlook, Thunderbird or "
            "tamago columns). Contacts with an address you already have are merged, not duplicated.",
            action="Import",
        )
        self.app.push_screen(prompt, lambda path: path and self.run_import(path))

    @work(thread=True, exclusive=True, group="contacts-io", exit_on_error=False)
    def run_import(self, path: str) -> None:
        store = self.app.services.open_store()
        try:
            report = contact_io.import_file(ContactBook(store), path)
        except Exception as exc:
            self.app.call_from_thread(self.app.show_error, exc, f"Importing {path}")
            return
        finally:
            store.close()
        self.app.call_from_thread(self._imported, path, report)

    def _imported(self, path: str, report: contact_io.ImportReport) -> None:
        self.last_import = report
        warnings = f" {len(report.warnings)} warnings (see `tamago contacts import`)." if report.warnings else ""
        self.notify(escape(f"Imported {path}: {report.summary()}.{warnings}"), title="Import")
        self.load_rows()

    def action_export(self) -> None:
        from tamago_tui.screens.path_prompt import PathPrompt

        prompt = PathPrompt(
            "Export contacts",
            "Every contact goes to this file. The name picks the format: .vcf for vCard 4.0, "
            ".csv for CSV (name,emails,organisation,notes).",
            value="contacts.vcf",
            action="Export",
        )
        self.app.push_screen(prompt, lambda path: path and self.run_export(path))

    @work(thread=True, exclusive=True, group="contacts-io", exit_on_error=False)
    def run_export(self, path: str) -> None:
        store = self.app.services.open_store()
        try:
            count = contact_io.export_file(ContactBook(store), path)
        except Exception as exc:
            self.app.call_from_thread(self.app.show_error, exc, f"Exporting to {path}")
            return
        finally:
            store.close()
        self.app.call_from_thread(self.notify, escape(f"Exported {count} contacts to {path}."), title="Export")

    def action_merge(self) -> None:
        """Merge the selected contact into another one, chosen from a filtered list."""
        from tamago_tui.screens.contact_picker import ContactPicker

        source = self.selected_row()
        if source is None:
            return
        # Pre-filled with the name's words ("Lovelace, Ada" -> "Lovelace Ada") to find its twin.
        words = " ".join(re.findall(r"[^\W_]+", source.name)) if "@" not in source.name else ""
        picker = ContactPicker(f"Merge {source.name} into...", self.rows, exclude=source.id, query=words)
        self.app.push_screen(picker, lambda target: target and self._confirm_merge(source, target))

    def _confirm_merge(self, source: ContactRow, target_id: int) -> None:
        from tamago_tui.screens.confirm import Confirm

        target = next((r for r in self.rows if r.id == target_id), None)
        target_name = target.name if target else f"contact {target_id}"

        def done(confirmed: bool | None) -> None:
            if not confirmed:
                return
            store = self.app.services.open_store()
            try:
                ContactBook(store).merge(target_id, source.id)
            except Exception as exc:
                self.app.show_error(exc, "Merging contacts")
                return
            finally:
                store.close()
            self.notify(escape(f"Merged {source.name} into {target_name}."))
            self.load_rows()

        self.app.push_screen(Confirm(f"Merge {source.name} into {target_name}? {source.name} is then "
                                     "deleted; their addresses and notes move over."), done)

    def action_duplicates(self) -> None:
        from tamago_tui.screens.duplicates import DuplicatesScreen

        self.app.push_screen(DuplicatesScreen())


def _cursor_key(table: DataTable) -> str | None:
    if not table.row_count or table.cursor_row < 0:
        return None
    try:
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
    except CellDoesNotExist:  # a table being rebuilt: no cursor to keep
        return None
