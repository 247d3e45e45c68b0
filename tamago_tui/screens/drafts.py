"""Drafts: the list (F7, and offered by F6, reply and forward), and the question esc asks in compose.

Opening compose goes through `open_compose`: when drafts that fit exist (any
draft for a new message; drafts of a reply to, or forward of, the same message
for a reply or a forward), the list comes first, so a half-written message is
resumed instead of started again. `n` starts a new one anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.drafts import SavedDraft
from tamago_tui.backend.errors import NotFound, TamagoError


def local_time(stamp: str, fmt: str = "%d %b %H:%M") -> str:
    """An ISO 8601 UTC stamp from the store, in the local time zone."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime(fmt)
    except ValueError:
        return stamp


def open_compose(app, draft: Draft | None = None, account: str | None = None) -> None:
    """F6, c in the outbox, reply and forward: offer the drafts that fit, else a fresh compose screen."""
    from tamago_tui.screens.compose import ComposeScreen

    def fresh() -> None:
        app.push_screen(ComposeScreen(draft, account=account))

    try:
        waiting = [d for d in app.services.drafts.related(draft) if d.id not in open_draft_ids(app)]
    except TamagoError as exc:  # the drafts cannot be read: composing must still work
        app.notify(f"Drafts could not be read: {exc}", severity="warning", timeout=8)
        waiting = []
    if not waiting:
        fresh()
        return
    kind = "a reply to this message" if draft and draft.in_reply_to else (
        "a forward of this message" if draft and draft.references else "")
    app.push_screen(DraftsScreen(related_to=draft, kind=kind, offer=True),
                    lambda choice: _chosen(app, choice, fresh))


def show_drafts(app) -> None:
    """F7: every draft."""
    from tamago_tui.screens.compose import ComposeScreen

    app.push_screen(DraftsScreen(), lambda choice: _chosen(app, choice, lambda: app.push_screen(ComposeScreen())))


def _chosen(app, choice: int | str | None, fresh: Callable[[], None]) -> None:
    if choice == "new":
        fresh()
    elif isinstance(choice, int):
        resume(app, choice)


def resume(app, draft_id: int) -> None:
    from tamago_tui.screens.compose import ComposeScreen

    from tamago_tui.backend.outbox import EDITABLE

    try:
        saved = app.services.drafts.get(draft_id)
        outbox_id = saved.outbox_id
        if outbox_id is not None and app.services.drafts.outbox_status(outbox_id) not in EDITABLE:
            # The outbox message it changes was sent or dropped meanwhile: this is a new message now.
            app.notify(f"Message {outbox_id}, which this draft changes, has left the outbox; queuing the "
                       "draft sends it as a new message.", severity="warning", timeout=10)
            outbox_id = None
    except TamagoError as exc:
        app.show_error(exc, context=f"Draft {draft_id} could not be opened.")
        return
    app.push_screen(ComposeScreen(saved.draft, account=saved.account or None, outbox_id=outbox_id,
                                  draft_id=saved.id))


def open_draft_ids(app) -> set[int]:
    """Drafts open in a compose screen right now, in any mode's stack."""
    from tamago_tui.screens.compose import ComposeScreen

    found = set()
    for screen in compose_screens(app):
        if isinstance(screen, ComposeScreen) and screen.keeper is not None and screen.keeper.draft_id is not None:
            found.add(screen.keeper.draft_id)
    return found


def compose_screens(app) -> list:
    from tamago_tui.screens.compose import ComposeScreen

    screens = []
    for mode in app.MODES:
        try:
            screens += [s for s in app.get_screen_stack(mode) if isinstance(s, ComposeScreen)]
        except KeyError:  # a mode never visited has no stack yet
            continue
    return screens


