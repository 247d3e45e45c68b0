"""Compose: To/Cc/Bcc with completion from contacts, subject, body, attachments.

ctrl+s queues the message in the outbox (on disk at once) and sends it in the
background; a failure leaves it in the outbox with its error. ctrl+l only
queues it (send later from the outbox, F5). ctrl+o edits the body in $EDITOR.

Everything typed is kept as a draft (backend/drafts.py): saved in a worker
thread AUTOSAVE_DELAY seconds after the last change (and at least every
AUTOSAVE_MAX_WAIT seconds while typing goes on), when the screen is left, and
before tamago quits. Queuing the message deletes the draft in the same
transaction. esc asks whether to keep the draft, discard it, or go on writing.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
from datetime import datetime
from email.utils import parseaddr

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from tamago_tui.widgets.markup import escape
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, Select, Static, TextArea

from tamago_tui.backend.compose import Draft, split_addresses
from tamago_tui.backend.drafts import DraftKeeper, has_content
from tamago_tui.backend.errors import TamagoError
from tamago_tui.messages import DraftNotSaved, DraftSaved
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

    # Seconds of quiet after a change before the draft is saved, and the longest a change
    # waits while typing goes on. Tests and snapshots change them.
    AUTOSAVE_DELAY = 0.5  # a kill -9 or a dropped SSH session loses at most this much typing
    AUTOSAVE_MAX_WAIT = 3.0

    def __init__(self, draft: Draft | None = None, account: str | None = None, outbox_id: int | None = None,
                 draft_id: int | None = None):
        super().__init__()
        self.draft = draft or Draft(sender="")
        self.account_name = account
        self.outbox_id = outbox_id
        self.draft_id = draft_id
        self.keeper: DraftKeeper | None = None
        self._baseline: tuple | None = None  # the form as opened
        self._dispatched: tuple | None = None  # the last content handed to a save worker
        self._saved: tuple | None = None  # the last content known to be on disk
        self._timer = None
        self._dirty_since: float | None = None
        self._save_failing = False

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
                    from_options(accounts),
                    value=self._initial_from(accounts),
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
        with Horizontal(id="compose-status-row"):
            yield Static("", id="compose-status", classes="status-line")
            yield Static("", id="draft-state", classes="status-line")
        yield Footer()

    def _initial_from(self, accounts) -> tuple[str, str] | object:
        """The account asked for (else the one whose address the draft is from, else the first),
        sending as the draft's From when that is one of its addresses (a reply to an alias)."""
        if not accounts:
            return Select.NULL
        sender = parseaddr(self.draft.sender)[1].lower()
        chosen = next((a for a in accounts if a.name == self.account_name), None) or next(
            (a for a in accounts if sender and sender in (s.lower() for s in a.sending_addresses)), accounts[0])
        address = next((s for s in chosen.sending_addresses if s.lower() == sender), chosen.email)
        return (chosen.name, address)

    def on_mount(self) -> None:
        if not self.app.services.accounts():
            self.query_one("#compose-status", Static).update("Add an account first (F3) to send mail.")
        target = "#body" if self.draft.to else "#to"
        self.query_one(target).focus()
        self.keeper = DraftKeeper(self.app.services.drafts, draft_id=self.draft_id, outbox_id=self.outbox_id)
        self._baseline = self._content()
        self._saved = self._dispatched = self._baseline if self.draft_id is not None else None
        if self.draft_id is not None:
            self.query_one("#draft-state", Static).update("Draft resumed")

    # -- autosave ------------------------------------------------------------------------------

    def _content(self) -> tuple:
        """What the form holds, comparable; the worker saves `current_draft()` made from the same widgets."""
        value = self.query_one("#from", Select).value
        return (None if value is Select.NULL else tuple(value),
                *(self.query_one(f"#{name}", Input).value for name in ("to", "cc", "bcc", "subject", "attach")),
                self.query_one("#body", TextArea).text)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._edited()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._edited()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._edited()

    def _edited(self) -> None:
        if self.keeper is None or self.keeper.closed:
            return  # still mounting, or the message is gone to the outbox
        now = time.monotonic()
        if self._dirty_since is None:
            self._dirty_since = now
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if now - self._dirty_since >= self.AUTOSAVE_MAX_WAIT:
            self.autosave()
        else:
            self._timer = self.set_timer(self.AUTOSAVE_DELAY, self.autosave)

    def _unchanged(self, content: tuple) -> bool:
        """Nothing to save: the content is already saved (or being saved), or untouched and never saved."""
        if content == self._dispatched:
            return True
        return self.keeper.draft_id is None and (content == self._baseline or not has_content(self.current_draft()[1]))

    def autosave(self) -> None:
        """Hand the form's content to a worker thread to save, if it changed."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._dirty_since = None
        if self.keeper is None or self.keeper.closed or not self.is_mounted:
            return
        content = self._content()
        if self._unchanged(content):
            return
        account, draft = self.current_draft()
        self._dispatched = content
        self._save_in_thread(self.keeper.next_snapshot(), account or "", draft, content)

    @work(thread=True, group="draft-save", exit_on_error=False)
    def _save_in_thread(self, snapshot: int, account: str, draft: Draft, content: tuple) -> None:
        try:
            saved = self.keeper.save(snapshot, account, draft)
        except TamagoError as exc:
            self.post_message(DraftNotSaved(exc, content))
            return
        if saved is not None:
            self.post_message(DraftSaved(saved.id, content))

    def on_draft_saved(self, event: DraftSaved) -> None:
        self._saved = event.content
        if self._save_failing:
            self._save_failing = False
            self.query_one("#compose-status", Static).update("")
        self.query_one("#draft-state", Static).update(f"Draft saved {datetime.now():%H:%M}")

    def on_draft_not_saved(self, event: DraftNotSaved) -> None:
        if self._dispatched == event.content:
            self._dispatched = self._saved  # so the next change, or leaving, tries again
        self._show_save_error(event.error)

    def _show_save_error(self, error: TamagoError) -> None:
        self.query_one("#draft-state", Static).update("[b]Draft NOT saved[/b]")
        self.query_one("#compose-status", Static).update(f"[b]{escape(error.title)}:[/b] {escape(str(error))}")
        if not self._save_failing:  # once per failure, not at every keystroke
            self.notify(escape(f"The draft could not be saved: {error} The text stays here."),
                        severity="error", timeout=10)
        self._save_failing = True

    def save_now(self) -> bool:
        """Save on this thread, at once (leaving the screen, quitting). False when it failed."""
        if self.keeper is None or self.keeper.closed or not self.is_mounted:
            return True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        content = self._content()
        if content == self._saved or (self.keeper.draft_id is None and self._unchanged(content)):
            return True
        account, draft = self.current_draft()
        try:
            saved = self.keeper.save(self.keeper.next_snapshot(), account or "", draft)
        except TamagoError as exc:
            self._show_save_error(exc)
            return False
        if saved is not None:
            self._saved = self._dispatched = content
        return True

    def on_screen_suspend(self) -> None:
        # Another screen on top, or F2-F5 switched away: save what is pending now.
        if self._timer is not None:
            self.autosave()

    # -- the message -----------------------------------------------------------------------------

    def current_draft(self) -> tuple[str | None, Draft]:
        value = self.query_one("#from", Select).value
        account, address = (None, None) if value is Select.NULL else value
        sender = sender_address(self.app.services.account(account), address) if account else ""
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
        """Into the outbox; the draft is deleted in the same transaction (see backend/drafts.py)."""
        account_name, draft = self.current_draft()
        if not account_name:
            raise TamagoError("Choose the account to send from (add one with F3).", title="No account")
        account = self.app.services.account(account_name)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        return self.keeper.queue(account, draft)

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
        from tamago_tui.screens.drafts import KeepDraft

        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        content = self._content()
        if self.keeper.draft_id is None and (content == self._baseline or not has_content(self.current_draft()[1])):
            self.dismiss_screen()  # nothing typed, nothing stored: nothing to lose
            return

        def done(answer: str | None) -> None:
            if answer == "keep":
                if self.save_now():
                    self.notify("Draft kept: F7 lists the drafts, F6 offers them again.")
                    self.dismiss_screen()
            elif answer == "discard":
                try:
                    self.keeper.discard()
                except TamagoError as exc:
                    self._show_save_error(exc)
                    return
                self.dismiss_screen()

        question = ("Keep this message as a draft?" if self.outbox_id is None else
                    "Keep these changes as a draft? The message in the outbox stays as it was until you queue it.")
        self.app.push_screen(KeepDraft(question), done)

    def action_editor(self) -> None:
        self.save_now()  # the editor runs for a while, in another process: keep what is here first
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


def from_options(accounts) -> list[tuple[str, tuple[str, str]]]:
    """The From choices: each account's address, then each of its aliases, as "Name <addr>".
    The value is (account name, address)."""
    return [(sender_address(a, address), (a.name, address)) for a in accounts for address in a.sending_addresses]


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


def _show_sent_in_history(app) -> None:
    """The history on screen now (you replied and came back before the send finished) gets
    the sent message; a history further back reloads when it is shown again."""
    from tamago_tui.screens.contact import ContactScreen

    if isinstance(app.screen, ContactScreen):
        app.screen.reload_local()


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
        if item.status == "sent":
            self.call_from_thread(_show_sent_in_history, self)
        else:
            self.call_from_thread(
                self.notify,
                f"Not sent: {item.last_error} It stays in the outbox (F5).",
                severity="error",
                timeout=10,
            )

    run(app)
