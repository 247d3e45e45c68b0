"""Canned header-index rows and a cached message, so history and viewer screens are deterministic."""

from __future__ import annotations

import json

from tamago_tui.backend.cache import cache_file, record_body
from tamago_tui.backend.mime import parse_file

ADA = "Ada Lovelace <ada@example.org>"
ME = "Jane Doe <jane@example.org>"

# (subject, sender, to, date, has_attachments, folder)
ROWS = [
    ("Notes on the Analytical Engine", ADA, [ME], "2024-05-03T09:15:00+00:00", True, "INBOX"),
    ("Re: Bernoulli numbers", ME, [ADA], "2024-05-02T17:40:00+00:00", False, "Sent"),
    ("Bernoulli numbers", ADA, [ME], "2024-05-02T08:05:00+00:00", False, "INBOX"),
    ("Lunch on Friday?", ADA, [ME, "Charles Babbage <charles@example.org>"], "2024-04-29T12:00:00+00:00", False,
     "INBOX"),
    ("Diagram for note G", ADA, [ME], "2024-04-21T10:30:00+00:00", True, "INBOX"),
]

MESSAGE = (
    "From: Ada Lovelace <ada@example.org>\r\n"
    "To: Jane Doe <jane@example.org>\r\n"
    "Subject: Notes on the Analytical Engine\r\n"
    "Date: Fri, 03 May 2024 09:15:00 +0000\r\n"
    "Message-ID: <notes-1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="b1"\r\n'
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Dear Jane,\r\n\r\nHere are my notes on the Engine, with the table for note G.\r\n"
    "The Engine weaves algebraic patterns just as the Jacquard loom weaves flowers.\r\n\r\nAda\r\n"
    "--b1\r\n"
    'Content-Type: text/csv; name="note-g.csv"\r\n'
    'Content-Disposition: attachment; filename="note-g.csv"\r\n'
    "\r\n"
    "n,B(n)\r\n1,1/6\r\n3,-1/30\r\n"
    "--b1--\r\n"
).encode()


def seed_history(services, account: str = "work") -> list[int]:
    """Insert the canned rows (with their address rows); returns their row ids, newest first."""
    store = services.open_store()
    ids = []
    try:
        store.ensure_account(account, "jane@example.org")
        for uid, (subject, sender, to, date, attach, folder) in enumerate(ROWS, 1):
            message_id = "notes-1@example.org" if uid == 1 else f"canned-{uid}@example.org"
            rowid = store.db["messages"].insert({
                "account": account, "folder": folder, "uidvalidity": 1, "uid": uid, "message_id": message_id,
                "date": date, "sender": sender, "recipients": json.dumps(to), "cc": "[]", "bcc": "[]",
                "subject": subject, "size": 2048 * uid, "flags": "\\Seen", "has_attachments": int(attach),
            }).last_pk
            ids.append(rowid)
            for role, values in (("from", [sender]), ("to", to)):
                for value in values:
                    address = value.split("<")[-1].rstrip(">").lower()
                    store.db["message_addresses"].insert({"message_rowid": rowid, "address": address, "role": role})
    finally:
        store.close()
    return ids


def seed_cached_message(services) -> None:
    """The first canned row's message, already in the cache (so it opens offline)."""
    path = cache_file(services, "notes-1@example.org")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MESSAGE)
    store = services.open_store()
    try:
        record_body(store, "notes-1@example.org", path, parse_file(path))
    finally:
        store.close()
