"""The Sent copy: after a successful send, file the message in the account's Sent folder.

Whether tamago appends the copy itself:
- `Account.save_sent` True or False is the user's choice;
- None follows the provider preset: Gmail, Google Workspace, Outlook.com and
  Office 365 file sent mail themselves (`saves_sent`), so a copy from us would
  be a duplicate; everyone else gets an IMAP APPEND with \\Seen.

The outcome is one string for the outbox row's `sent_copy` column:
    saved          appended to the Sent folder
    server         the provider files it itself
    skipped        the user turned Sent copies off
    failed: WHY    the append failed; the send itself still counts as sent

So that a sent message shows in the contact's history at once, its header goes
into the local index: with the real (UIDVALIDITY, UID) from APPENDUID when the
server has UIDPLUS, or as a placeholder without UID when the provider files
it (the synced copy has the same Message-ID and `history` shows it once).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Callable, Iterable

from . import providers
from .errors import NotFound, TamagoError
from .models import Account
from .store import Store

log = logging.getLogger("tamago.sentcopy")

SAVED, SERVER, SKIPPED = "saved", "server", "skipped"
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)


def provider_saves_sent(account: Account) -> bool:
    try:
        return providers.get(account.provider).saves_sent
    except NotFound:  # an unknown preset id behaves like "custom"
        return False


def decide(account: Account) -> str:
    """What to do with the Sent copy: "append", "server" or "skipped"."""
    if account.save_sent is True:
        return "append"
    if provider_saves_sent(account):
        return SERVER
    return SKIPPED if account.save_sent is False else "append"


def save_sent_copy(account: Account, raw: bytes, store: Store, *, connect: Callable, bcc: Iterable[str] = ()) -> str:
    """File `raw` (just sent) and index it. Returns the `sent_copy` state; never raises.

    `connect()` returns a logged-in imapclient.IMAPClient with timeouts set.
    `bcc`: the blind recipients, which are not in the headers but belong in the
    index of sent mail.
    """
    action = decide(account)
    if action == SKIPPED:
        return SKIPPED
    if action == SERVER:
        _index_quietly(store, account, _server_sent_folder(store, account), None, None, raw, bcc)
        return SERVER
    try:
        folder, uidvalidity, uid = append_to_sent(connect, raw)
    except Exception as exc:  # the message went out; a missing copy is worth a note, not a failure
        reason = exc.message if isinstance(exc, TamagoError) else f"{type(exc).__name__}: {exc}"
        log.warning("Sent copy for %s failed: %s", account.name, reason)
        return f"failed: {reason}"
    if uid is not None:
        _index_quietly(store, account, folder, uidvalidity, uid, raw, bcc)
    return SAVED


def append_to_sent(connect: Callable, raw: bytes) -> tuple[str, int | None, int | None]:
    """APPEND with \\Seen to the \\Sent folder (or one named like it). Returns (folder, uidvalidity, uid)."""
    from imapclient.imapclient import SEEN, SENT

    client = connect()
    try:
        folder = client.find_special_folder(SENT)
        if not folder:
            raise TamagoError("The account has no Sent folder (none is marked \\Sent or named like one).",
                              title="No Sent folder")
        answer = client.append(folder, raw, flags=(SEEN,), msg_time=_date_of(raw))
        found = _APPENDUID.search(answer if isinstance(answer, bytes) else str(answer).encode())
        if found:
            return folder, int(found.group(1)), int(found.group(2))
        return folder, None, None  # no UIDPLUS: the next sync indexes it
    finally:
        try:
            client.logout()
        except Exception:  # the copy is already filed (or not); closing must not change that
            client.shutdown()


def _server_sent_folder(store: Store, account: Account) -> str:
    """Where the provider files sent mail, as far as the index knows; a name until the first sync."""
    row = store.db.execute(
        "SELECT name FROM folders WHERE account = ? AND special_use LIKE '%\\Sent%' ORDER BY id LIMIT 1",
        [account.name],
    ).fetchone()
    if row:
        return row[0]
    return "[Gmail]/Sent Mail" if account.provider in ("gmail", "google_workspace") else "Sent Items"


def _date_of(raw: bytes) -> datetime | None:
    msg = message_from_bytes(raw, policy=policy.compat32)
    try:
        return parsedate_to_datetime(msg["Date"]) if msg["Date"] else None
    except (TypeError, ValueError):
        return None


def _index_quietly(store, account, folder, uidvalidity, uid, raw, bcc) -> None:
    try:
        index_sent_message(store, account.name, folder, uidvalidity, uid, raw, bcc=bcc)
    except Exception as exc:  # the index is a convenience; the next sync fills it
        log.warning("could not index the sent message for %s: %s", account.name, exc)


def index_sent_message(store: Store, account: str, folder: str, uidvalidity: int | None, uid: int | None,
                       raw: bytes, *, bcc: Iterable[str] = ()) -> int:
    """Put one sent message's header into the index (messages + message_addresses). Returns its row id.

    Stored like the sync engine stores what it fetches: Message-IDs without
    angle brackets, dates in UTC ISO 8601, addresses as "Name <addr>", and Bcc
    recorded because this is sent mail.
    """
    from .mime import format_address, normalize_message_id, parse

    parsed = parse(raw)
    sender = [format_address(a) for a in parsed.from_]
    to = [format_address(a) for a in parsed.to]
    cc = [format_address(a) for a in parsed.cc]
    blind = [a for _, a in getaddresses(list(bcc)) if a]
    date = parsed.date or datetime.now(timezone.utc)
    if uid is not None:
        known = store.db.execute(
            "SELECT id FROM messages WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid = ?",
            [account, folder, uidvalidity, uid]).fetchone()
        if known:  # the sync got there first
            return known[0]
    row = {
        "account": account,
        "folder": folder,
        "uidvalidity": uidvalidity,
        "uid": uid,
        "message_id": parsed.message_id,
        "date": date.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "sender": sender[0] if sender else "",
        "recipients": json.dumps(to, ensure_ascii=False),
        "cc": json.dumps(cc, ensure_ascii=False),
        "bcc": json.dumps(blind, ensure_ascii=False),
        "subject": parsed.subject,
        "size": len(raw),
        "flags": "\\Seen",
        "has_attachments": int(parsed.has_attachments),
        "in_reply_to": parsed.in_reply_to,
        "refs": " ".join(normalize_message_id(r) for r in parsed.references),
    }
    roles = [("from", a.email) for a in parsed.from_] + [("to", a.email) for a in parsed.to]
    roles += [("cc", a.email) for a in parsed.cc] + [("bcc", a) for a in blind]
    with store.db.conn:
        rowid = store.db["messages"].insert(row).last_pk
        for role, address in dict.fromkeys((r, a.strip().lower()) for r, a in roles if a):
            store.db["message_addresses"].insert({"message_rowid": rowid, "address": address, "role": role})
    return rowid
