"""Outbox: messages not yet sent, with their errors; retry, edit or drop them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from tamago_tui.widgets.markup import escape
from textual.widgets import DataTable, Footer, Static

from tamago_tui.widgets.navbar import NavBar
from tamago_tui.backend.outbox import Outbox, OutboxItem
from tamago_tui.screens.base import BaseScreen

STATUS = {
    "queued": "queued",
    "sending": "sending…",
    "sending-data": "sending…",
    "failed": "✗ failed",
    "uncertain": "? uncertain",
    "sent": "✓ sent",
}


class OutboxScreen(BaseScreen):
    BINDINGS = [
        Binding("r", "retry", "Retry", id="outbox.retry"),
        Binding("e", "edit", "Edit", id="outbox.edit"),
        Binding("d", "drop", "Drop", id="outbox.drop"),
        Binding("c", "compose", "Compose", id="outbox.compose"),
        Binding("g", "reload", "Refresh", id="outbox.reload", show=False),
    ]

    items: list[OutboxItem] = []

    def compose(self) -> ComposeResult:
        yield NavBar("Outbox", active="outbox")
        yield DataTable(id="outbox-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="outbox-detail", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("#", key="id", width=4)
        table.add_column("To", key="to", width=24)
        table.add_column("Subject", key="subject", width=30)
        table.add_column("Status", key="status", width=12)
        self.action_reload()
        self.set_interval(2, self.action_reload)

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        store = self.app.services.open_store()
        try:
            items = Outbox(store).items()
        finally:
            store.close()
        if items == self.items:
            return
        self.items = items
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for item in items:
            table.add_row(str(item.id), ", ".join(item.rcpt_to), item.subject or "(no subject)",
                          STATUS.get(item.status, item.status), key=str(item.id))
        if items:
            table.move_cursor(row=min(row, len(items) - 1))
        self.show_detail()

    def selected(self) -> OutboxItem | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return self.items[table.cursor_row]

    def show_detail(self) -> None:
        item = self.selected()
        detail = self.query_one("#outbox-detail", Static)
        if item is None:
            detail.update("The outbox is empty. Messages that fail to send wait here. c composes; F7 lists drafts.")
        elif item.last_error:
            detail.update(f"[b]{item.last_category or 'error'}[/b]: {escape(item.last_error)}")
        else:
            detail.update(f"Created {item.created_at}, {item.attempts} attempt(s).")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def action_retry(self) -> None:
        from tamago_tui.screens.compose import deliver_in_background
        from tamago_tui.screens.confirm import Confirm

        item = self.selected()
        if item is None:
            return
        if item.status == "uncertain":

            def done(yes: bool | None) -> None:
                if yes:
                    deliver_in_background(self.app, item.id, force=True)

            self.app.push_screen(
                Confirm("This message may already have been delivered. Send it again anyway?"), done
            )
            return
        deliver_in_background(self.app, item.id)
        self.notify(f"Retrying message {item.id}…")

    def action_edit(self) -> None:
        item = self.selected()
        if item is None:
            return
        if item.status == "uncertain":
            from tamago_tui.screens.confirm import Confirm

            def done(yes: bool | None) -> None:
                if yes:
                    self.open_editor(item)

            self.app.push_screen(Confirm("This message may already have been delivered. Edit it to send "
                                         "it again anyway?"), done)
            return
        self.open_editor(item)

    def open_editor(self, item: OutboxItem) -> None:
        import email
        import json
        from email import policy

        from tamago_tui.backend.compose import Draft, split_addresses
        from tamago_tui.screens.compose import ComposeScreen

        store = self.app.services.open_store()
        try:
            outbox = Outbox(store)
            raw = outbox.raw(item.id)
            row = store.db["outbox"].get(item.id)
        finally:
            store.close()
        msg = email.message_from_bytes(raw, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))

        draft = Draft(
            sender=str(msg["From"] or ""),
            to=split_addresses(str(msg["To"] or "")),  # display names may contain commas
            cc=tuple(json.loads(row.get("cc") or "[]")),
            bcc=tuple(json.loads(row.get("bcc") or "[]")),
            subject=str(msg["Subject"] or ""),
            body=body.get_content() if body is not None else "",
            in_reply_to=str(msg["In-Reply-To"] or ""),
            references=tuple(str(msg["References"] or "").split()),
            attached=tuple(
                (part.get_filename() or "attachment", part.get_content_type(), part.get_payload(decode=True) or b"")
                for part in msg.iter_attachments()
            ),
        )
        self.app.push_screen(ComposeScreen(draft, account=item.account, outbox_id=item.id))

    def action_drop(self) -> None:
        from tamago_tui.screens.confirm import Confirm

        item = self.selected()
        if item is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                store = self.app.services.open_store()
                try:
                    Outbox(store).drop(item.id)
                finally:
                    store.close()
                self.action_reload()

        self.app.push_screen(Confirm(f"Drop message {item.id} from the outbox? It will not be sent."), done)

    def action_compose(self) -> None:
        from tamago_tui.screens.drafts import open_compose

        open_compose(self.app)
