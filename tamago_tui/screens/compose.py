"""Compose: To/Cc/Bcc with completion from contacts, subject, body, attachments.

ctrl+s queues the message in the outbox (on disk at once) and sends it in the
background; a failure leaves it in the outbox with its error. ctrl+l only
queues it (send later from the outbox, F5). ctrl+o edits the body in $EDITOR.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from tamago_tui.widgets.markup import escape
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, Select, Static, TextArea

from tamago_tui.backend.compose import Draft, split_addresses
from tamago_tui.backend.errors import TamagoError
from tamago_tui.backend.sending import Sender, sender_address
from tamago_tui.widgets.address_suggester import AddressSuggester
from tamago_tui.widgets.navbar import NavBar
from tamago_tui.screens.base import BaseScreen


def contact_addresses(services) -> list[str]:
    store = services.open_store()
    try:
        sql = """SELECT c.name, a.address FROM contact_addresses a JOIN contacts c ON c.id = a.contact_id
                 ORDER BY lower(c.name), c.id, a.id"""
        return [f"{name} <{addr}>" if name and name != addr else addr for name, addr in store.db.execute(sql)]
    finally:
        store.close()


class ComposeScreen(BaseScreen):
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="compose.send", priority=True),
        Binding("ctrl+o", "editor", "$EDITOR", id="compose.editor"),
        # Not ctrl+w: Input and TextArea use it to delete a word.
        Binding("ctrl+l", "queue_only", "Send later", id="compose.queue", priority=True),
        Binding("escape", "cancel", "Cancel", id="compose.cancel"),
    ]

    def __init__(self, draft: Draft | None = None, account: str | None = None, outbox_id: int | None = None):
        super().__init__()
        self.draft = draft or Draft(sender="")
        self.account_name = account
        self.outbox_id = outbox_id

    def compose(self) -> ComposeResult:
        services = self.app.services
        accounts = services.accounts()
        suggester = AddressSuggester(contact_addresses(services))
        d = self.draft
        yield NavBar("Compose" if not d.in_reply_to else "Reply")
        with Vertical(id="compose-form"):
            with Horizontal(classes="field-row"):
                yield Label("From    ", classes="field-label")
                yield Select(
                    [(a.email, a.name) for a in accounts],
                    value=self.account_name or (accounts[0].name if accounts else Select.NULL),
                    allow_blank=not accounts,
                    id="from",
                    compact=True,
                )
            for field, label, value in (("to", "To", d.to), ("cc", "Cc", d.cc), ("bcc", "Bcc", d.bcc)):
                with Horizontal(classes="field-row"):
                    yield Label(f"{label:<8}", classes="field-label")
                    yield Input(", ".join(value), id=field, suggester=suggester, compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Subject ", classes="field-label")
                yield Input(d.subject, id="subject", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Attach  ", classes="field-label")
                yield Input("; ".join(d.attachments), placeholder="paths, separated by ;", id="attach", compact=True)
            if d.attached:  # kept from the message being edited or forwarded
                with Horizontal(classes="field-row"):
                    yield Label("        ", classes="field-label")
                    yield Static(_attached_summary(d.attached), id="attached", markup=False)
        yield TextArea(d.body, id="body", soft_wrap=True)
        yield Static("", id="compose-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        if not self.app.services.accounts():
            self.query_one("#compose-status", Static).update("Add an account first (F3) to send mail.")
        target = "#body" if self.draft.to else "#to"
        self.query_one(target).focus()

    def current_draft(self) -> tuple[str | None, Draft]:
        value = self.query_one("#from", Select).value
        account = None if value is Select.NULL else str(value)
        sender = sender_address(self.app.services.account(account)) if account else ""
        attachments = tuple(p.strip() for p in self.query_one("#attach", Input).value.split(";") if p.strip())
        draft = Draft(
            sender=sender,
            to=split_addresses(self.query_one("#to", Input).value),
            cc=split_addresses(self.query_one("#cc", Input).value),
            bcc=split_addresses(self.query_one("#bcc", Input).value),
            subject=self.query_one("#subject", Input).value,
            body=self.query_one("#body", TextArea).text,
            attachments=attachments,
            attached=self.draft.attached,
            in_reply_to=self.draft.in_reply_to,
            references=self.draft.references,
        )
        return account, draft

    def _queue(self):
        account_name, draft = self.current_draft()
        if not account_name:
            raise TamagoError("Choose the account to send from (add one with F3).", title="No account")
        services = self.app.services
        account = services.account(account_name)
        if self.outbox_id is not None:
            from tamago_tui.backend.outbox import Outbox

            store = services.open_store()
            try:
                return Outbox(store).replace(self.outbox_id, account, draft)
            finally:
                store.close()
        return Sender(services).queue(account, draft)

    def action_queue_only(self) -> None:
        try:
            item = self._queue()
        except TamagoError as exc:
            self.query_one("#compose-status", Static).update(f"[b]{escape(exc.title)}:[/b] {escape(str(exc))}")
            return
        self.notify(f"Saved to the outbox as message {item.id}.")
        self.dismiss_screen()

    def action_send(self) -> None:
        try:
            item = self._queue()
        except TamagoError as exc:
            self.query_one("#compose-status", Static).update(f"[b]{escape(exc.title)}:[/b] {escape(str(exc))}")
            return
        self.notify(f"Sending “{item.subject or '(no subject)'}”…")
        deliver_in_background(self.app, item.id)
        self.dismiss_screen()

    def dismiss_screen(self) -> None:
        self.app.pop_screen()

    def action_cancel(self) -> None:
        from tamago_tui.screens.confirm import Confirm

        _, draft = self.current_draft()
        if not (draft.body.strip() or draft.subject.strip() or draft.to):
            self.dismiss_screen()
            return

        def done(discard: bool | None) -> None:
            if discard:
                self.dismiss_screen()

        self.app.push_screen(Confirm("Discard this message? (ctrl+l keeps it in the outbox instead)"), done)

    def action_editor(self) -> None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        body = self.query_one("#body", TextArea)
        with tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=False, encoding="utf-8") as handle:
            handle.write(body.text)
            path = handle.name
        try:
            with self.app.suspend():
                subprocess.call([*shlex.split(editor), path])
            with open(path, encoding="utf-8") as handle:
                body.text = handle.read()
        except OSError as exc:
            self.notify(escape(f"Could not run {editor}: {exc}"), severity="error")
        finally:
            os.unlink(path)


def _attached_summary(attached) -> str:
    from tamago_tui.screens.message import human_size

    return "and " + ", ".join(f"{name} ({human_size(len(data))})" for name, _ctype, data in attached)


def passphrase_prompt(app):
    """For a worker thread: ask for the master passphrase of the encrypted password store."""

    def ask(question: str) -> str | None:
        from tamago_tui.screens.passphrase import SecretPrompt
        from tamago_tui.widgets.ask import ask_from_thread

        return ask_from_thread(app, SecretPrompt(question))

    return ask


def deliver_in_background(app, item_id: int, force: bool = False) -> None:
    """Send an outbox message in a thread worker and tell the user how it went."""

    @work(thread=True, group="send", exit_on_error=False)
    def run(self) -> None:
        try:
            item = Sender(self.services, prompt=passphrase_prompt(self)).deliver(item_id, force=force)
        except TamagoError as exc:  # e.g. already sent, or being sent by another tamago
            self.call_from_thread(self.notify, f"Not sent: {exc}", severity="error", timeout=10)
            return
        if item.status == "sent" and item.sent_copy.startswith("failed"):
            self.call_from_thread(
                self.notify,
                f"Sent “{item.subject or '(no subject)'}”, but the copy in the Sent folder could not be "
                f"saved: {item.sent_copy[len('failed: '):]}",
                severity="warning",
                timeout=10,
            )
        elif item.status == "sent":
            self.call_from_thread(self.notify, f"Sent “{item.subject or '(no subject)'}”.")
        else:
            self.call_from_thread(
                self.notify,
                f"Not sent: {item.last_error} It stays in the outbox (F5).",
                severity="error",
                timeout=10,
            )

    run(app)
