"""The header index on disk: folder sync state and message rows, written in bulk.

Every write that moves a folder's sync state forward happens in the same
transaction as the rows it describes, so a crash or a dropped connection at
any point leaves `synced_uid` true: every UID at or below it (within the
backfill window) is in the index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from operator import itemgetter
from typing import NamedTuple

from .store import DEFERRABLE_INDEXES, Store, now_iso

ADDRESS_INDEX = "idx_message_addresses_address"
BULK_LOAD_MIN = 10_000  # messages; below this, keeping the index up as rows arrive costs little

# Column order of a message row as produced by sync.parse_fetch (after the folder key).
MESSAGE_COLUMNS = (
    "uid", "message_id", "gm_msgid", "date", "sender", "recipients", "cc", "bcc",
    "subject", "size", "flags", "has_attachments", "in_reply_to", "refs",
)


@dataclass
class FolderState:
    account: str
    name: str
    id: int | None = None
    special_use: str = ""
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None
    synced_uid: int = 0
    oldest_date: str = ""  # ISO date the index reaches back to
    exists_count: int | None = None
    complete: bool = False  # the first full header sync of this UIDVALIDITY finished
    selected: bool = False
    last_sync_at: str = ""
    flags_checked_at: str = ""  # when every indexed flag was last read (servers without CONDSTORE)

    @property
    def is_sent(self) -> bool:
        return "\\sent" in self.special_use.lower()


class Header(NamedTuple):
    """One parsed FETCH response, ready for the index. A NamedTuple: built 100,000 times
    per full sync and sent to the writer process, where a dataclass costs measurably more."""

    uid: int
    message_id: str
    gm_msgid: int | None
    date: str
    sender: tuple[str, str] | None  # (name, address)
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    bcc: tuple[tuple[str, str], ...]
    subject: str
    size: int
    flags: str
    has_attachments: bool
    in_reply_to: str = ""
    refs: str = ""


def _fmt(pair: tuple[str, str]) -> str:
    name, address = pair
    return f"{name} <{address}>" if name else address


_PLAIN = re.compile(r'[^\\\x00-\x1f\x7f]*')  # nothing json.dumps would escape, bar quotes


def json_list(pairs) -> str:
    """json.dumps([..."Name <addr>"...], ensure_ascii=False), without json's per-call overhead."""
    if not pairs:
        return "[]"
    items = [_fmt(p) for p in pairs]
    joined = '", "'.join(items)
    if _PLAIN.fullmatch(joined) and joined.count('"') == 2 * len(items) - 2:  # quotes: separators only
        return '["' + joined + '"]'
    return json.dumps(items, ensure_ascii=False)


def _address_of(item: str) -> str:
    """"Name <addr>" (or a bare address) -> addr, lower-cased."""
    start, end = item.rfind("<"), item.rfind(">")
    return (item[start + 1 : end] if 0 <= start < end else item).strip().lower()


def _notes_to_self(headers: list[Header], first_id: int, own: set[str]) -> list[tuple[int, str, str]]:
    """Address rows for the own addresses (the account's and its aliases, Account.own_addresses)
    on notes to self (from one of them to nobody else), which the
    contact matching otherwise leaves out: visiting yourself shows your notes, not every message."""
    rows = []
    for offset, h in enumerate(headers):
        if h.sender is None or h.sender[1].lower() not in own:
            continue
        parties = [(role, address.lower()) for role, group in (("to", h.to), ("cc", h.cc), ("bcc", h.bcc))
                   for _, address in group]
        if all(address in own for _, address in parties):
            found = {("from", h.sender[1].lower())} | set(parties)
            rows.extend((first_id + offset, address, role) for role, address in sorted(found))
    return rows


_ADDRESS_KEY = itemgetter(1)
_REMEMBERED: list = [None, {}, {}, {}]  # own addresses, then per address list: JSON, match keys, sender


def _remembered(own: set[str]) -> tuple[dict, dict, dict]:
    """The caches _rows works with, kept from chunk to chunk while `own` stays the same."""
    key = frozenset(own)
    if _REMEMBERED[0] != key or sum(map(len, _REMEMBERED[1:])) > 60_000:
        _REMEMBERED[:] = [key, {(): "[]"}, {(): ()}, {}]
    return _REMEMBERED[1], _REMEMBERED[2], _REMEMBERED[3]


