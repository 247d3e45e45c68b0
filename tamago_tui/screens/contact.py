"""Contact: one contact's mail history, from the local index at once, then brought up to date.

The first screen of rows comes straight from the index on mount. A thread
worker then runs the visit (backend.visit): every account's selected folders
are brought up to date and, where the index does not reach yet, the server is
searched for this contact. Rows arrive as HistoryUpdated messages; progress
shows in the status line, and `c` stops the fetch (what arrived stays).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.history import HistoryRow, local_history
from tamago_tui.messages import HistoryUpdated, VisitFinished
from tamago_tui.screens.base import BaseScreen

FIRST_SCREEN = 200  # rows read from the index before the screen first paints


def short_date(iso: str) -> str:
    return iso[:16].replace("T", " ") if iso else ""


def display_name(value: str) -> str:
    """'Ada Lovelace <ada@x>' -> 'Ada Lovelace'; a bare address stays as it is."""
    name, _, rest = value.partition(" <")
    return name if rest else value


def who(row: HistoryRow, own: set[str]) -> str:
    """The other party: the sender, or for mail sent from one of our accounts, 'to' its recipient."""
    address = row.sender.rpartition("<")[2].rstrip(">").strip().lower()
    if address in own and row.to:
        return "to " + display_name(row.to[0])
    return display_name(row.sender)


class ContactScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="contact.back"),
        Binding("e", "edit", "Edit contact", id="contact.edit"),
        Binding("f", "fetch", "Fetch again", id="contact.fetch"),
        Binding("c", "cancel_fetch", "Stop fetching", id="contact.cancel"),
        Binding("x", "troubleshoot", "Troubleshoot", id="contact.troubleshoot",
                tooltip="Explain why fetching failed, with the steps to fix it"),
    ]

    def __init__(self, contact_id: int, *, fetch: bool = True):
        super().__init__()
        self.contact_id = contact_id
        self.fetch_on_mount = fetch
        self.rows: list[HistoryRow] = []
        self.shown: tuple[int, ...] = ()
        self.fetching = False
        self.problems: list[str] = []
        self.errors: list[tuple[str, str, str]] = []  # (account, message, category) of the last fetch
        self.shared_note = ""
        self.progress = ""
        self.own: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Static("", id="contact-title", classes="screen-title", markup=False)
        yield Static("", id="contact-addresses", classes="hint", markup=False)
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-problems", classes="error", markup=False)
        yield Static("", id="history-status", classes="status-line", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.own = {own for a in self.app.services.accounts() for own in a.own_addresses}
        table = self.query_one(DataTable)
        table.add_column("Date", key="date", width=16)
        table.add_column("From", key="from", width=22)
        table.add_column("Subject", key="subject", width=30)
        table.add_column("Att", key="att", width=3)
        self.load_local()
        if self.fetch_on_mount:
            self.action_fetch()

    def on_screen_resume(self) -> None:
        """Back from a reply, a forward or another screen: what was sent meanwhile is in the
        local index already (backend/sentcopy.py), so show it."""
        self.reload_local()

    def reload_local(self) -> None:
        if self.is_mounted and getattr(self, "contact", None) is not None and not self.fetching:
            self.load_local()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "cancel_fetch":
            return self.fetching  # shown in the footer only while a fetch runs
        if action == "fetch":
            return not self.fetching
        if action == "troubleshoot":
            return bool(self.errors)  # shown only when a fetch failed
        return True

    # -- the local index ---------------------------------------------------

    def load_local(self) -> None:
        store = self.app.services.open_store()
        try:
            book = ContactBook(store)
            self.contact = book.get(self.contact_id)
            self.rows = local_history(store, self.contact.emails, limit=FIRST_SCREEN)
            shared = book.shared_with(self.contact.emails, exclude_id=self.contact_id)
        finally:
            store.close()
        self.shared_note = "; ".join(
            f"{address} is also on {', '.join(name for _, name in owners)}" for address, owners in shared.items()
        )
        self.query_one("#contact-title", Static).update(Text(self.contact.name))
        parts = [", ".join(self.contact.emails), self.contact.organisation]
        line = " · ".join(p for p in parts if p)
        shared_text = f"  ⚠ {self.shared_note}" if self.shared_note else ""
        self.query_one("#contact-addresses", Static).update(Text(line + shared_text))
        self.show_rows()
        self.set_status()

    def show_rows(self) -> None:
        keys = tuple(row.rowid for row in self.rows)
        if keys == self.shown:
            return
        table = self.query_one(DataTable)
        current = None
        if table.row_count:
            current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        for row in self.rows:
            table.add_row(
                short_date(row.date), Text(who(row, self.own)), Text(row.subject or "(no subject)"),
                "+" if row.has_attachments else "", key=str(row.rowid),
            )
        self.shown = keys
        if current is not None and current in {str(k) for k in keys}:
            table.move_cursor(row=table.get_row_index(current))

    def set_status(self, progress: str = "", matched: str = "") -> None:
        if not matched:
            self.progress = progress
        count = len(self.rows)
        if count:
            text = f"{count} message{'s' if count != 1 else ''}"
        else:
            text = "No messages with this contact in the index yet."
        if self.progress:
            text += f" · {self.progress}"
        if matched:
            text += f" · {matched}"
        self.query_one("#history-status", Static).update(Text(text))
        # Errors get lines of their own (the whole message, however long), above the status.
        problems = self.query_one("#history-problems", Static)
        problems.update(Text("\n".join(f"✗ {p}" for p in self.problems)
                             + ("   x explains it" if self.errors else "")))
        problems.display = bool(self.problems)

    # -- fetch on visit ----------------------------------------------------

    def action_fetch(self) -> None:
        self.problems = []
        self.errors = []
        self.fetching = True
        self.refresh_bindings()
        self.set_status("fetching…")
        self.run_visit(list(self.contact.emails))

    def action_cancel_fetch(self) -> None:
        self.workers.cancel_group(self, "visit")
        self.fetching = False
        self.refresh_bindings()
        self.set_status("fetch stopped")

    @work(thread=True, exclusive=True, exit_on_error=False, group="visit")
    def run_visit(self, addresses: list[str]) -> None:
        from tamago_tui.backend.visit import visit

        worker = get_current_worker()
        result = visit(
            self.app.services,
            addresses,
            on_update=lambda update: self.post_message(HistoryUpdated(update)),
            cancel=lambda: worker.is_cancelled,
            first_screen=None,
        )
        self.post_message(VisitFinished(result))

    @on(HistoryUpdated)
    def history_updated(self, event: HistoryUpdated) -> None:
        update = event.update
        self.rows = list(update.rows)
        self._set_errors(update.errors)
        self.show_rows()
        if update.phase == "headers" and update.total:
            self.set_status(f"{update.account}/{update.folder} {update.done}/{update.total}")
        elif update.phase in ("status", "search", "headers"):
            where = f"{update.account}/{update.folder}" if update.folder else update.account
            self.set_status(f"checking {where}…" if where else "checking…")
        else:
            self.set_status("fetching…" if self.fetching else "")

    @on(VisitFinished)
    def visit_finished(self, event: VisitFinished) -> None:
        result = event.result
        self.fetching = False
        self.refresh_bindings()
        self.rows = list(result.rows)
        self._set_errors(result.errors)
        self.show_rows()
        self.set_status("fetch stopped" if result.cancelled else "up to date" if result.ok else "")

    def _set_errors(self, errors) -> None:
        self.errors = list(errors)
        self.problems = [f"{account}: {message}" for account, message, _ in self.errors]
        self.refresh_bindings()

    # -- actions -------------------------------------------------------------

    def action_troubleshoot(self) -> None:
        """The troubleshooting screen, explaining the first account's error."""
        if not self.errors:
            return
        name, message, _category = self.errors[0]
        account = next((a for a in self.app.services.accounts() if a.name == name), None)
        self.app.show_troubleshooting(message, provider=account.provider if account else None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Say why the highlighted message belongs to this contact (from, to, cc or bcc)."""
        row = next((r for r in self.rows if str(r.rowid) == event.row_key.value), None)
        if row is not None and row.matched:
            where = f"{row.account}/{row.folder}"
            self.set_status(matched=f"matched: {', '.join(row.matched)} ({where})")

    @on(DataTable.RowSelected)
    def open_message(self, event: DataTable.RowSelected) -> None:
        from tamago_tui.screens.message import MessageScreen

        self.app.push_screen(MessageScreen(int(event.row_key.value)))

    def action_edit(self) -> None:
        from tamago_tui.screens.contact_editor import ContactEditor

        self.app.push_screen(ContactEditor(self.contact_id), lambda _: self.load_local())
