"""Message viewer: headers at once, then the text and attachments, cached on open.

The headers come from the index; a thread worker caches the message (fetched
once with BODY.PEEK, streamed to disk; later opens are offline) and posts it
back. `r` toggles the raw view, `s` saves the selected attachment to a path,
`a` adds the sender as a contact.
"""

from __future__ import annotations

import json

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from tamago_tui.messages import MessageLoaded
from tamago_tui.screens.base import BaseScreen


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
    return f"{size} B"  # pragma: no cover


class MessageScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="message.back"),
        Binding("r", "toggle_raw", "Raw", id="message.raw"),
        Binding("s", "save_attachment", "Save file", id="message.save"),
        Binding("a", "add_sender", "Add sender as contact", id="message.add_sender"),
    ]

    sender = ""  # the From header, for "add sender as contact"

    def __init__(self, message_rowid: int):
        super().__init__()
        self.message_rowid = message_rowid
        self.cached = None
        self.raw = False

    def compose(self) -> ComposeResult:
        yield Static("", id="message-headers", classes="hint", markup=False)
        with VerticalScroll(id="message-body"):
            yield Static("", id="message-text", markup=False)
        yield DataTable(id="attachments", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        store = self.app.services.open_store()
        try:
            rows = list(store.db["messages"].rows_where("id = ?", [self.message_rowid]))
        finally:
            store.close()
        row = rows[0] if rows else {}
        self.sender = row.get("sender") or ""
        lines = [f"From:    {self.sender}", f"To:      {', '.join(json.loads(row.get('recipients') or '[]'))}"]
        cc = json.loads(row.get("cc") or "[]")
        if cc:
            lines.append(f"Cc:      {', '.join(cc)}")
        lines += [f"Date:    {(row.get('date') or '')[:16].replace('T', ' ')}", f"Subject: {row.get('subject') or ''}"]
        self.query_one("#message-headers", Static).update("\n".join(lines))
        table = self.query_one("#attachments", DataTable)
        table.add_column("Attachment", key="name", width=40)
        table.add_column("Type", key="type", width=22)
        table.add_column("Size", key="size", width=9)
        table.display = False
        self.query_one("#message-text", Static).update("Opening the message…")
        self.load_message()

    @work(thread=True, exclusive=True, exit_on_error=False, group="open-message")
    def load_message(self) -> None:
        from tamago_tui.backend.cache import open_message

        try:
            cached = open_message(self.app.services, rowid=self.message_rowid)
        except Exception as exc:  # noqa: BLE001 - every failure is shown, with its guide
            self.app.call_from_thread(self.failed, exc)
            return
        self.post_message(MessageLoaded(cached))

    def failed(self, exc: Exception) -> None:
        # Shown in place rather than in a modal: the headers and "add sender" stay usable.
        from tamago_tui.backend.sync import failure

        message, category, guide = failure(exc)
        lines = [f"This message could not be opened: {message}"]
        if category and category != "unknown":
            lines.append(f"Category: {category}" + (f" ({guide})" if guide else "") + ". F4 explains it.")
        lines.append("The headers above come from the index; open it again when the server is reachable.")
        self.query_one("#message-text", Static).update("\n\n".join(lines))
        self.notify("The message could not be opened.", severity="error")

    @on(MessageLoaded)
    def message_loaded(self, event: MessageLoaded) -> None:
        self.cached = event.cached
        self.show_body()
        table = self.query_one("#attachments", DataTable)
        table.clear()
        for attachment in self.cached.attachments:
            kind = attachment.content_type + (" (inline)" if attachment.inline else "")
            table.add_row(attachment.filename, kind, human_size(attachment.size), key=attachment.part)
        table.display = bool(self.cached.attachments)
        table.styles.height = min(len(self.cached.attachments), 4) + 1

    def show_body(self) -> None:
        if self.cached is None:
            return
        if self.raw:
            from tamago_tui.backend.cache import raw_text

            text = raw_text(self.cached)
        else:
            text = self.cached.text.strip() or "(This message has no readable text.)"
        self.query_one("#message-text", Static).update(text)
        self.query_one("#message-body", VerticalScroll).scroll_home(animate=False)

    def action_toggle_raw(self) -> None:
        if self.cached is None:
            self.notify("The message is still opening.", severity="warning")
            return
        self.raw = not self.raw
        self.show_body()

    def action_save_attachment(self) -> None:
        from pathlib import Path

        from tamago_tui.screens.path_prompt import PathPrompt

        if self.cached is None or not self.cached.attachments:
            self.notify("This message has no attachments.", severity="warning")
            return
        table = self.query_one("#attachments", DataTable)
        part = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        attachment = self.cached.parsed.attachment(part)
        default = str(Path("~/Downloads" if Path("~/Downloads").expanduser().is_dir() else "~") / attachment.filename)

        def chosen(path: str | None) -> None:
            if path:
                self.save_to(part, path)

        self.app.push_screen(
            PathPrompt(f"Save {attachment.filename}", "Where should the attachment go?", default, "Save"), chosen
        )

    def save_to(self, part: str, path: str) -> None:
        from tamago_tui.backend.cache import save_attachment

        try:
            target = save_attachment(self.app.services, self.cached, part, path)
        except Exception as exc:  # noqa: BLE001 - shown with its guide
            self.app.show_error(exc, context="Saving the attachment")
            return
        self.notify(f"Saved {target}")

    def action_add_sender(self) -> None:
        from tamago_tui.screens.contact_editor import edit_sender

        edit_sender(self.app, self.sender)
