"""Message viewer: headers, readable text and attachments from the cache; a raw view on r."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static
from tamago_tui.screens.base import BaseScreen


class MessageScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="message.back"),
        Binding("a", "add_sender", "Add sender as contact", id="message.add_sender"),
    ]

    sender = ""  # the From header, for "add sender as contact"

    def __init__(self, message_rowid: int):
        super().__init__()
        self.message_rowid = message_rowid

    def compose(self) -> ComposeResult:
        yield Static("", id="message-headers", classes="hint")
        with VerticalScroll(id="message-body"):
            yield Static("", id="message-text")
        yield Footer()

    def on_mount(self) -> None:
        store = self.app.services.open_store()
        try:
            rows = list(store.db["messages"].rows_where("id = ?", [self.message_rowid]))
            row = rows[0] if rows else {}
            self.sender = row.get("sender") or ""
            body = None
            if row.get("message_id"):
                found = list(store.db["bodies"].rows_where("message_id = ?", [row["message_id"]]))
                body = found[0] if found else None
        finally:
            store.close()
        headers = [
            f"From:    {row.get('sender', '')}",
            f"To:      {', '.join(json.loads(row.get('recipients') or '[]'))}",
            f"Date:    {row.get('date', '')}",
            f"Subject: {row.get('subject', '')}",
        ]
        self.query_one("#message-headers", Static).update("\n".join(headers))
        text = body["text"] if body else "This message is not cached yet."
        self.query_one("#message-text", Static).update(text)

    def action_add_sender(self) -> None:
        from tamago_tui.screens.contact_editor import edit_sender

        edit_sender(self.app, self.sender)
