"""Your own address as a contact: it shows your notes to self, not your whole mailbox.

The account's own address is on nearly every message, so it is not indexed as a
contact address, except on a message from it to nobody else (index.py).
"""

from __future__ import annotations

import json

import pytest

from tamago_tui.backend.history import local_history
from tamago_tui.backend.store import Store, _index_notes_to_self
from tamago_tui.backend.sync import sync_account
from tamago_tui.backend.visit import visit
from tests.servers.seed import Person

from .conftest import ADA, message


@pytest.mark.servers
def test_visiting_your_own_address_shows_notes_to_self_only(services, dovecot, imap_user, add_account):
    me = Person("Test User", imap_user.address)
    dovecot.append_many(imap_user, "INBOX", [
        message(sender=me, to=(me,), subject="Note to self"),
        message(sender=ADA, to=(me,), subject="From Ada"),
        message(sender=ADA, to=(me,), cc=(me,), subject="From Ada, me in cc"),
    ])
    dovecot.append_many(imap_user, "Sent", [
        message(sender=me, to=(ADA,), subject="To Ada"),
        message(sender=me, to=(me,), cc=(ADA,), subject="To me, Ada in cc"),
        message(sender=me, to=(), subject="No recipients at all"),
    ])
    account = add_account(dovecot, imap_user)
    assert sync_account(services, account).new == 6

    result = visit(services, [imap_user.address.upper()])

    assert result.ok, result.errors
    assert sorted((r.subject, r.matched) for r in result.rows) == [
        ("No recipients at all", (f"from {imap_user.address}",)),
        ("Note to self", (f"from {imap_user.address}", f"to {imap_user.address}")),
    ]
    ada = visit(services, [ADA.address])
    assert sorted(r.subject for r in ada.rows) == ["From Ada", "From Ada, me in cc", "To Ada", "To me, Ada in cc"]
    assert all(not any(imap_user.address in m for m in r.matched) for r in ada.rows)


def test_the_migration_gives_existing_notes_to_self_their_address():
    store = Store(memory=True)
    try:
        store.ensure_account("work", "Me@Example.test")
        rows = [
            (1, "Me <me@example.test>", ["me@example.test"]),  # a note to self: no address rows yet
            (2, "Me <me@example.test>", ["ada@partner.test"]),  # sent to Ada: has Ada's rows
            (3, "Ada <ada@partner.test>", ["me@example.test"]),
        ]
        for rowid, sender, to in rows:
            store.db.execute(
                "INSERT INTO messages (id, account, folder, uidvalidity, uid, sender, recipients, cc, bcc) "
                "VALUES (?, 'work', 'INBOX', 1, ?, ?, ?, '[]', '[]')", [rowid, rowid, sender, json.dumps(to)])
        store.db.execute("INSERT INTO message_addresses VALUES (2, 'ada@partner.test', 'to')")
        store.db.execute("INSERT INTO message_addresses VALUES (3, 'ada@partner.test', 'from')")

        _index_notes_to_self(store.db)

        added = store.db.execute("SELECT message_rowid, address, role FROM message_addresses ORDER BY 1, 3").fetchall()
        assert added == [(1, "me@example.test", "from"), (1, "me@example.test", "to"),
                         (2, "ada@partner.test", "to"), (3, "ada@partner.test", "from")]
        assert [r.rowid for r in local_history(store, ["me@example.test"])] == [1]
    finally:
        store.close()
