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
from typing import Callable

import sqlite_utils

from .errors import StoreError


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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """A connection to the local database, migrated to the current schema."""

    def __init__(self, path: Path | str | None = None, *, memory: bool = False):
        self.path = None if memory else Path(path)  # type: ignore[arg-type]
        try:
            if memory:
                self.db = sqlite_utils.Database(memory=True)
            else:
                self._prepare_file(self.path)
                conn = sqlite3.connect(str(self.path), timeout=30)
                self.db = sqlite_utils.Database(conn)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self._private(self.path)
            self.db.execute("PRAGMA foreign_keys=ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"Cannot open the local database {path}: {exc}") from exc

    @staticmethod
    def _prepare_file(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))

    @staticmethod
    def _private(path: Path) -> None:
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if candidate.exists():
                os.chmod(candidate, 0o600)

    @property
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        current, target = self.version, len(MIGRATIONS)
        if current > target:
            raise StoreError(
                f"The local database is from a newer tamago (schema {current}, "
                f"this version knows {target}). Upgrade tamago."
            )
        for version in range(current, target):
            with self.db.conn:
                MIGRATIONS[version](self.db)
                self.db.execute(f"PRAGMA user_version = {version + 1}")

    def close(self) -> None:
        self.db.conn.close()

    # -- account state -------------------------------------------------

    def ensure_account(self, name: str, email: str) -> None:
        with self.db.conn:
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
        with self.db.conn:
            self.db["accounts"].upsert(row, pk="name")

    def forget_account(self, name: str) -> None:
        """Drop the account's state and header index. Cached bodies stay (keyed by Message-ID)."""
        with self.db.conn:
            ids = [r[0] for r in self.db.execute("SELECT id FROM messages WHERE account = ?", [name])]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.db.execute(f"DELETE FROM message_addresses WHERE message_rowid IN ({marks})", chunk)
            self.db.execute("DELETE FROM messages WHERE account = ?", [name])
            self.db.execute("DELETE FROM folders WHERE account = ?", [name])
            self.db.execute("DELETE FROM accounts WHERE name = ?", [name])