def _rows(headers, first_id: int, account: str, folder: str, uidvalidity, is_sent: bool, own: set[str]):
    """Message rows and (rowid, address, role) rows for one chunk.

    The JSON of an address list, its lower-cased addresses and what a sender
    means are worked out once per distinct value (parse_fetch hands out the
    same tuple for the same header value), since a mailbox's correspondents
    repeat."""
    rows = []
    addresses = []
    add = addresses.extend
    as_json, matching, senders = _remembered(own)

    def keys(pairs) -> tuple[str, ...]:
        # Addresses for matching contacts. The account's own address is left out: it is
        # on nearly every message (a third of all rows) and never a contact of its own.
        found = tuple(dict.fromkeys(a for a in (p[1].lower() for p in pairs) if a not in own))
        matching[pairs] = found
        return found

    def json_of(pairs) -> str:
        text = as_json[pairs] = json_list(pairs)
        return text

    rowid = first_id
    for uid, message_id, gm_msgid, date, sender_pair, to, cc, bcc, subject, size, flags, attached, \
            in_reply_to, refs in headers:
        known = senders.get(sender_pair)
        if known is None:
            if sender_pair is None:
                known = ("", False, ())
            else:
                known = (_fmt(sender_pair), sender_pair[1].lower() in own, keys((sender_pair,)))
            senders[sender_pair] = known
        sender, sent, from_keys = known
        sent = sent or is_sent
        rows.append((
            rowid, account, folder, uidvalidity, uid, message_id, gm_msgid, date, sender,
            as_json.get(to) or json_of(to), as_json.get(cc) or json_of(cc),
            (as_json.get(bcc) or json_of(bcc)) if sent else "[]",
            subject, size, flags, int(attached), in_reply_to, refs,
        ))
        if from_keys:
            add([(rowid, a, "from") for a in from_keys])
        if to:
            found = matching.get(to)
            if found is None:
                found = keys(to)
            if found:
                add([(rowid, a, "to") for a in found])
        if cc:
            found = matching.get(cc)
            if found is None:
                found = keys(cc)
            if found:
                add([(rowid, a, "cc") for a in found])
        if sent and bcc:
            found = matching.get(bcc)
            if found is None:
                found = keys(bcc)
            add([(rowid, a, "bcc") for a in found])
        rowid += 1
    return rows, addresses


