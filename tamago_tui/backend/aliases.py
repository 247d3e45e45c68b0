"""When an account's own addresses change (an alias added or removed), its indexed mail follows.

The header index leaves the account's own addresses out of the contact-matching rows
(`message_addresses`), except on notes to self (index.py). Mail indexed before an
alias was added still has rows for that alias: visiting the alias would show all the
mail it received instead of the notes to self, and a removed alias would match nothing
old. `refresh_own_addresses` rewrites the rows of the messages that name a changed
address, from the columns already in the index (no network, no re-sync). Rows of
other people never change, so contacts' histories stay as they were.

However the addresses changed (the editor, `tamago accounts`, or config.toml edited by
hand), the index follows: the accounts table records, per account, the own addresses its
rows were last brought in line with, and `follow_config` compares that with the config
each time services open the database for a newly loaded config (services.py).

Bcc is kept only for mail known to be sent when it was indexed; mail sent from a new
alias and indexed outside a Sent folder keeps no Bcc rows (the Bcc was not stored).
"""

from __future__ import annotations

import json
import logging
from email.utils import parseaddr
from typing import Iterable

from .models import Account
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


def _stored_rows(store: Store, rowids: list[int]) -> dict[int, set[tuple[str, str]]]:
    """The (address, role) rows the index holds for each of `rowids`."""
    found: dict[int, set[tuple[str, str]]] = {rowid: set() for rowid in rowids}
    for start in range(0, len(rowids), 500):
        chunk = rowids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        query = f"SELECT message_rowid, address, role FROM message_addresses WHERE message_rowid IN ({marks})"
        for rowid, address, role in store.db.execute(query, chunk):
            found[rowid].add((address, role))
    return found


def refresh_own_addresses(store: Store, account: str, before, after, *, email: str | None = None) -> int:
    """Rewrite the address rows of `account`'s messages for the change from the own
    addresses `before` to `after`. Returns how many messages changed.

    Only messages naming an address in one set but not the other are read, and only
    those whose stored rows differ from what index.py would write now are rewritten,
    so running it again changes nothing. With `email` (the account's main address),
    `after` is also recorded as the set the index is in line with, in the same
    transaction (see follow_config)."""
    old = {a.lower() for a in before}
    new = {a.lower() for a in after}
    changed = old ^ new
    candidates: dict[int, set[tuple[str, str]]] = {}
    if changed:
        rows = store.db.execute(
            "SELECT id, sender, recipients, cc, bcc FROM messages WHERE account = ?", [account]
        ).fetchall()
        for rowid, sender, to, cc, bcc in rows:
            parties = _parties(sender, to, cc, bcc)
            if any(address in changed for _, address in parties):
                candidates[rowid] = address_rows(parties, new)
    stored = _stored_rows(store, list(candidates))
    updates = [(rowid, wanted) for rowid, wanted in candidates.items() if stored[rowid] != wanted]
    if updates or email is not None:
        with store.writing():
            conn = store.db.conn
            conn.executemany("DELETE FROM message_addresses WHERE message_rowid = ?", [(r,) for r, _ in updates])
            conn.executemany(
                "INSERT INTO message_addresses (message_rowid, address, role) VALUES (?,?,?)",
                [(rowid, address, role) for rowid, wanted in updates for address, role in sorted(wanted)],
            )
            if email is not None:
                _record(store, account, email, new)
    if changed:
        log.info("own addresses of %s changed: %d indexed message(s) updated", account, len(updates))
    return len(updates)


# -- following config.toml, however it was edited ------------------------------------------


def _record(store: Store, account: str, email: str, own) -> None:
    # Plain SQL, not sqlite-utils' upsert: that commits on its own, inside our transaction.
    store.db.conn.execute(
        "INSERT INTO accounts (name, email, own_addresses) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET email = excluded.email, own_addresses = excluded.own_addresses",
        [account, email, json.dumps(sorted(own))],
    )


def recorded(store: Store) -> dict[str, frozenset[str] | None]:
    """Per account, the own addresses its index rows were last brought in line with (None: never)."""
    found: dict[str, frozenset[str] | None] = {}
    for name, value in store.db.execute("SELECT name, own_addresses FROM accounts"):
        try:
            found[name] = frozenset(json.loads(value)) if value else None
        except (ValueError, TypeError):
            found[name] = None  # unreadable: treated as never recorded
    return found


def follow(store: Store, account: Account, *, known: dict | None = None, fallback=None) -> int:
    """Bring `account`'s indexed rows in line with its own addresses and record them.

    The set recorded last time tells what changed. Without one (a new account, a
    database from before records were kept) `fallback` stands in, else the main
    address alone: mail naming an alias or the login is checked once."""
    known = recorded(store) if known is None else known
    now = frozenset(account.own_addresses)
    was = known.get(account.name)
    if was == now:
        return 0
    if was is None:
        was = frozenset(a.lower() for a in fallback) if fallback is not None else frozenset({account.email.lower()})
    return refresh_own_addresses(store, account.name, was, now, email=account.email)


def follow_config(store: Store, accounts: Iterable[Account]) -> dict[str, int]:
    """Bring the index in line with every configured account's own addresses, whether they
    were changed in the editor, by `tamago accounts` or by editing config.toml by hand.

    One small query when nothing changed. Accounts no longer in the config are left as
    they are (their rows stay until the account is removed). Returns, per account whose
    addresses changed, how many messages were rewritten."""
    known = recorded(store)
    return {
        account.name: follow(store, account, known=known)
        for account in accounts
        if known.get(account.name) != frozenset(account.own_addresses)
    }
