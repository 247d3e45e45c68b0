"""The outbox: a composed message is in SQLite before any network call.

States (the `status` column):
    queued      written, not tried yet (or safe to try again)
    sending     claimed by a sender; no message data has gone out yet
    sending-data  the DATA phase started: from here the server may have the message
    failed      the server or network said no before the message was accepted: safe to retry
    uncertain   the connection dropped during or after DATA: the server may have accepted it,
                so it is only retried when the user says so (`force`), never by accident
    sent        the server accepted it (250 after DATA)

A crash leaves `sending` rows that `recover()` turns back into `queued`, and
`sending-data` rows that become `uncertain`. Claiming a row is one UPDATE with a
status guard, so two senders can never send the same row. Every sender holds a
shared flock on `<database>.outbox.lock` while it sends; `recover()` only runs
when it can take that lock exclusively, so it never touches the rows of a
sender that is still alive (another process, or a worker thread), while a
crashed process's lock goes away with it.

Recipients are all-or-nothing: if the server refuses any RCPT, nothing is sent,
the message stays in the outbox, and the error names exactly which addresses
were refused and why.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING, Awaitable, Callable, Iterator

import aiosmtplib

from .compose import Draft, build
from .errors import NotFound, TamagoError, UsageError
from .models import Account
from .store import Store, now_iso

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger("tamago.outbox")

RETRYABLE = ("queued", "failed")
EDITABLE = RETRYABLE + ("uncertain",)

# Runs inside the transaction that writes an outbox row (see `Outbox.enqueue`).
Then = Callable[["sqlite_utils.Database"], None]


@dataclass(frozen=True)
class OutboxItem:
    id: int
    account: str
    message_id: str
    mail_from: str
    rcpt_to: tuple[str, ...]
    subject: str
    status: str
    attempts: int
    last_error: str
    last_category: str
    created_at: str
    sent_at: str
    rejected: dict
    sent_copy: str

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "account": self.account,
            "message_id": self.message_id,
            "to": list(self.rcpt_to),
            "subject": self.subject,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.last_error or None,
            "category": self.last_category or None,
            "rejected": self.rejected,
            "created_at": self.created_at,
            "sent_at": self.sent_at or None,
            "sent_copy": self.sent_copy or None,
        }


class SendError(TamagoError):
    title = "Sending failed"


def _item(row: dict) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        account=row["account"],
        message_id=row["message_id"] or "",
        mail_from=row["mail_from"] or "",
        rcpt_to=tuple(json.loads(row["rcpt_to"] or "[]")),
        subject=row["subject"] or "",
        status=row["status"],
        attempts=row["attempts"] or 0,
        last_error=row["last_error"] or "",
        last_category=row["last_category"] or "",
        created_at=row["created_at"] or "",
        sent_at=row["sent_at"] or "",
        rejected=json.loads(row["rejected"] or "{}"),
        sent_copy=row["sent_copy"] or "",
    )


class Outbox:
    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    def enqueue(self, account: Account, draft: Draft, *, then: Then | None = None) -> OutboxItem:
        """Build the message and commit it to SQLite. Nothing touches the network.

        `then(db)` runs in the same transaction (the drafts store deletes the
        draft there), so the message is never in both places, nor in neither.
        """
        message = build(draft)
        return self.enqueue_message(account, message, draft.recipients(), list(draft.cc), list(draft.bcc),
                                    then=then)

    def enqueue_message(self, account, message: EmailMessage, rcpt_to, cc=(), bcc=(), *,
                        then: Then | None = None) -> OutboxItem:
        stamp = now_iso()
        row = {
            "account": account.name,
            "message_id": message["Message-ID"] or "",
            "mail_from": parseaddr(message["From"] or account.email)[1] or account.email,
            "rcpt_to": json.dumps(list(rcpt_to)),
            "cc": json.dumps(list(cc)),
            "bcc": json.dumps(list(bcc)),
            "subject": message["Subject"] or "",
            "raw": message.as_bytes(),
            "status": "queued",
            "attempts": 0,
            "created_at": stamp,
            "updated_at": stamp,
        }
        with self.db.atomic():  # one transaction, `then` included (the insert nests as a savepoint)
            item_id = self.db["outbox"].insert(row).last_pk
            if then is not None:
                then(self.db)
        log.info("queued message %s for %d recipient(s)", item_id, len(rcpt_to))
        return self.get(item_id)

    def get(self, item_id: int) -> OutboxItem:
        rows = list(self.db["outbox"].rows_where("id = ?", [item_id]))
        if not rows:
            raise NotFound(f"No outbox message with id {item_id}. See `tamago outbox list`.")
        return _item(rows[0])

    def raw(self, item_id: int) -> bytes:
        return self.db.execute("SELECT raw FROM outbox WHERE id = ?", [item_id]).fetchone()[0]

    def items(self, include_sent: bool = False) -> list[OutboxItem]:
        where = None if include_sent else "status != 'sent'"
        return [_item(r) for r in self.db["outbox"].rows_where(where, order_by="id")]

    def drop(self, item_id: int) -> None:
        item = self.get(item_id)
        if item.status in ("sending", "sending-data"):
            raise UsageError(f"Message {item_id} is being sent right now; try again when it finishes.")
        with self.db.conn:
            self.db.execute("DELETE FROM outbox WHERE id = ?", [item_id])

    def replace(self, item_id: int, account: Account, draft: Draft, *, then: Then | None = None) -> OutboxItem:
        """Edit a message that has not been sent: same row, new content (`then` as in `enqueue`)."""
        item = self.get(item_id)
        if item.status not in EDITABLE:
            raise UsageError(f"Message {item_id} is {item.status}; only unsent messages can be edited.")
        message = build(draft)
        with self.db.atomic():
            self.db["outbox"].update(
                item_id,
                {
                    "account": account.name,
                    "message_id": message["Message-ID"],
                    "mail_from": parseaddr(draft.sender)[1],
                    "rcpt_to": json.dumps(draft.recipients()),
                    "cc": json.dumps(list(draft.cc)),
                    "bcc": json.dumps(list(draft.bcc)),
                    "subject": draft.subject,
                    "raw": message.as_bytes(),
                    "status": "queued",
                    "rejected": "{}",
                    "updated_at": now_iso(),
                },
            )
            if then is not None:
                then(self.db)
        return self.get(item_id)

    # -- crash recovery ---------------------------------------------------

    @property
    def lock_path(self):
        path = self.store.path
        return None if path is None else path.with_name(path.name + ".outbox.lock")

    @contextmanager
    def _flock(self, exclusive: bool) -> Iterator[bool]:
        """Yields False when `exclusive` and somebody else is sending right now."""
        path = self.lock_path
        try:
            import fcntl
        except ImportError:  # not POSIX: recovery only ever runs at start-up there
            yield True
            return
        if path is None:  # an in-memory store belongs to one caller
            yield True
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if exclusive:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
            else:
                fcntl.flock(fd, fcntl.LOCK_SH)
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def sending(self):
        """Hold this while a message is being sent, so `recover()` leaves it alone."""
        return self._flock(exclusive=False)

    def recover(self) -> int:
        """After a crash: unfinished sends go back to the queue, or to `uncertain` past DATA.

        Does nothing (returns 0) while any sender is still at work.
        """
        with self._flock(exclusive=True) as alone:
            if not alone:
                return 0
            return self._recover()

    def _recover(self) -> int:
        with self.db.conn:
            a = self.db.execute("UPDATE outbox SET status='queued' WHERE status='sending'").rowcount
            b = self.db.execute(
                "UPDATE outbox SET status='uncertain', last_error=? WHERE status='sending-data'",
                ["tamago stopped while the server was receiving this message; it may have been delivered."],
            ).rowcount
        return a + b

    # -- state changes, each committed at once ---------------------------

    def claim(self, item_id: int, force: bool = False) -> bool:
        allowed = RETRYABLE + (("uncertain",) if force else ())
        marks = ",".join("?" * len(allowed))
        with self.db.conn:
            cursor = self.db.execute(
                f"UPDATE outbox SET status='sending', attempts=attempts+1, updated_at=? "
                f"WHERE id=? AND status IN ({marks})",
                [now_iso(), item_id, *allowed],
            )
        return cursor.rowcount == 1

    def _set(self, item_id: int, **changes) -> None:
        changes["updated_at"] = now_iso()
        with self.db.conn:
            self.db["outbox"].update(item_id, changes)


Connector = Callable[[], Awaitable[aiosmtplib.SMTP]]


def _size_limit(smtp: aiosmtplib.SMTP) -> int:
    value = (smtp.esmtp_extensions or {}).get("size", "")
    return int(value) if str(value).strip().isdigit() else 0


async def send(outbox: Outbox, item_id: int, connect: Connector, *, force: bool = False,
               classify: Callable[[Exception], tuple[str, str]] | None = None) -> OutboxItem:
    """Send one outbox message. Returns the updated item; never raises for a send failure.

    `connect()` returns a connected, authenticated aiosmtplib.SMTP whose every
    command has a timeout. `classify(exc)` gives (message, category) for a
    failure, so every error carries a troubleshooting category. Raises
    UsageError when the message must not be sent (already sent, being sent, or
    uncertain without `force`).
    """
    item = outbox.get(item_id)
    if item.status == "sent":
        raise UsageError(f"Message {item_id} was already sent at {item.sent_at}.")
    if item.status == "uncertain" and not force:
        raise UsageError(
            f"Message {item_id} may already have been delivered (the connection dropped after "
            "the server received it). Check the recipient's mailbox or your Sent folder; "
            "retry with --force only if it did not arrive."
        )
    with outbox.sending():
        if not outbox.claim(item_id, force=force):
            raise UsageError(f"Message {item_id} is {outbox.get(item_id).status}; it cannot be sent now.")
        return await _transmit(outbox, item, connect, classify or _default_classify)


async def _transmit(outbox: Outbox, item: OutboxItem, connect: Connector, classify) -> OutboxItem:
    item_id = item.id
    raw = outbox.raw(item_id)
    data_started = False
    smtp = None
    try:
        smtp = await connect()
        limit = _size_limit(smtp)
        if limit and len(raw) > limit:
            raise SendError(
                f"The message is {len(raw):,} bytes but the server accepts at most {limit:,} "
                "(its SIZE limit). Nothing was sent. Remove or shrink attachments.",
                category="sender_rejected",
            )
        await smtp.mail(item.mail_from)
        rejected = {}
        for rcpt in item.rcpt_to:
            try:
                await smtp.rcpt(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                rejected[rcpt] = f"{exc.code} {exc.message}".strip()
        if rejected:
            await _quietly(smtp.rset())
            text, category = _refusal(rejected)
            outbox._set(item_id, status="failed", rejected=json.dumps(rejected),
                        last_error=text, last_category=category)
            log.warning("outbox message %s: %d recipient(s) refused", item_id, len(rejected))
            return outbox.get(item_id)
        outbox._set(item_id, status="sending-data")
        data_started = True
        await smtp.data(raw)
        outbox._set(item_id, status="sent", sent_at=now_iso(), last_error="", last_category="", rejected="{}")
        log.info("sent outbox message %s", item_id)
    except Exception as exc:  # every failure is recorded, classified, and kept
        message, category = classify(exc)
        uncertain = data_started and not isinstance(exc, aiosmtplib.SMTPDataError)
        if uncertain:
            message = ("The connection dropped after the message was handed to the server, so it "
                       f"may have been delivered ({message}). It will not be resent automatically.")
        outbox._set(item_id, status="uncertain" if uncertain else "failed",
                    last_error=message, last_category=category)
        log.warning("outbox message %s %s: %s", item_id, "uncertain" if uncertain else "failed", message)
    finally:
        if smtp is not None:
            if smtp.is_connected:
                await _quietly(smtp.quit())
            smtp.close()
    return outbox.get(item_id)


async def _quietly(step: Awaitable) -> None:
    """A courtesy command (RSET, QUIT) whose failure changes nothing about the outcome."""
    try:
        await step
    except (aiosmtplib.SMTPException, OSError):
        pass


def _refusal(rejected: dict[str, str]) -> tuple[str, str]:
    """The error text naming every refused address, and its troubleshooting category."""
    names = ", ".join(f"{address} ({why})" for address, why in rejected.items())
    if all(why[:1] == "4" for why in rejected.values()):
        return (f"The server temporarily refused {len(rejected)} recipient(s): {names}. "
                "Nothing was sent; retry later.", "server_unavailable")
    return (f"The server refused {len(rejected)} recipient(s): {names}. Nothing was sent; "
            "correct or remove the address(es) (e in the outbox) and retry.", "sender_rejected")


def _default_classify(exc: Exception) -> tuple[str, str]:
    """Without a classifier from the caller: the error's own words and category."""
    if isinstance(exc, TamagoError):
        return exc.message, exc.category
    return f"{type(exc).__name__}: {exc}", "unknown"