class HeaderIndex:
    def __init__(self, store: Store):
        self.store = store
        self.db = store.db
        self.conn = store.db.conn
        self.address_index_deferred = False

    # -- folders ---------------------------------------------------------

    def folder(self, account: str, name: str) -> FolderState:
        row = self.conn.execute(
            "SELECT * FROM folders WHERE account = ? AND name = ?", [account, name]
        ).fetchone()
        if row is None:
            return FolderState(account=account, name=name)
        return self._state(row)

    def folders(self, account: str, *, selected_only: bool = False) -> list[FolderState]:
        sql = "SELECT * FROM folders WHERE account = ?" + (" AND selected = 1" if selected_only else "")
        return [self._state(r) for r in self.conn.execute(sql + " ORDER BY id", [account])]

    def _state(self, row) -> FolderState:
        columns = [d[0] for d in self.conn.execute("SELECT * FROM folders LIMIT 0").description]
        data = dict(zip(columns, row))
        known = {f.name for f in fields(FolderState)}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        values["complete"] = bool(values.get("complete"))
        values["selected"] = bool(values.get("selected"))
        return FolderState(**values)

    def save_folder(self, state: FolderState, *, commit: bool = True) -> FolderState:
        row = {f.name: getattr(state, f.name) for f in fields(FolderState)}
        row["complete"] = int(state.complete)
        row["selected"] = int(state.selected)
        if state.id is None:
            row.pop("id")
            columns = ",".join(row)
            cursor = self.conn.execute(
                f"INSERT INTO folders ({columns}) VALUES ({','.join('?' * len(row))})", list(row.values())
            )
            state = replace(state, id=cursor.lastrowid)
        else:
            sets = ",".join(f"{k} = ?" for k in row if k != "id")
            self.conn.execute(
                f"UPDATE folders SET {sets} WHERE id = ?", [v for k, v in row.items() if k != "id"] + [state.id]
            )
        if commit:
            self.conn.commit()
        return state

    def set_selected(self, account: str, names: list[str], special_use: dict[str, str]) -> None:
        """Remember the folders picked by default (and every listed folder's special use)."""
        with self.conn:
            self.conn.execute("UPDATE folders SET selected = 0 WHERE account = ?", [account])
            for name in names:
                state = self.folder(account, name)
                state = replace(state, selected=True, special_use=special_use.get(name, state.special_use))
                self.save_folder(state, commit=False)

    # -- messages --------------------------------------------------------

    def reset_folder(self, state: FolderState, uidvalidity: int) -> tuple[FolderState, int]:
        """UIDVALIDITY changed: forget the folder's rows (cached bodies stay, keyed by Message-ID)."""
        with self.conn:
            # Placeholders of server-filed sent mail (no UID) belong to no UIDVALIDITY: they stay.
            removed = self._delete_where(
                "account = ? AND folder = ? AND uid IS NOT NULL", [state.account, state.name]
            )
            state = replace(
                state, uidvalidity=uidvalidity, uidnext=None, highestmodseq=None, synced_uid=0,
                exists_count=None, complete=False, oldest_date="",
            )
            state = self.save_folder(state, commit=False)
        return state, removed

    def _delete_where(self, where: str, params: list) -> int:
        self.conn.execute(
            f"DELETE FROM message_addresses WHERE message_rowid IN (SELECT id FROM messages WHERE {where})", params
        )
        return self.conn.execute(f"DELETE FROM messages WHERE {where}", params).rowcount

    def store_headers(self, state: FolderState, headers: list[Header], *, own_addresses=(), advance_to: int | None = None) -> int:
        """Insert one chunk and (optionally) move `synced_uid` forward, in one transaction."""
        if not headers and advance_to is None:
            return 0
        own = {a.lower() for a in own_addresses}
        account, folder, uidvalidity = state.account, state.name, state.uidvalidity
        conn = self.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if headers:
                lo = min(h.uid for h in headers)
                hi = max(h.uid for h in headers)
                # Rows already there (a contact search got them first, or a retried chunk) are replaced.
                existing = conn.execute(
                    "SELECT count(*) FROM messages WHERE account = ? AND folder = ? AND uidvalidity = ? "
                    "AND uid BETWEEN ? AND ?", [account, folder, uidvalidity, lo, hi],
                ).fetchone()[0]
                if existing:
                    uids = [h.uid for h in headers]
                    for start in range(0, len(uids), 500):
                        part = uids[start : start + 500]
                        self._delete_where(
                            f"account = ? AND folder = ? AND uidvalidity = ? AND uid IN ({','.join('?' * len(part))})",
                            [account, folder, uidvalidity, *part],
                        )
                first_id = (conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]) + 1
                rows, addresses = _rows(headers, first_id, account, folder, uidvalidity, state.is_sent, own)
                conn.executemany(
                    "INSERT INTO messages (id, account, folder, uidvalidity, uid, message_id, gm_msgid, date, "
                    "sender, recipients, cc, bcc, subject, size, flags, has_attachments, in_reply_to, refs) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                addresses += _notes_to_self(headers, first_id, own)
                if not self.address_index_deferred:
                    # In address order, so the address index is walked once per chunk instead
                    # of jumping to a random page for every row.
                    addresses.sort(key=_ADDRESS_KEY)
                conn.executemany(
                    "INSERT INTO message_addresses (message_rowid, address, role) VALUES (?,?,?)", addresses
                )
            if advance_to is not None and advance_to > state.synced_uid:
                state.synced_uid = advance_to
                conn.execute("UPDATE folders SET synced_uid = ? WHERE id = ?", [advance_to, state.id])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return len(headers)

    # -- bulk loads ------------------------------------------------------

    def defer_address_index(self, coming: int) -> bool:
        """Drop the contact-matching index for a load of `coming` messages that is at
        least as big as the index already is; True when dropped.

        Kept up row by row, that index is a fifth of a first sync's writing time
        (its inserts land at random); built once at the end, a fraction of it.
        Until restore_address_index(), lookups by address still work, by scan.
        A loader that dies before restoring leaves it to the next Store() to build.
        """
        if coming < BULK_LOAD_MIN:
            return False
        present = self.conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        if coming < present:
            return False
        with self.conn:
            self.conn.execute(f"DROP INDEX IF EXISTS {ADDRESS_INDEX}")
        self.address_index_deferred = True  # rows then go in message order, the other index's
        return True

    def restore_address_index(self) -> None:
        if self.conn.in_transaction:
            self.conn.commit()
        with self.conn:
            self.conn.execute(DEFERRABLE_INDEXES[ADDRESS_INDEX])
        self.address_index_deferred = False

    def update_flags(self, state: FolderState, changes: list[tuple[int, str]]) -> int:
        if not changes:
            return 0
        with self.conn:
            cursor = self.conn.executemany(
                "UPDATE messages SET flags = ? WHERE account = ? AND folder = ? AND uidvalidity = ? "
                "AND uid = ? AND flags IS NOT ?",
                [(flags, state.account, state.name, state.uidvalidity, uid, flags) for uid, flags in changes],
            )
            return cursor.rowcount

    def expunge(self, state: FolderState, uids: list[int]) -> int:
        removed = 0
        with self.conn:
            for start in range(0, len(uids), 500):
                part = uids[start : start + 500]
                removed += self._delete_where(
                    f"account = ? AND folder = ? AND uidvalidity = ? AND uid IN ({','.join('?' * len(part))})",
                    [state.account, state.name, state.uidvalidity, *part],
                )
        return removed

    def local_uids(self, state: FolderState, upto: int | None = None) -> list[int]:
        sql = "SELECT uid FROM messages WHERE account = ? AND folder = ? AND uidvalidity = ?"
        params: list = [state.account, state.name, state.uidvalidity]
        if upto is not None:
            sql += " AND uid <= ?"
            params.append(upto)
        return [r[0] for r in self.conn.execute(sql + " ORDER BY uid", params)]

    def newest_uids(self, state: FolderState, limit: int) -> list[int]:
        """The folder's `limit` highest indexed UIDs, ascending."""
        rows = self.conn.execute(
            "SELECT uid FROM messages WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid IS NOT NULL "
            "ORDER BY uid DESC LIMIT ?", [state.account, state.name, state.uidvalidity, limit],
        ).fetchall()
        return [r[0] for r in reversed(rows)]

    def contact_uids(self, state: FolderState, addresses, upto: int | None = None) -> list[int]:
        """UIDs of the folder's indexed messages from, to or cc (bcc) any of `addresses`, ascending."""
        wanted = sorted({a.lower() for a in addresses if a})
        if not wanted:
            return []
        sql = (
            f"SELECT DISTINCT m.uid FROM message_addresses x JOIN messages m ON m.id = x.message_rowid "
            f"WHERE x.address IN ({','.join('?' * len(wanted))}) AND m.account = ? AND m.folder = ? "
            f"AND m.uidvalidity = ? AND m.uid IS NOT NULL"
        )
        params: list = [*wanted, state.account, state.name, state.uidvalidity]
        if upto is not None:
            sql += " AND m.uid <= ?"
            params.append(upto)
        return sorted(r[0] for r in self.conn.execute(sql, params))

    # -- placeholders of sent mail the provider files itself (sentcopy.py) ----

    def placeholders(self, account: str) -> list[dict]:
        """The account's rows without UID (found by a partial index: only placeholders are read)."""
        columns = ("id", "folder", "message_id", "date", "bcc")
        sql = (f"SELECT {', '.join(columns)} FROM messages INDEXED BY idx_messages_placeholders "
               "WHERE account = ? AND uid IS NULL ORDER BY id")
        return [dict(zip(columns, row)) for row in self.conn.execute(sql, [account])]

    def merge_placeholder(self, account: str, placeholder: dict) -> bool:
        """When the synced copy (same account and Message-ID, with a UID) is in the index, carry the
        placeholder's Bcc recipients over to it (a server copy may not keep them) and delete it."""
        if not placeholder["message_id"]:
            return False
        copies = self.conn.execute(
            "SELECT id, bcc FROM messages WHERE message_id = ? AND account = ? AND uid IS NOT NULL",
            [placeholder["message_id"], account],
        ).fetchall()
        if not copies:
            return False
        blind = json.loads(placeholder["bcc"] or "[]")
        blind_addresses = [r[0] for r in self.conn.execute(
            "SELECT address FROM message_addresses WHERE message_rowid = ? AND role = 'bcc'", [placeholder["id"]])]
        with self.conn:
            for rowid, bcc in copies:
                have = json.loads(bcc or "[]")
                known = {_address_of(item) for item in have}
                merged = have + [item for item in blind if _address_of(item) not in known]
                if merged != have:
                    self.conn.execute("UPDATE messages SET bcc = ? WHERE id = ?",
                                      [json.dumps(merged, ensure_ascii=False), rowid])
                present = {r[0] for r in self.conn.execute(
                    "SELECT address FROM message_addresses WHERE message_rowid = ? AND role = 'bcc'", [rowid])}
                self.conn.executemany(
                    "INSERT INTO message_addresses (message_rowid, address, role) VALUES (?, ?, 'bcc')",
                    [(rowid, address) for address in blind_addresses if address not in present],
                )
            self._delete_where("id = ?", [placeholder["id"]])
        return True

    def drop_rows(self, rowids: list[int]) -> int:
        with self.conn:
            return sum(self._delete_where("id = ?", [rowid]) for rowid in rowids)

    def count(self, account: str, folder: str | None = None) -> int:
        if folder is None:
            return self.conn.execute("SELECT count(*) FROM messages WHERE account = ?", [account]).fetchone()[0]
        return self.conn.execute(
            "SELECT count(*) FROM messages WHERE account = ? AND folder = ?", [account, folder]
        ).fetchone()[0]

    def mark_synced(self, account: str) -> None:
        with self.conn:
            self.conn.execute("UPDATE accounts SET last_synced_at = ? WHERE name = ?", [now_iso(), account])

