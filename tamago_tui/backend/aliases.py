"""When an account's own addresses change (an alias added or removed), its indexed mail follows.

The header index leaves the account's own addresses out of the contact-matching rows
(`message_addresses`), except on notes to self (index.py). Mail indexed before an
alias was added still has rows for that alias: visiting the alias would show all the
mail it received instead of the notes to self, and a removed alias would match nothing
old. `refresh_own_addresses` rewrites the rows of the messages that name a changed
address, from the columns already in the index (no network, no re-sync). Rows of
other people never change, so contacts' histories stay as they were.

Bcc is kept only for mail known to be sent when it was indexed; mail sent from a new
alias and indexed outside a Sent folder keeps no Bcc rows (the Bcc was not stored).
"""

from __future__ import annotations

import json
import logging
from email.utils import parseaddr

from .store import Store

log = logging.getLogger("tamago.aliases")


def _parties(sender: str, to: str, cc: str, bcc: str) -> list[tuple[str, str]]:
    """(role, address) of every party of an indexed message, addresses lower-cased."""
    found = []
    address = parseaddr(sender or "")[1].lower()
    if address:
        found.append(("from", address))
    for role, column in (("to", to), ("cc", cc), ("bcc", bcc)):
        for item in json.loads(column or "[]"):
            address = parseaddr(item)[1].lower()
            if address:
                found.append((role, address))
    return found


def address_rows(parties: list[tuple[str, str]], own: set[str]) -> set[tuple[str, str]]:
    """The (address, role) rows index.py writes for a message with these parties."""
    if parties and parties[0][0] == "from" and parties[0][1] in own and all(a in own for _, a in parties):
        return {(address, role) for role, address in parties}  # a note to self
    return {(address, role) for role, address in parties if address not in own}


def refresh_own_addresses(store: Store, account: str, before, after) -> int:
    """Rewrite the address rows of `account`'s messages for the change from the own
    addresses `before` to `after`. Returns how many messages changed."""
    old = {a.lower() for a in before}
    new = {a.lower() for a in after}
    changed = old ^ new
    if not changed:
        return 0
    rows = store.db.execute(
        "SELECT id, sender, recipients, cc, bcc FROM messages WHERE account = ?", [account]
    ).fetchall()
    updates: list[tuple[int, set[tuple[str, str]]]] = []
    for rowid, sender, to, cc, bcc in rows:
        parties = _parties(sender, to, cc, bcc)
        if not any(address in changed for _, address in parties):
            continue
        wanted = address_rows(parties, new)
        if wanted != address_rows(parties, old):
            updates.append((rowid, wanted))
    if updates:
        with store.writing():
            conn = store.db.conn
            conn.executemany("DELETE FROM message_addresses WHERE message_rowid = ?", [(r,) for r, _ in updates])
            conn.executemany(
                "INSERT INTO message_addresses (message_rowid, address, role) VALUES (?,?,?)",
                [(rowid, address, role) for rowid, wanted in updates for address, role in sorted(wanted)],
            )
    log.info("own addresses of %s changed: %d indexed message(s) updated", account, len(updates))
    return len(updates)
