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
it. A placeholder lives until the sync settles it (`settle_placeholders`):
- the provider's copy is synced (same account and Message-ID, any folder):
  the placeholder's Bcc recipients, which the server copy may lack, move onto
  that row and the placeholder is deleted;
- the copy never comes: once the message is `PLACEHOLDER_GRACE_DAYS` old and a
  complete folder that would hold it (its own folder, a \\Sent or \\All
  folder) covers its date and was synced that long after it was sent, the
  provider did not file it or the user deleted it there. The placeholder
  leaves the index; the message itself stays in the outbox as sent
  (`tamago outbox list --all`) and in the body cache (`tamago show MESSAGE_ID`
  opens it offline). While no such folder is synced the placeholder is the
  only trace in the contact's history, so it stays.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Callable, Iterable

from . import providers
from .errors import NotFound, TamagoError
from .models import Account
from .store import Store

log = logging.getLogger("tamago.sentcopy")

SAVED, SERVER, SKIPPED = "saved", "server", "skipped"
PLACEHOLDER_GRACE_DAYS = 7  # a provider files its copy in seconds; scans run every 12 hours
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
        index_sent_message(store, account, folder, uidvalidity, uid, raw, bcc=bcc)
    except Exception as exc:  # the index is a convenience; the next sync fills it
        log.warning("could not index the sent message for %s: %s", account.name, exc)


def _header_block(raw: bytes) -> bytes:
    for blank in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(blank)
        if end >= 0:
            return raw[: end + len(blank)]
    return raw


def index_sent_message(store: Store, account: Account, folder: str, uidvalidity: int | None, uid: int | None,
                       raw: bytes, *, bcc: Iterable[str] = ()) -> None:
    """Put one sent message's header into the index with the sync engine's own writer.

    The fields are read as the sync reads a fetched header block, so the row is
    the one a later sync of the Sent folder would write (and replaces, by UID).
    Bcc recipients are not in the headers; they come from the outbox. Without a
    UID (the provider files the message itself) the row is a placeholder until
    the synced copy arrives with the same Message-ID.
    """
    from . import headers as hdr
    from .index import Header, HeaderIndex
    from .mime import parse

    fields = hdr.index_headers(_header_block(raw))
    blind = tuple(("", a) for _, a in getaddresses(list(bcc)) if a)
    index = HeaderIndex(store)
    state = replace(index.folder(account.name, folder), uidvalidity=uidvalidity)
    if "\\sent" not in state.special_use.lower():  # a folder the sync has not listed yet
        state = replace(state, special_use=(state.special_use + " \\Sent").strip())
    header = Header(
        uid=uid, message_id=fields.message_id, gm_msgid=None,
        date=fields.date or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        sender=fields.sender, to=fields.to, cc=fields.cc, bcc=fields.bcc + blind, subject=fields.subject,
        size=len(raw), flags="\\Seen", has_attachments=parse(raw).has_attachments,
        in_reply_to=fields.in_reply_to, refs=fields.refs,
    )
    index.store_headers(state, [header], own_addresses=account.own_addresses)


def settle_placeholders(index, account: str, *, stale: bool = True, now: datetime | None = None) -> tuple[int, int]:
    """Merge placeholders whose synced copy is in the index; with `stale`, drop those whose copy is
    overdue (see the module docstring). Returns (merged, dropped). `index` is a HeaderIndex."""
    placeholders = index.placeholders(account)
    left = [p for p in placeholders if not index.merge_placeholder(account, p)]
    merged = len(placeholders) - len(left)
    dropped = 0
    if stale and left:
        folders = [f for f in index.folders(account, selected_only=True) if f.complete]
        now = now or datetime.now(timezone.utc)
        overdue = [p["id"] for p in left if _copy_overdue(p, folders, now)]
        if overdue:
            dropped = index.drop_rows(overdue)
            log.info("%s: %d sent message(s) never appeared in a synced folder; they stay in the outbox",
                     account, dropped)
    return merged, dropped


def _iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _copy_overdue(placeholder: dict, folders, now: datetime) -> bool:
    sent = _iso(placeholder["date"])
    grace = timedelta(days=PLACEHOLDER_GRACE_DAYS)
    if sent is None or now - sent < grace:
        return False
    for folder in folders:
        uses = folder.special_use.lower()
        if folder.name != placeholder["folder"] and "\\sent" not in uses and "\\all" not in uses:
            continue
        if not folder.oldest_date or folder.oldest_date > sent.date().isoformat():
            continue  # the backfill window does not reach the message
        synced = _iso(folder.last_sync_at)
        if synced is not None and synced - sent >= grace:
            return True
    return False


def cache_sent_body(services, store: Store, raw: bytes) -> None:
    """Keep the sent message in the body cache (keyed by Message-ID, like an opened one), so it
    opens at once and offline from the contact's history, placeholder or not. Never raises."""
    from .cache import cache_file, record_body
    from .mime import normalize_message_id, parse

    try:
        parsed = parse(raw)
        key = normalize_message_id(parsed.message_id)
        if not key:
            return
        path = cache_file(services, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, path)
        record_body(store, key, path, parsed)
    except Exception as exc:  # a cache is a convenience; opening the message fetches it instead
        log.warning("could not cache the sent message: %s", exc)
