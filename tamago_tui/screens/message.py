"""Message viewer: headers at once, then the text and attachments, cached on open.

The headers come from the index; a thread worker caches the message (fetched
once with BODY.PEEK, streamed to disk; later opens are offline) and posts it
back. `r` replies, `g` replies to all (mutt's keys), `f` forwards (with the
attachments), `v` toggles the raw view, `s` saves the selected attachment to a
path, `a` adds the sender as a contact.
"""

from __future__ import annotations

import json
from dataclasses import replace

from rich.text import Text
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
        Binding("r", "reply", "Reply", id="message.reply", tooltip="Reply to the sender"),
        # "All" beside "r Reply": the footer must fit 80 columns; help and the palette say more.
        Binding("g", "reply_all", "All", id="message.reply_all",
                tooltip="Reply all: to the sender and everyone in To and Cc (mutt's g)"),
        Binding("f", "forward", "Forward", id="message.forward", tooltip="Forward the message with its files"),
        Binding("v", "toggle_raw", "Raw", id="message.raw", show=False,
                tooltip="Show the raw message (headers and MIME parts); again for the text"),
        Binding("s", "save_attachment", "Save", id="message.save",
                tooltip="Save the selected attachment to a file"),
        Binding("a", "add_sender", "Add sender", id="message.add_sender",
                tooltip="Add the sender as a contact (or edit them, if already one)"),
    ]

    sender = ""  # the From header, for "add sender as contact"
    account_name = ""  # the account the message is in: replies go out through it
    open_failed = False

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
        self.account_name = row.get("account") or ""
        lines = [f"From:    {self.sender}", f"To:      {', '.join(json.loads(row.get('recipients') or '[]'))}"]
        cc = json.loads(row.get("cc") or "[]")
        if cc:
            lines.append(f"Cc:      {', '.join(cc)}")
        lines += [f"Date:    {(row.get('date') or '')[:16].replace('T', ' ')}", f"Subject: {row.get('subject') or ''}"]
        self.query_one("#message-headers", Static).update(Text("\n".join(lines)))
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
        self.open_failed = True
        # Shown in place rather than in a modal: the headers and "add sender" stay usable.
        from tamago_tui.backend.sync import failure

        message, category, guide = failure(exc)
        lines = [f"This message could not be opened: {message}"]
        if category and category != "unknown":
            lines.append(f"Category: {category}" + (f" ({guide})" if guide else "") + ". F4 explains it.")
        lines.append("The headers above come from the index; open it again when the server is reachable.")
        self.query_one("#message-text", Static).update(Text("\n\n".join(lines)))
        self.notify("The message could not be opened.", severity="error")

    @on(MessageLoaded)
    def message_loaded(self, event: MessageLoaded) -> None:
        self.cached = event.cached
        self.refresh_bindings()
        self.show_body()
        table = self.query_one("#attachments", DataTable)
        table.clear()
        for attachment in self.cached.attachments:
            kind = attachment.content_type + (" (inline)" if attachment.inline else "")
            table.add_row(Text(attachment.filename), kind, human_size(attachment.size), key=attachment.part)
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
        self.query_one("#message-text", Static).update(Text(text))
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save_attachment":  # only offered (and shown) when there is a file to save
            return self.cached is not None and bool(self.cached.attachments)
        return super().check_action(action, parameters)

    def action_reply(self) -> None:
        self.write_back("reply")

    def action_reply_all(self) -> None:
        self.write_back("reply_all")

    def action_forward(self) -> None:
        self.write_back("forward")

    def write_back(self, kind: str) -> None:
        """Open the compose screen with a reply or forward of this message, from its account."""
        from tamago_tui.backend import compose
        from tamago_tui.backend.errors import TamagoError
        from tamago_tui.backend.sending import reply_sender
        from tamago_tui.screens.drafts import open_compose

        if self.cached is None:
            self.notify("The message could not be opened, so there is nothing to quote." if self.open_failed
                        else "The message is still opening; try again when its text is shown.",
                        severity="warning")
            return
        services = self.app.services
        try:
            account = services.account(self.account_name)
        except TamagoError:  # the account was removed since: the compose screen picks one
            account = services.accounts()[0] if services.accounts() else None
        original = compose.original_from_parsed(self.cached.parsed)
        # From the address (main or alias) the message came to, so the reply keeps the identity.
        me = reply_sender(account, original) if account else ""
        if kind == "forward":
            draft = compose.forward(original, me)
            draft = replace(draft, attached=self.forwarded_files())
        else:
            draft = compose.reply(original, me, reply_all=kind == "reply_all",
                                  own=account.own_addresses if account else ())
        open_compose(self.app, draft, account=account.name if account else None)

    def forwarded_files(self) -> tuple[tuple[str, str, bytes], ...]:
        """The files sent along with this message (not inline layout images or signatures)."""
        from tamago_tui.backend.mime import read_attachment

        return tuple(
            (a.filename, a.content_type, read_attachment(self.cached.raw_path, a.part))
            for a in self.cached.attachments
            if not a.embedded and not a.is_signature
        )

    def action_add_sender(self) -> None:
        from tamago_tui.screens.contact_editor import edit_sender

        edit_sender(self.app, self.sender)