class DraftsScreen(ModalScreen[int | str | None]):
    """The drafts, newest first: enter resumes one, n starts a new message, d deletes one."""

    BINDINGS = [
        Binding("enter", "open", "Resume", id="drafts.open", priority=True),
        Binding("n", "new", "New message", id="drafts.new", priority=True),
        Binding("d,delete", "delete", "Delete", id="drafts.delete"),
        Binding("escape", "close", "Close", id="drafts.close"),
    ]

    def __init__(self, related_to: Draft | None = None, kind: str = "", offer: bool = False):
        """`offer`: opened on the way to compose (F6, reply, forward), so `n` carries on to a new message."""
        super().__init__()
        self.related_to = related_to
        self.kind = kind
        self.offer = offer
        self.drafts: list[SavedDraft] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("", id="drafts-title", classes="screen-title")
            yield DataTable(id="drafts-table", cursor_type="row", zebra_stripes=True)
            yield Static("enter resume · n new message · d delete · esc close", id="drafts-keys", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Saved", key="saved", width=12)
        table.add_column("To", key="to", width=22)
        table.add_column("Subject", key="subject", width=32)
        self.reload()
        table.focus()

    def reload(self) -> None:
        try:
            drafts = self.app.services.drafts.related(self.related_to)
        except TamagoError as exc:
            self.app.show_error(exc, context="The drafts could not be read.")
            drafts = []
        self.drafts = drafts
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        busy = open_draft_ids(self.app)
        for saved in drafts:
            subject = saved.draft.subject or (f"({saved.preview[:26]})" if saved.preview else "(no subject)")
            if saved.id in busy:
                subject = f"[open] {subject}"
            table.add_row(local_time(saved.updated_at), Text(", ".join(saved.draft.to) or "(no recipient)"),
                          Text(subject), key=str(saved.id))
        if drafts:
            table.move_cursor(row=min(max(row, 0), len(drafts) - 1))
        count = len(drafts)
        plural = "s" if count != 1 else ""
        if self.offer and count:
            of = f" of {self.kind}" if self.kind else ""
            title = f"You have {count} unsent draft{plural}{of}. Resume {'it' if count == 1 else 'one'}?"
        elif count:
            title = f"{count} draft{plural}, newest first"
        else:
            title = "No drafts: compose keeps one as you type, until the message is queued."
        self.query_one("#drafts-title", Static).update(Text(title))

    def selected(self) -> SavedDraft | None:
        table = self.query_one(DataTable)
        if not self.drafts or table.cursor_row < 0:
            return None
        return self.drafts[min(table.cursor_row, len(self.drafts) - 1)]

    def _busy(self, saved: SavedDraft) -> bool:
        if saved.id in open_draft_ids(self.app):
            self.notify("That draft is open in another compose screen (F2-F5 switch to it).", severity="warning")
            return True
        return False

    def action_open(self) -> None:
        saved = self.selected()
        if saved is not None and not self._busy(saved):
            self.dismiss(saved.id)

    def action_new(self) -> None:
        self.dismiss("new")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_delete(self) -> None:
        from tamago_tui.screens.confirm import Confirm

        saved = self.selected()
        if saved is None or self._busy(saved):
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.app.services.drafts.delete(saved.id)
            except NotFound:
                pass  # deleted elsewhere meanwhile (the command line)
            except TamagoError as exc:
                self.app.show_error(exc, context=f"Draft {saved.id} was not deleted.")
            self.reload()

        self.app.push_screen(Confirm(f"Delete the draft “{saved.draft.subject or saved.preview[:40] or 'untitled'}”? "
                                     "It cannot be undone."), done)


class KeepDraft(ModalScreen[str | None]):
    """esc in compose: keep the message as a draft, discard it, or go back to writing."""

    BINDINGS = [
        Binding("k", "answer('keep')", "Keep draft", id="keepdraft.keep"),
        Binding("d", "answer('discard')", "Discard", id="keepdraft.discard"),
        Binding("escape,c", "answer(None)", "Cancel", id="keepdraft.cancel"),
    ]

    def __init__(self, question: str = "Leave this message?"):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question))
            yield Static("Kept drafts are listed with F7 and offered again by F6.", classes="hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Discard (d)", id="discard", variant="error")
                yield Button("Keep draft (k)", id="keep", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()  # enter keeps: the safe answer

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_answer(self, value: str | None) -> None:
        self.dismiss(value)
