"""The local SQLite store, on sqlite-utils.

The schema version lives in `PRAGMA user_version`; `MIGRATIONS[i]` takes the
schema from version i to i+1 and only ever moves forward. The file and its
directory are private to the user, the journal is WAL, and no secret is ever
written here.

sqlite3 connections belong to the thread that opened them: open a `Store` in
the thread (worker) that uses it. Opening is cheap.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterator

import sqlite_utils

from .errors import StoreError
from .fsutil import is_disk_full, reason


class StoreFull(StoreError, sqlite3.OperationalError):
    """SQLITE_FULL: the disk (or a quota) is full. The failed change was rolled back.

    Also a `sqlite3.OperationalError`, so code that catches sqlite3's errors
    keeps working; `TamagoError` handlers show the message.
    """

    title = "Disk full"


class StoreCorrupt(StoreError, sqlite3.DatabaseError):
    """SQLITE_CORRUPT / SQLITE_NOTADB: the file is damaged or is not a database."""

    title = "Local database damaged"


class StoreUnavailable(StoreError, sqlite3.OperationalError):
    """Locked by another process, read-only, an I/O error, or cannot be opened."""


def translate(exc: sqlite3.Error, path: Path | str | None = None) -> StoreError:
    """A sqlite3 error as a `StoreError` a person can act on. Already-translated errors pass through."""
    if isinstance(exc, StoreError):
        return exc
    where = f"the local database {path}" if path else "the local database"
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc)
    lowered = text.lower()
    io_error = code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)
    # SQLite reports ENOSPC as SQLITE_FULL when a write fails, but as an I/O error when it
    # cannot grow the WAL index (-shm) or a journal: ask the file system in that case.
    if code == sqlite3.SQLITE_FULL or "database or disk is full" in lowered or (io_error and _nearly_full(path)):
        return StoreFull(
            f"The disk is full: {where} cannot be written ({text}). Nothing was changed: what was "
            "stored before is intact. Free some space and try again."
        )
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "not a database" in lowered or "malformed" in lowered:
        return StoreCorrupt(
            f"{where[0].upper()}{where[1:]} is damaged ({text}). Quit tamago, rename the file (for example to "
            "tamago.db.broken) and start tamago again: it creates a new database and fetches the mail "
            "headers again. Contacts live only in the database: restore the file from a backup if you "
            "need them, or try `sqlite3 tamago.db.broken .recover` to rescue what is readable."
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in lowered:
        return StoreUnavailable(
            f"{where[0].upper()}{where[1:]} is busy ({text}): another tamago is writing to it. "
            "Wait for it to finish, or close it, and try again."
        )
    if code == sqlite3.SQLITE_READONLY or "readonly" in lowered or "read-only" in lowered:
        return StoreUnavailable(
            f"{where[0].upper()}{where[1:]} is read-only ({text}). Check the permissions of the file "
            "and its directory, and that the disk is not mounted read-only."
        )
    if io_error:
        return StoreUnavailable(
            f"Cannot read or write {where} ({text}). Check that the disk is present, not full and "
            "writable, then try again."
        )
    return StoreError(f"{where[0].upper()}{where[1:]} reported an error: {text}")


def _nearly_full(path: Path | str | None) -> bool:
    if not path:
        return False
    try:
        stats = os.statvfs(Path(path).parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 256 * 1024


def _translating(method):
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.IntegrityError:
            raise  # callers handle constraint violations themselves
        except sqlite3.Error as exc:
            if isinstance(exc, StoreError):
                raise
            raise translate(exc, self.tamago_path) from exc

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class _Connection(sqlite3.Connection):
    """A sqlite3 connection whose failures arrive as `StoreError`s (also still sqlite3 errors)."""

    tamago_path: Path | None = None
    execute = _translating(sqlite3.Connection.execute)
    executemany = _translating(sqlite3.Connection.executemany)
    executescript = _translating(sqlite3.Connection.executescript)
    commit = _translating(sqlite3.Connection.commit)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _v1(db: sqlite_utils.Database) -> None:
    # Runtime state of each configured account (its settings live in config.toml).
    db["accounts"].create(
        {
            "name": str,
            "email": str,
            "status": str,  # never_tested | connected | failing
            "last_error": str,
            "last_category": str,
            "last_tested_at": str,
            "last_synced_at": str,
        },
        pk="name",
        defaults={"status": "never_tested"},
    )
    db["folders"].create(
        {
            "id": int,
            "account": str,
            "name": str,
            "special_use": str,  # e.g. "\\Sent \\All"
            "uidvalidity": int,
            "uidnext": int,
            "highestmodseq": int,
            "synced_uid": int,  # every UID <= this is in the header index
            "oldest_date": str,  # the backfill window the index covers
            "last_sync_at": str,
        },
        pk="id",
        foreign_keys=[("account", "accounts", "name")],
    )
    db["folders"].create_index(["account", "name"], unique=True)
    db["contacts"].create(
        {
            "id": int,
            "name": str,
            "organisation": str,
            "notes": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db["contacts"].create_index(["name"])
    db["contact_addresses"].create(
        {"id": int, "contact_id": int, "address": str, "label": str},
        pk="id",
        foreign_keys=[("contact_id", "contacts", "id")],
    )
    db["contact_addresses"].create_index(["address"])
    db["contact_addresses"].create_index(["contact_id", "address"], unique=True)
    # The header index: one row per message per folder. Never a body.
    db["messages"].create(
        {
            "id": int,
            "account": str,
            "folder": str,
            "uidvalidity": int,
            "uid": int,
            "message_id": str,
            "gm_msgid": int,
            "date": str,  # ISO 8601, UTC
            "sender": str,  # "Name <addr>"
            "recipients": str,  # JSON list of "Name <addr>"
            "cc": str,  # JSON list
            "bcc": str,  # JSON list (sent mail only)
            "subject": str,
            "size": int,
            "flags": str,  # space separated
            "has_attachments": int,
            "in_reply_to": str,
            "refs": str,
        },
        pk="id",
    )
    db["messages"].create_index(["account", "folder", "uidvalidity", "uid"], unique=True)
    db["messages"].create_index(["message_id"])
    db["messages"].create_index(["date"])
    # Lower-cased addresses of each message, for matching contacts by index.
    db["message_addresses"].create(
        {"message_rowid": int, "address": str, "role": str},  # role: from|to|cc|bcc
        foreign_keys=[("message_rowid", "messages", "id")],
    )
    db["message_addresses"].create_index(["address"])
    db["message_addresses"].create_index(["message_rowid"])
    # Cached bodies, keyed by Message-ID so they survive a UIDVALIDITY change.
    db["bodies"].create(
        {
            "message_id": str,
            "text": str,
            "raw_path": str,  # the whole message, streamed to a file under cache_dir
            "raw_size": int,
            "cached_at": str,
        },
        pk="message_id",
    )
    db["attachments"].create(
        {
            "id": int,
            "message_id": str,
            "part": str,
            "filename": str,
            "content_type": str,
            "size": int,
            "inline": int,
        },
        pk="id",
        foreign_keys=[("message_id", "bodies", "message_id")],
    )
    db["attachments"].create_index(["message_id"])
    # Mail waiting to go out. Written before any network call; see outbox.py.
    db["outbox"].create(
        {
            "id": int,
            "account": str,
            "message_id": str,
            "mail_from": str,
            "rcpt_to": str,  # JSON list: every envelope recipient, Bcc included
            "subject": str,
            "raw": bytes,
            "status": str,  # queued | sending | failed | uncertain | sent
            "attempts": int,
            "last_error": str,
            "last_category": str,
            "created_at": str,
            "updated_at": str,
            "sent_at": str,
        },
        pk="id",
        defaults={"status": "queued", "attempts": 0},
    )
    db["outbox"].create_index(["status"])


def _v2(db: sqlite_utils.Database) -> None:
    # Outbox: which recipients a server refused, and what became of the Sent copy.
    db["outbox"].add_column("rejected", str)  # JSON {address: "550 5.1.1 ..."}
    db["outbox"].add_column("sent_copy", str)  # "" | saved | server | skipped | failed: ...
    db["outbox"].add_column("cc", str)  # JSON list, for editing a failed message
    db["outbox"].add_column("bcc", str)  # JSON list (envelope only, never a header)


def _v3(db: sqlite_utils.Database) -> None:
    # Incremental sync state (sync.py): the folder's message count at the last
    # complete sync (expunge detection without QRESYNC), whether the first full
    # header sync of this UIDVALIDITY has finished, and whether the folder was
    # picked by default (a remembered LIST, so a resync needs no extra round-trip).
    db["folders"].add_column("exists_count", int)
    db["folders"].add_column("complete", int, not_null_default=0)
    db["folders"].add_column("selected", int, not_null_default=0)


def _v4(db: sqlite_utils.Database) -> None:
    # Flag sweeps without CONDSTORE (flagsweep.py): when every indexed flag of the folder
    # was last read. Placeholders of server-filed sent mail (sentcopy.py, uid NULL) are
    # found by a partial index, so settling them after a sync costs nothing per message.
    db["folders"].add_column("flags_checked_at", str)
    db.execute("CREATE INDEX IF NOT EXISTS idx_messages_placeholders ON messages (account) WHERE uid IS NULL")
    _index_notes_to_self(db)


def _index_notes_to_self(db: sqlite_utils.Database) -> None:
    """Messages from the account's own address to nobody else had no address rows at all
    (the own address was never indexed); give them their own address, as index.py now does."""
    import json
    from email.utils import parseaddr

    own = {name: (email or "").lower() for name, email in db.execute("SELECT name, email FROM accounts")}
    rows = db.execute(
        "SELECT id, account, sender, recipients, cc, bcc FROM messages m "
        "WHERE NOT EXISTS (SELECT 1 FROM message_addresses x WHERE x.message_rowid = m.id)"
    ).fetchall()
    added: list[tuple[int, str, str]] = []
    for rowid, account, sender, to, cc, bcc in rows:
        me = own.get(account)
        if not me or parseaddr(sender or "")[1].lower() != me:
            continue
        roles = {"from"}
        for role, field in (("to", to), ("cc", cc), ("bcc", bcc)):
            for item in json.loads(field or "[]"):
                if parseaddr(item)[1].lower() == me:
                    roles.add(role)
        added.extend((rowid, me, role) for role in sorted(roles))
    db.conn.executemany("INSERT INTO message_addresses (message_rowid, address, role) VALUES (?,?,?)", added)


def _v5(db: sqlite_utils.Database) -> None:
    # Drafts (drafts.py): what the compose screen holds, saved as it is typed, until it
    # goes to the outbox. Address lists are JSON; attachments already in memory (from a
    # forwarded or edited message) are rows of their own, rewritten only when they change.
    db["drafts"].create(
        {
            "id": int,
            "account": str,  # the account name ("" until one is chosen)
            "sender": str,
            "to_list": str,  # JSON list of "Name <addr>"
            "cc_list": str,
            "bcc_list": str,
            "subject": str,
            "body": str,
            "attachments": str,  # JSON list of file paths
            "in_reply_to": str,
            "refs": str,  # JSON list of Message-IDs
            "extra_headers": str,  # JSON object
            "outbox_id": int,  # set when editing a message already in the outbox
            "attached_sig": str,  # digest of the draft_attachments rows
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db["draft_attachments"].create(
        {"id": int, "draft_id": int, "position": int, "filename": str, "content_type": str, "data": bytes},
        pk="id",
        foreign_keys=[("draft_id", "drafts", "id")],
    )
    db["draft_attachments"].create_index(["draft_id"])


def _v6(db: sqlite_utils.Database) -> None:
    # The own addresses (main address, aliases, an address-shaped login; a JSON list) the
    # account's header index rows were last brought in line with, so a config.toml edited
    # by hand is noticed (aliases.py). NULL: never recorded.
    db["accounts"].add_column("own_addresses", str)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6]

# Indexes a bulk load of the header index may drop while it runs and build once at its
# end (index.HeaderIndex.defer_address_index); Store() rebuilds one found missing.
DEFERRABLE_INDEXES = {
    "idx_message_addresses_address":
        "CREATE INDEX IF NOT EXISTS idx_message_addresses_address ON message_addresses (address)",
}
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """A connection to the local database, migrated to the current schema."""

    def __init__(self, path: Path | str | None = None, *, memory: bool = False):
        self.path = None if memory else Path(path)  # type: ignore[arg-type]
        conn = None
        try:
            if memory:
                conn = sqlite3.connect(":memory:", factory=_Connection)
                self.db = sqlite_utils.Database(conn)
            else:
                self._prepare_file(self.path)
                conn = sqlite3.connect(str(self.path), timeout=30, factory=_Connection)
                conn.tamago_path = self.path
                self.db = sqlite_utils.Database(conn)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self._private(self.path)
            self.db.execute("PRAGMA foreign_keys=ON")
            self.migrate()
            self.rebuild_missing_indexes()
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, StoreError) or not isinstance(exc, sqlite3.Error):
                raise
            raise translate(exc, self.path) from exc

    @staticmethod
    def _prepare_file(path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError as exc:
            if is_disk_full(exc):
                raise StoreFull(f"The disk is full: cannot create the local database {path} ({reason(exc)}). "
                                "Free some space and try again.") from exc
            raise StoreError(f"Cannot create the local database {path}: {reason(exc)}.") from exc

    @staticmethod
    def _private(path: Path) -> None:
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if candidate.exists():
                os.chmod(candidate, 0o600)

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        target = len(MIGRATIONS)
        if self.version == target:
            return
        # Under a write lock, reading the version again: two threads or processes opening a
        # new database at once (parallel account syncs) must not both run the migrations.
        # One explicit transaction (DDL included: sqlite3's implicit transactions would not
        # cover CREATE TABLE), so a full disk or a crash leaves the previous version.
        conn = self.db.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = self.version
            if current > target:
                raise StoreError(
                    f"The local database is from a newer tamago (schema {current}, "
                    f"this version knows {target}). Upgrade tamago."
                )
            for version in range(current, target):
                MIGRATIONS[version](self.db)
                self.db.execute(f"PRAGMA user_version = {version + 1}")
            conn.commit()
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def rebuild_missing_indexes(self) -> None:
        """Build again an index a bulk load dropped and did not live to restore."""
        present = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        for name, sql in DEFERRABLE_INDEXES.items():
            if name not in present:
                with self.db.conn:
                    self.db.execute(sql)

    def close(self) -> None:
        self.db.conn.close()

    # -- account state -------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A write transaction that takes the write lock first (BEGIN IMMEDIATE).

        sqlite-utils' upserts read the schema before they write; in a deferred
        transaction another connection's commit in between makes the write fail
        at once ("database is locked") instead of waiting. Accounts sync in
        parallel threads, so their writes start with the lock.
        """
        conn = self.db.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.commit()
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    def ensure_account(self, name: str, email: str) -> None:
        with self.writing():
            self.db["accounts"].upsert({"name": name, "email": email}, pk="name")

    def account_state(self, name: str) -> dict:
        rows = list(self.db["accounts"].rows_where("name = ?", [name]))
        return rows[0] if rows else {"name": name, "status": "never_tested"}

    def record_test(self, name: str, email: str, ok: bool, error: str = "", category: str = "") -> None:
        row = {
            "name": name,
            "email": email,
            "status": "connected" if ok else "failing",
            "last_error": "" if ok else error,
            "last_category": "" if ok else category,
            "last_tested_at": now_iso(),
        }
        with self.writing():
            self.db["accounts"].upsert(row, pk="name")

    def forget_account(self, name: str) -> None:
        """Drop the account's state and header index. Cached bodies stay (keyed by Message-ID)."""
        with self.db.atomic():
            ids = [r[0] for r in self.db.execute("SELECT id FROM messages WHERE account = ?", [name])]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM message_addresses WHERE message_rowid IN ({marks})", chunk)
            self.db.execute("DELETE FROM messages WHERE account = ?", [name])
            self.db.execute("DELETE FROM folders WHERE account = ?", [name])
            self.db.execute("DELETE FROM accounts WHERE name = ?", [name])
