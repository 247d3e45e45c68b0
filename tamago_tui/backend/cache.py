"""Cache on open: the whole message, fetched once, then read offline.

Opening a message fetches it with `BODY.PEEK[]` (never marking it read),
streamed straight into a private file under `paths.cache_dir`, so a huge
message is never held in memory twice. mime.parse_file reads that file; the
readable text and the attachment list go to the `bodies` and `attachments`
tables, keyed by Message-ID so they survive a UIDVALIDITY change and serve
every copy of the message (several folders, labels or accounts).

Later opens need no network: `open_message` finds the file and parses it
again (the parser never raises, and a raw view is always possible).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import NetworkError, NotFound
from .headers import normalise_message_id
from .imap import LiteralTooLarge
from .imapwire import Response, Wire, quote
from .index import HeaderIndex
from .store import Store, now_iso
from .sync import AccountSync, cancel_check

log = logging.getLogger("tamago.cache")

_BODY_LITERAL = re.compile(rb"BODY\[\] $")


@dataclass(frozen=True)
class CachedMessage:
    key: str  # the Message-ID (without brackets), or a synthetic key for messages without one
    raw_path: Path
    parsed: object  # mime.ParsedMessage
    offline: bool  # True when nothing had to be fetched

    @property
    def text(self) -> str:
        return self.parsed.text

    @property
    def attachments(self):
        return self.parsed.attachments


def body_key(row: dict) -> str:
    """How a message's cached body is keyed: its Message-ID, else where it lives."""
    if row.get("message_id"):
        return row["message_id"]
    return f"tamago:{row['account']}/{row['folder']}/{row['uidvalidity']}/{row['uid']}"


def cache_file(services, key: str) -> Path:
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:40]
    return services.paths.cache_dir / f"{digest}.eml"


def _rows(store: Store, *, rowid: int | None = None, message_id: str | None = None) -> list[dict]:
    if rowid is not None:
        rows = list(store.db["messages"].rows_where("id = ?", [rowid]))
        if rows and rows[0].get("message_id"):
            # Every copy, the opened one first: if it was moved or expunged, another will do.
            others = [r for r in store.db["messages"].rows_where("message_id = ?", [rows[0]["message_id"]])
                      if r["id"] != rowid]
            rows += others
        return rows
    wanted = normalise_message_id(message_id or "")
    if not wanted or not _storable(wanted):
        return []
    return list(store.db["messages"].rows_where("message_id = ?", [wanted], order_by="id"))


def _storable(text: str) -> bool:
    """False for text that cannot be UTF-8 (a command-line argument of raw bytes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cached_body(store: Store, key: str) -> dict | None:
    rows = list(store.db["bodies"].rows_where("message_id = ?", [key]))
    if rows and rows[0].get("raw_path") and Path(rows[0]["raw_path"]).is_file():
        return rows[0]
    return None


def open_message(services, *, rowid: int | None = None, message_id: str | None = None, cancel=None) -> CachedMessage:
    """The message, parsed: from the cache when it is there, else fetched once and cached."""
    from . import mime

    store = services.open_store()
    try:
        rows = _rows(store, rowid=rowid, message_id=message_id)
        if rows:
            key = body_key(rows[0])
        elif message_id:
            key = normalise_message_id(message_id)
            if not _storable(key):
                raise NotFound(f"No message with the Message-ID {ascii(key)} is in the local index.")
        else:
            raise NotFound(f"No message {rowid} in the index.")
        body = cached_body(store, key)
        if body is not None:
            path = Path(body["raw_path"])
            return CachedMessage(key, path, mime.parse_file(path), offline=True)
        if not rows:
            raise NotFound(
                f"Message <{key}> is not in the local index. Run `tamago sync` (or visit the contact) first."
            )
        path = fetch_to_cache(services, store, rows, key, cancel=cancel)
        parsed = mime.parse_file(path)
        record_body(store, key, path, parsed)
        return CachedMessage(key, path, parsed, offline=False)
    finally:
        store.close()


def fetch_to_cache(services, store: Store, rows: list[dict], key: str, *, cancel=None) -> Path:
    """Fetch the first copy of the message that still exists, into the cache file."""
    last_error: Exception | None = None
    accounts = services.config.accounts
    for row in rows:
        account = accounts.get(row["account"])
        if account is None:
            continue
        try:
            with services.sessions.session(account) as wire:
                engine = AccountSync(account, wire, HeaderIndex(store), cancel=cancel)
                path = fetch_message(engine, row, cache_file(services, key))
            if path is not None:
                return path
        except LiteralTooLarge:
            raise  # every copy is as large
        except (NetworkError, OSError) as exc:
            last_error = exc
            log.warning("fetching %s from %s/%s failed: %s", key, row["account"], row["folder"], exc)
    if last_error is not None:
        raise last_error
    raise NotFound(f"Message <{key}> is no longer on the server (it was moved or deleted). Sync to refresh the list.")


def fetch_message(engine: AccountSync, row: dict, dest: Path) -> Path | None:
    """EXAMINE the row's folder and stream its BODY.PEEK[] into `dest`. None when it is gone."""
    wire = engine.wire
    state = engine.index.folder(row["account"], row["folder"])
    info = engine.examine(state)
    try:
        uid = row["uid"]
        if info.get("UIDVALIDITY") != row["uidvalidity"]:
            uid = None
        if uid is not None:
            if stream_body(wire, uid, dest):
                return dest
        if row.get("message_id"):
            # Renumbered (UIDVALIDITY) or moved within the folder: find it by Message-ID.
            found = engine.search(b"HEADER Message-ID " + quote(row["message_id"]))
            for candidate in found[-1:]:
                if stream_body(wire, candidate, dest):
                    return dest
        return None
    finally:
        if not wire.broken:
            engine.unselect()


