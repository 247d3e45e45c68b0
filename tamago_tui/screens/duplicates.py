"""Duplicates: pairs of contacts that look like the same person, merged with one key."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.dedupe import DuplicatePair, find_duplicates
from tamago_tui.screens.base import BaseScreen
from tamago_tui.widgets.markup import escape


class DuplicatesScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="duplicates.back"),
        Binding("m", "merge", "Merge into first", id="duplicates.merge"),
        Binding("M", "merge_reverse", "Merge into second", id="duplicates.merge_reverse"),
    ]

    pairs: list[DuplicatePair] = []

    def compose(self) -> ComposeResult:
        yield Static("Duplicates", classes="screen-title")
        yield Static("Contacts that share an address or a name. m merges the second into the first.",
                     classes="hint")
        yield DataTable(id="duplicates-table", cursor_type="row", zebra_stripes=True)
        yield Static("Looking for duplicates...", id="duplicates-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Keep", key="keep", width=20)
        table.add_column("Merge in", key="other", width=20)
        table.add_column("Same", key="why", width=32)
        self.load()

    @work(thread=True, exclusive=True, group="duplicates", exit_on_error=False)
    def load(self) -> None:
        store = self.app.services.open_store()
        try:
            pairs = find_duplicates(store)
        finally:
            store.close()
        self.app.call_from_thread(self.show, pairs)

    def show(self, pairs: list[DuplicatePair]) -> None:
        self.pairs = pairs
        table = self.query_one(DataTable)
        table.clear()
        for index, pair in enumerate(pairs):
            # Under the "Same" header: "address ada@example.org, name".
            same = ", ".join(reason.removeprefix("same ") for reason in pair.reasons)
            table.add_row(Text(pair.keep_name), Text(pair.other_name), Text(same), key=str(index))
        plural = "" if len(pairs) == 1 else "s"
        status = f"{len(pairs)} possible duplicate{plural}" if pairs else "No duplicates found."
        self.query_one("#duplicates-status", Static).update(status)
        table.focus()

    def selected(self) -> DuplicatePair | None:
        table = self.query_one(DataTable)
        if not self.pairs or not table.row_count:
            return None
        return self.pairs[table.cursor_row]

    def action_merge(self) -> None:
        pair = self.selected()
        if pair:
            self.merge(pair.keep_id, pair.other_id, pair.other_name, pair.keep_name)

    def action_merge_reverse(self) -> None:
        pair = self.selected()
        if pair:
            self.merge(pair.other_id, pair.keep_id, pair.keep_name, pair.other_name)

    def merge(self, keep_id: int, other_id: int, other_name: str, keep_name: str) -> None:
        from tamago_tui.screens.confirm import Confirm

        def done(confirmed: bool | None) -> None:
            if not confirmed:
                return
            store = self.app.services.open_store()
            try:
                ContactBook(store).merge(keep_id, other_id)
            except Exception as exc:  # shown as a guide, never a traceback
                self.app.show_error(exc, "Merging contacts")
                return
            finally:
                store.close()
            self.notify(escape(f"Merged {other_name} into {keep_name}."))
            self.load()

        self.app.push_screen(Confirm(f"Merge {other_name} into {keep_name}? {other_name} is then deleted; "
                                     "their addresses and notes move over."), done)
