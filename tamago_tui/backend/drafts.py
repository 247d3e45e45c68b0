"""Drafts: what the compose screen holds, kept in the local database as it is typed.

A draft is everything needed to reopen the compose screen exactly as it was:
account, To/Cc/Bcc, subject, body, attachment paths, attachments already in
memory (forwarded or from an outbox message being edited), the reply context
(In-Reply-To, References) and, when editing an outbox message, its outbox id.

Every save is one SQLite transaction on a connection with `synchronous=FULL`:
a crash (or `kill -9`, or a dropped SSH session) during a save leaves the
previous version of the draft, never half of each, and a save that returned
is on disk. A full disk or a read-only store raises `DraftError` (a
`StoreError`, with the store's own explanation) and changes nothing, so the
caller keeps the text where it is.

Queuing a draft writes the outbox row and deletes the draft in one
transaction: the message is in the outbox or still a draft, never neither.

`DraftKeeper` serialises the saves of one compose session, which come from
worker threads, so that an older snapshot never overwrites a newer one and
nothing is saved after the message was queued or discarded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .compose import Draft
from .errors import NotFound, StoreError, TamagoError, UsageError
from .store import Store, now_iso

if TYPE_CHECKING:
    from .models import Account
    from .outbox import OutboxItem
    from .services import Services


class DraftError(StoreError):
    """A draft could not be saved, read or deleted. The text is still wherever it was."""

    title = "Draft not saved"


@dataclass(frozen=True)
class AttachedInfo:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class SavedDraft:
    """A draft as stored. `draft.attached` holds the bytes only when read with `Drafts.get`."""

    id: int
    account: str
    draft: Draft
    outbox_id: int | None
    created_at: str
    updated_at: str
    attached_info: tuple[AttachedInfo, ...] = ()

    @property
    def preview(self) -> str:
        """The first line of the body that is not blank, for lists."""
        for line in self.draft.body.splitlines():
            if line.strip():
                return line.strip()
        return ""

    def as_json(self, *, full: bool = False) -> dict:
        d = self.draft
        data = {
            "id": self.id,
            "account": self.account or None,
            "from": d.sender or None,
            "to": list(d.to),
            "cc": list(d.cc),
            "bcc": list(d.bcc),
            "subject": d.subject,
            "preview": self.preview[:80],
            "attachments": list(d.attachments),
            "attached": [{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                         for a in self.attached_info],
            "in_reply_to": d.in_reply_to or None,
            "outbox_id": self.outbox_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if full:
            data["references"] = list(d.references)
            data["body"] = d.body
        return data


def has_content(draft: Draft) -> bool:
    """Is there anything a person typed or attached worth keeping?"""
    return bool(draft.to or draft.cc or draft.bcc or draft.subject.strip() or draft.body.strip()
                or draft.attachments or draft.attached)


def _signature(attached) -> str:
    digest = hashlib.sha256()
    for filename, ctype, data in attached:
        for part in (filename.encode("utf-8", "surrogatepass"), ctype.encode(), data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def _row(account: str, draft: Draft, outbox_id: int | None) -> dict:
    return {
        "account": account or "",
        "sender": draft.sender,
        "to_list": json.dumps(list(draft.to)),
        "cc_list": json.dumps(list(draft.cc)),
        "bcc_list": json.dumps(list(draft.bcc)),
        "subject": draft.subject,
        "body": draft.body,
        "attachments": json.dumps(list(draft.attachments)),
        "in_reply_to": draft.in_reply_to,
        "refs": json.dumps(list(draft.references)),
        "extra_headers": json.dumps(dict(draft.extra_headers)),
        "outbox_id": outbox_id,
        "attached_sig": _signature(draft.attached),
    }


def _list(value) -> tuple[str, ...]:
    return tuple(json.loads(value or "[]"))


def _saved(row: dict, attached=(), info=()) -> SavedDraft:
    draft = Draft(
        sender=row["sender"] or "",
        to=_list(row["to_list"]),
        cc=_list(row["cc_list"]),
        bcc=_list(row["bcc_list"]),
        subject=row["subject"] or "",
        body=row["body"] or "",
        attachments=_list(row["attachments"]),
        attached=tuple(attached),
        in_reply_to=row["in_reply_to"] or "",
        references=_list(row["refs"]),
        extra_headers=json.loads(row["extra_headers"] or "{}"),
    )
    return SavedDraft(id=row["id"], account=row["account"] or "", draft=draft, outbox_id=row["outbox_id"],
                      created_at=row["created_at"] or "", updated_at=row["updated_at"] or "",
                      attached_info=tuple(info))


class Drafts:
    """The drafts of one tamago home. Each call opens its own connection, so any thread may call."""

    def __init__(self, services: "Services"):
        self.services = services

    # -- connections ------------------------------------------------------------------------

    def _run(self, work, *, doing: str, title: str = "Drafts unavailable"):
        try:
            store = self.services.open_store()
        except StoreError as exc:
            raise DraftError(f"Could not {doing}: {exc}", category=exc.category, title=title) from exc
        try:
            # Durable as well as atomic: a save that returned survives a power cut, not just a crash.
            store.db.execute("PRAGMA synchronous=FULL")
            return work(store)
        except DraftError:
            raise
        except StoreError as exc:
            raise DraftError(f"Could not {doing}: {exc}", category=exc.category, title=title) from exc
        finally:
            store.close()

    # -- reading ------------------------------------------------------------------------------

    def list(self) -> list[SavedDraft]:
        """Every draft, the most recently changed first (attachment bytes not loaded)."""

        def work(store: Store) -> list[SavedDraft]:
            info: dict[int, list[AttachedInfo]] = {}
            for draft_id, filename, ctype, size in store.db.execute(
                "SELECT draft_id, filename, content_type, length(data) FROM draft_attachments "
                "ORDER BY draft_id, position"
            ):
                info.setdefault(draft_id, []).append(AttachedInfo(filename, ctype, size or 0))
            rows = store.db["drafts"].rows_where(order_by="updated_at DESC, id DESC")
            return [_saved(row, info=info.get(row["id"], ())) for row in rows]

        return self._run(work, doing="read the drafts")

    def get(self, draft_id: int) -> SavedDraft:
        return self._run(lambda store: self._get(store, draft_id), doing=f"read draft {draft_id}")

    @staticmethod
    def _get(store: Store, draft_id: int) -> SavedDraft:
        rows = list(store.db["drafts"].rows_where("id = ?", [draft_id]))
        if not rows:
            raise NotFound(f"No draft with id {draft_id}. See `tamago drafts list`.")
        parts = store.db.execute(
            "SELECT filename, content_type, data FROM draft_attachments WHERE draft_id = ? ORDER BY position",
            [draft_id],
        ).fetchall()
        attached = [(name, ctype, bytes(data or b"")) for name, ctype, data in parts]
        info = [AttachedInfo(name, ctype, len(data)) for name, ctype, data in attached]
        return _saved(rows[0], attached, info)

    def related(self, draft: Draft | None) -> list[SavedDraft]:
        """Drafts a new compose should offer to resume: all of them for a new message, or those
        replying to (or forwarding) the same message for a reply or a forward."""
        drafts = self.list()
        if draft is None:
            return drafts
        if draft.in_reply_to:
            return [s for s in drafts if s.draft.in_reply_to == draft.in_reply_to]
        if draft.references:  # a forward: the same original is the last reference
            return [s for s in drafts if not s.draft.in_reply_to and s.draft.references[-1:] == draft.references[-1:]]
        return drafts

    def outbox_status(self, outbox_id: int) -> str | None:
        """The status of the outbox message a draft edits, or None when it is gone."""

        def work(store: Store) -> str | None:
            row = store.db.execute("SELECT status FROM outbox WHERE id = ?", [outbox_id]).fetchone()
            return row[0] if row else None

        return self._run(work, doing="read the outbox")

    # -- writing ------------------------------------------------------------------------------

    def save(self, account: str, draft: Draft, *, draft_id: int | None = None,
             outbox_id: int | None = None) -> SavedDraft:
        """Create the draft, or update `draft_id`. A draft deleted meanwhile (say, from the
        command line while the compose screen was open) is created again: the text on the
        screen is what the person wants kept."""

        def work(store: Store) -> SavedDraft:
            stamp = now_iso()
            row = _row(account, draft, outbox_id)
            with store.writing():
                current = None
                if draft_id is not None:
                    current = store.db.execute("SELECT attached_sig, created_at FROM drafts WHERE id = ?",
                                               [draft_id]).fetchone()
                if current is None:
                    new_id = store.db["drafts"].insert({**row, "created_at": stamp, "updated_at": stamp}).last_pk
                    self._write_attached(store, new_id, draft.attached)
                    saved_id = new_id
                else:
                    store.db["drafts"].update(draft_id, {**row, "updated_at": stamp})
                    if current[0] != row["attached_sig"]:
                        store.db.execute("DELETE FROM draft_attachments WHERE draft_id = ?", [draft_id])
                        self._write_attached(store, draft_id, draft.attached)
                    saved_id = draft_id
            found = store.db["drafts"].get(saved_id)
            info = [AttachedInfo(n, c, len(d)) for n, c, d in draft.attached]
            return _saved(found, draft.attached, info)

        return self._run(work, doing="save the draft", title="Draft not saved")

    @staticmethod
    def _write_attached(store: Store, draft_id: int, attached) -> None:
        for position, (filename, ctype, data) in enumerate(attached):
            store.db["draft_attachments"].insert({"draft_id": draft_id, "position": position,
                                                  "filename": filename, "content_type": ctype,
                                                  "data": bytes(data)})

    def delete(self, draft_id: int) -> None:
        def work(store: Store) -> None:
            with store.writing():
                if not _delete(store.db, draft_id):
                    raise NotFound(f"No draft with id {draft_id}. See `tamago drafts list`.")

        self._run(work, doing=f"delete draft {draft_id}", title="Draft not deleted")

    def queue(self, draft_id: int | None, account: "Account", draft: Draft, *,
              outbox_id: int | None = None) -> "OutboxItem":
        """Put `draft` in the outbox and delete draft `draft_id`, in one transaction.

        With `outbox_id` (the draft edits a message already in the outbox) that row is
        replaced while it can still be edited; when it is gone the message is queued anew.
        Raises UsageError for a message that cannot be built (bad address, missing file):
        then nothing changes.
        """
        from .outbox import EDITABLE, Outbox

        def drop_draft(db) -> None:
            if draft_id is not None:
                _delete(db, draft_id)

        def work(store: Store) -> "OutboxItem":
            outbox = Outbox(store)
            if outbox_id is not None:
                try:
                    status = outbox.get(outbox_id).status
                except NotFound:
                    status = None
                if status is not None:
                    if status not in EDITABLE:
                        raise UsageError(f"Message {outbox_id}, which this draft changes, is {status} now, so "
                                         "the draft was not queued. Open it in the TUI (F7): queuing it there "
                                         "sends it as a new message.")
                    return outbox.replace(outbox_id, account, draft, then=drop_draft)
            return outbox.enqueue(account, draft, then=drop_draft)

        return self._run(work, doing="queue the draft", title="Not queued")

    def queue_saved(self, draft_id: int) -> "OutboxItem":
        """Queue a stored draft as it is, from its own account (`tamago drafts send`)."""
        from .sending import keep_sender

        saved = self.get(draft_id)
        if not saved.account:
            raise UsageError(f"Draft {draft_id} has no account to send from. Open it in the TUI "
                             "(F7) and choose one.")
        try:
            account = self.services.account(saved.account)
        except NotFound:
            raise UsageError(f"Draft {draft_id} was written for the account {saved.account!r}, which no "
                             "longer exists. Open it in the TUI (F7) and choose another.") from None
        draft = replace(saved.draft, sender=keep_sender(account, saved.draft.sender))  # an alias stays
        return self.queue(draft_id, account, draft, outbox_id=saved.outbox_id)


def _delete(db, draft_id: int) -> bool:
    db.execute("DELETE FROM draft_attachments WHERE draft_id = ?", [draft_id])
    return db.execute("DELETE FROM drafts WHERE id = ?", [draft_id]).rowcount == 1


class DraftKeeper:
    """The draft of one compose session. Thread-safe: autosaves run in worker threads.

    Every snapshot gets a number from `next_snapshot()` on the UI thread; a save
    whose number is older than the last one saved is skipped. After `queue()`
    or `discard()` the keeper is closed and saves nothing more.
    """

    def __init__(self, drafts: Drafts, *, draft_id: int | None = None, outbox_id: int | None = None):
        self.drafts = drafts
        self.draft_id = draft_id
        self.outbox_id = outbox_id
        self.closed = False
        self._lock = threading.Lock()
        self._issued = 0
        self._saved = 0

    def next_snapshot(self) -> int:
        self._issued += 1
        return self._issued

    def save(self, snapshot: int, account: str, draft: Draft) -> SavedDraft | None:
        """Save `draft` unless a newer snapshot was saved already or the session ended."""
        with self._lock:
            if self.closed or snapshot <= self._saved:
                return None
            saved = self.drafts.save(account, draft, draft_id=self.draft_id, outbox_id=self.outbox_id)
            self.draft_id = saved.id
            self._saved = snapshot
            return saved

    def queue(self, account: "Account", draft: Draft) -> "OutboxItem":
        with self._lock:
            if self.closed:
                raise TamagoError("This message was already queued or discarded.")
            item = self.drafts.queue(self.draft_id, account, draft, outbox_id=self.outbox_id)
            self.closed = True
            return item

    def discard(self) -> None:
        with self._lock:
            if self.draft_id is not None:
                try:
                    self.drafts.delete(self.draft_id)
                except NotFound:
                    pass
            self.closed = True