def stream_body(wire: Wire, uid: int, dest: Path) -> bool:
    """`UID FETCH uid (BODY.PEEK[])`, the literal written to a 0600 file as it arrives."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    got = False
    try:
        with os.fdopen(fd, "wb") as handle:
            def sink_for(prefix: bytes, size: int):
                nonlocal got
                if _BODY_LITERAL.search(prefix) and not got:
                    got = True
                    return handle
                return None

            def on_untagged(response: Response) -> None:
                pass  # the body went to the file; other untagged data (flag updates) is not needed

            wire.run(b"UID FETCH %d (BODY.PEEK[])" % uid, on_untagged=on_untagged, sink_for=sink_for)
            handle.flush()
            os.fsync(handle.fileno())
        if not got:
            return False
        os.replace(tmp, dest)
        return True
    finally:
        if tmp.exists():
            tmp.unlink()


def record_body(store: Store, key: str, path: Path, parsed) -> None:
    """The parsed text and attachment list, in one transaction."""
    conn = store.db.conn
    with conn:
        conn.execute(
            "INSERT OR REPLACE INTO bodies (message_id, text, raw_path, raw_size, cached_at) VALUES (?,?,?,?,?)",
            [key, parsed.text, str(path), path.stat().st_size, now_iso()],
        )
        conn.execute("DELETE FROM attachments WHERE message_id = ?", [key])
        conn.executemany(
            "INSERT INTO attachments (message_id, part, filename, content_type, size, inline) VALUES (?,?,?,?,?,?)",
            [(key, a.part, a.filename, a.content_type, a.size, int(a.inline)) for a in parsed.attachments],
        )


def save_attachment(services, cached: CachedMessage, part: str, dest: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write one attachment's decoded bytes to `dest` (a file, or an existing directory)."""
    from . import mime

    attachment = cached.parsed.attachment(part)
    if attachment is None:
        raise NotFound(f"This message has no attachment {part!r}.")
    target = Path(dest).expanduser()
    if target.is_dir():
        target = target / attachment.filename
    mime.save_attachment(cached.raw_path, part, target, overwrite=overwrite)
    return target


def raw_text(cached: CachedMessage, limit: int = 4 * 1024 * 1024) -> str:
    """The raw message for the raw view (control characters made visible), up to `limit` bytes."""
    from . import mime

    with open(cached.raw_path, "rb") as handle:
        data = handle.read(limit + 1)
    text = mime.raw_text(data[:limit])
    if len(data) > limit:
        text += f"\n[... {cached.raw_path.stat().st_size - limit} more bytes not shown]"
    return text


# -- auto-caching ---------------------------------------------------------------


def uncached_matches(store: Store, account: str, addresses=None) -> list[dict]:
    """Messages of `account` that involve any contact (or `addresses`) and are not cached yet."""
    if addresses is not None:
        wanted = sorted({a.strip().lower() for a in addresses if a})
        if not wanted:
            return []
        match = f"ma.address IN ({','.join('?' * len(wanted))})"
        params: list = [account, *wanted]
    else:
        match = "ma.address IN (SELECT address FROM contact_addresses)"
        params = [account]
    sql = f"""
        SELECT m.id, m.account, m.folder, m.uidvalidity, m.uid, m.message_id FROM messages m
        WHERE m.account = ? AND EXISTS (
            SELECT 1 FROM message_addresses ma WHERE ma.message_rowid = m.id AND {match})
        ORDER BY m.folder, m.uid
    """
    columns = ("id", "account", "folder", "uidvalidity", "uid", "message_id")
    rows = [dict(zip(columns, r)) for r in store.db.execute(sql, params)]
    cached = {r[0] for r in store.db.execute("SELECT message_id FROM bodies WHERE raw_path IS NOT NULL")}
    seen: set[str] = set()
    out = []
    for row in rows:
        key = body_key(row)
        if key in cached or key in seen:
            continue
        seen.add(key)
        out.append(row)
    return out


def auto_cache_account(services, account, wire: Wire, store: Store, *, cancel=None, contact=None) -> int:
    """Cache the bodies of every matched message of `account`, one folder at a time.

    Runs on the account's session after a sync (one connection per account);
    `cancel` is checked between messages. Returns how many were cached.
    """
    from . import mime

    check = cancel_check(cancel)
    engine = AccountSync(account, wire, HeaderIndex(store), cancel=cancel)
    rows = uncached_matches(store, account.name, contact)
    done = 0
    by_folder: dict[str, list[dict]] = {}
    for row in rows:
        by_folder.setdefault(row["folder"], []).append(row)
    for folder, items in by_folder.items():
        state = engine.index.folder(account.name, folder)
        info = engine.examine(state)
        try:
            for row in items:
                check()
                if info.get("UIDVALIDITY") != row["uidvalidity"]:
                    continue  # renumbered since the last sync: the next sync brings the new UIDs
                key = body_key(row)
                dest = cache_file(services, key)
                if stream_body(wire, row["uid"], dest):
                    record_body(store, key, dest, mime.parse_file(dest))
                    done += 1
        finally:
            if not wire.broken:
                engine.unselect()
    return done
