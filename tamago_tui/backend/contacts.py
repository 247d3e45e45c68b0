"""The contact book: contacts with any number of addresses, and fast filtering.

Addresses are stored lower-cased and compared case-insensitively; the display
form a person typed is kept in `label`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import parseaddr
from typing import Iterable

from .errors import NotFound, UsageError
from .models import Contact
from .store import Store, now_iso


def normalise_address(value: str) -> str:
    """`"Jane Doe" <Jane@Example.ORG>` -> `jane@example.org`."""
    _, addr = parseaddr(value)
    return (addr or value).strip().lower()


def _valid(address: str) -> bool:
    local, _, domain = address.partition("@")
    return bool(local) and "." in domain and " " not in address


# Combining marks of Latin, Greek and Cyrillic letters; a regex is twice as fast as
# testing unicodedata.combining() per character, which matters at 50,000 rows.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower case without accents, for matching what people type: "Zoë" -> "zoe"."""
    text = text.lower()
    if text.isascii():
        return text
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


def sender_prefill(value: str) -> tuple[str, str]:
    """(name, address) from a From header value, for "add sender as contact".

    Encoded words are decoded; the name falls back to the address's local part.
    """
    try:
        value = str(make_header(decode_header(value)))
    except Exception:  # a broken encoded word: use the header as it came
        pass
    name, address = parseaddr(value)
    address = address.strip()
    if not _valid(address.lower()):
        return name.strip(), ""
    return (" ".join(name.split()).strip("'\" ") or address.split("@")[0]), address


def is_valid_address(value: str) -> bool:
    """True when `value` (bare or `Name <addr>`) holds a plausible mail address."""
    return _valid(normalise_address(value))


def bare_address(label: str) -> str:
    """The address part of a stored label, in the case the person typed it."""
    _, addr = parseaddr(label)
    return (addr or label).strip()


# Separates addresses inside one SQL group_concat; no address or label contains it.
_SEP = "\x1f"


@dataclass(frozen=True)
class ContactRow:
    """One line of the contact list, with a folded (lower case, no accents) haystack for filtering."""

    id: int
    name: str
    organisation: str
    emails: str  # comma-separated, for display
    haystack: str


class ContactBook:
    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    # -- reading -------------------------------------------------------

    def get(self, contact_id: int) -> Contact:
        rows = list(self.db["contacts"].rows_where("id = ?", [contact_id]))
        if not rows:
            raise NotFound(f"No contact with id {contact_id}.")
        row = rows[0]
        return Contact(
            id=row["id"],
            name=row["name"] or "",
            organisation=row["organisation"] or "",
            notes=row["notes"] or "",
            emails=tuple(self.addresses(contact_id)),
        )

    def addresses(self, contact_id: int) -> list[str]:
        sql = "SELECT label, address FROM contact_addresses WHERE contact_id = ? ORDER BY id"
        return [label or address for label, address in self.db.execute(sql, [contact_id])]

    def find(self, query: str) -> Contact:
        """By id, exact address, or unique (case-insensitive) name."""
        query = query.strip()
        if query.isdigit():
            return self.get(int(query))
        if "@" in query:
            row = self.db.execute(
                "SELECT contact_id FROM contact_addresses WHERE address = ?", [normalise_address(query)]
            ).fetchone()
            if row:
                return self.get(row[0])
        rows = self.db.execute("SELECT id FROM contacts WHERE lower(name) = lower(?)", [query]).fetchall()
        if len(rows) == 1:
            return self.get(rows[0][0])
        if len(rows) > 1:
            raise UsageError(f"{len(rows)} contacts are named {query!r}; use the id or an address.")
        raise NotFound(f"No contact matches {query!r}. See `tamago contacts list`.")

    def rows(self) -> list[ContactRow]:
        """Every contact as a filterable row, sorted by name. One query, for any size."""
        sql = """
            SELECT c.id, c.name, c.organisation, group_concat(coalesce(a.label, a.address), ', ')
            FROM contacts c LEFT JOIN contact_addresses a ON a.contact_id = c.id
            GROUP BY c.id ORDER BY lower(c.name), c.id
        """
        result = []
        for cid, name, org, emails in self.db.execute(sql):
            name, org, emails = name or "", org or "", emails or ""
            result.append(ContactRow(cid, name, org, emails, fold(f"{name}\n{org}\n{emails}")))
        return result

    def all(self, ids: Iterable[int] | None = None) -> list[Contact]:
        """Every contact (or those in `ids`), sorted by name, in one query."""
        where, params = "", []
        if ids is not None:
            # json_each keeps this one query for any number of ids.
            where, params = "WHERE c.id IN (SELECT value FROM json_each(?))", [json.dumps(list(ids))]
        sql = f"""
            SELECT c.id, c.name, c.organisation, c.notes,
                   (SELECT group_concat(coalesce(a.label, a.address), ?)
                    FROM (SELECT label, address FROM contact_addresses
                          WHERE contact_id = c.id ORDER BY id) a)
            FROM contacts c {where} ORDER BY lower(c.name), c.id
        """
        return [
            Contact(id=cid, name=name or "", organisation=org or "", notes=notes or "",
                    emails=tuple(emails.split(_SEP)) if emails else ())
            for cid, name, org, notes, emails in self.db.execute(sql, [_SEP, *params])
        ]

    def count(self) -> int:
        return self.db["contacts"].count

    def owners_of(self, address: str) -> list[int]:
        sql = "SELECT contact_id FROM contact_addresses WHERE address = ? ORDER BY contact_id"
        return [r[0] for r in self.db.execute(sql, [normalise_address(address)])]

    def shared_with(self, addresses: Iterable[str], exclude_id: int | None = None) -> dict[str, list[tuple[int, str]]]:
        """For each of `addresses` that another contact also has: [(id, name), ...].

        The editor uses it to warn "shared with X" before or after saving.
        """
        result: dict[str, list[tuple[int, str]]] = {}
        sql = """
            SELECT c.id, c.name FROM contact_addresses a JOIN contacts c ON c.id = a.contact_id
            WHERE a.address = ? AND c.id IS NOT ? ORDER BY c.id
        """
        for raw in addresses:
            address = normalise_address(raw)
            if not address or address in result:
                continue
            others = [(cid, name or "") for cid, name in self.db.execute(sql, [address, exclude_id])]
            if others:
                result[address] = others
        return result

    def shared_addresses(self) -> list["SharedAddress"]:
        """Every address that two or more contacts share, for the UI and `contacts duplicates`."""
        sql = f"""
            SELECT a.address, group_concat(c.id || ? || coalesce(c.name, ''), ?)
            FROM contact_addresses a JOIN contacts c ON c.id = a.contact_id
            WHERE a.address IN (SELECT address FROM contact_addresses
                                GROUP BY address HAVING count(DISTINCT contact_id) > 1)
            GROUP BY a.address ORDER BY a.address
        """
        result = []
        for address, owners in self.db.execute(sql, [_SEP, "\x1e"]):
            pairs = sorted((int(i), n) for i, n in (o.split(_SEP, 1) for o in owners.split("\x1e")))
            result.append(SharedAddress(address, tuple(pairs)))
        return result

    # -- writing -------------------------------------------------------

    def add(self, name: str, emails: list[str] | tuple[str, ...] = (), organisation: str = "", notes: str = "") -> Contact:
        name = name.strip()
        if not name and not emails:
            raise UsageError("A contact needs a name or an email address.")
        with self.db.atomic():
            stamp = now_iso()
            contact_id = self.db["contacts"].insert(
                {"name": name or emails[0], "organisation": organisation, "notes": notes,
                 "created_at": stamp, "updated_at": stamp}
            ).last_pk
            self._set_addresses(contact_id, emails)
        return self.get(contact_id)

    def update(self, contact_id: int, *, name: str | None = None, emails=None, organisation=None, notes=None) -> Contact:
        self.get(contact_id)
        changes = {"updated_at": now_iso()}
        if name is not None:
            changes["name"] = name.strip()
        if organisation is not None:
            changes["organisation"] = organisation
        if notes is not None:
            changes["notes"] = notes
        with self.db.atomic():
            self.db["contacts"].update(contact_id, changes)
            if emails is not None:
                self.db.execute("DELETE FROM contact_addresses WHERE contact_id = ?", [contact_id])
                self._set_addresses(contact_id, emails)
        return self.get(contact_id)

    def merge(self, keep_id: int, other_id: int) -> Contact:
        """Fold `other_id` into `keep_id` and delete it. Nothing the other contact held is lost.

        Addresses move over (those the kept contact already has are dropped);
        notes are appended; the organisation fills an empty one, and a
        different organisation is kept in the notes. A kept name that is only
        an address gives way to the other contact's real name.
        """
        if keep_id == other_id:
            raise UsageError("A contact cannot be merged into itself.")
        keep, other = self.get(keep_id), self.get(other_id)
        changes: dict = {"updated_at": now_iso()}
        if (not keep.name or "@" in keep.name) and other.name and "@" not in other.name:
            changes["name"] = other.name
        notes = keep.notes
        if other.organisation and not keep.organisation:
            changes["organisation"] = other.organisation
        elif other.organisation and other.organisation.casefold() != keep.organisation.casefold():
            notes = _append_note(notes, f"Organisation: {other.organisation}")
        notes = _append_note(notes, other.notes)
        if notes != keep.notes:
            changes["notes"] = notes
        with self.db.atomic():
            self.db.execute(
                """UPDATE contact_addresses SET contact_id = ? WHERE contact_id = ? AND address NOT IN
                   (SELECT address FROM contact_addresses WHERE contact_id = ?)""",
                [keep_id, other_id, keep_id],
            )
            self.db.execute("DELETE FROM contact_addresses WHERE contact_id = ?", [other_id])
            self.db.execute("DELETE FROM contacts WHERE id = ?", [other_id])
            self.db["contacts"].update(keep_id, changes)
        return self.get(keep_id)

    def add_addresses(self, contact_id: int, emails: Iterable[str]) -> list[str]:
        """Add the addresses the contact does not have yet; returns those added."""
        have = {normalise_address(e) for e in self.addresses(contact_id)}
        new = [e for e in emails if normalise_address(e) and normalise_address(e) not in have]
        with self.db.atomic():
            added = self._set_addresses(contact_id, new)
        return added

    def delete(self, contact_id: int) -> None:
        self.get(contact_id)
        with self.db.atomic():
            self.db.execute("DELETE FROM contact_addresses WHERE contact_id = ?", [contact_id])
            self.db.execute("DELETE FROM contacts WHERE id = ?", [contact_id])

    def _set_addresses(self, contact_id: int, emails) -> list[str]:
        seen: set[str] = set()
        for raw in emails:
            address = normalise_address(raw)
            if not address:
                continue
            if not _valid(address):
                raise UsageError(f"{raw!r} is not an email address.")
            if address in seen:
                continue
            seen.add(address)
            label = raw.strip() if raw.strip().lower() != address else address
            self.db["contact_addresses"].insert({"contact_id": contact_id, "address": address, "label": label})
        return sorted(seen)


def _append_note(notes: str, extra: str) -> str:
    extra = extra.strip()
    if not extra or extra in notes:
        return notes
    return f"{notes.rstrip()}\n\n{extra}" if notes.strip() else extra


@dataclass(frozen=True)
class SharedAddress:
    """An address that several contacts have: `owners` is ((id, name), ...)."""

    address: str
    owners: tuple[tuple[int, str], ...]


def _words(query: str) -> tuple[str, ...]:
    # Longest first: the rarest word cuts the list down before the others are tried.
    return tuple(sorted(set(fold(query).split()), key=len, reverse=True))


def _narrow(rows: list[ContactRow], words: tuple[str, ...]) -> list[ContactRow]:
    for word in words:
        rows = [row for row in rows if word in row.haystack]
    return rows


def filter_rows(rows: list[ContactRow], query: str, limit: int | None = None) -> list[ContactRow]:
    """Rows whose name, organisation or addresses contain every word of `query`."""
    words = _words(query)
    result = _narrow(rows, words) if words else rows
    return result[:limit] if limit else result


class RowFilter:
    """Filter-as-you-type over a fixed list of rows, for the contact list.

    Typing usually narrows the previous query, so each keystroke filters the
    last result instead of every row; a few recent results are kept, so
    backspace is free. Any cached query whose words each sit inside a word of
    the new query matches a superset of it, which is what makes narrowing safe.
    """

    KEEP = 16

    def __init__(self, rows: list[ContactRow]):
        self.rows = rows
        self._recent: dict[tuple[str, ...], list[ContactRow]] = {}

    def __call__(self, query: str) -> list[ContactRow]:
        words = _words(query)
        if not words:
            return self.rows
        if words in self._recent:
            result = self._recent.pop(words)
        else:
            base = self.rows
            for old, old_rows in self._recent.items():
                if len(old_rows) < len(base) and all(any(o in w for w in words) for o in old):
                    base = old_rows
            result = _narrow(base, words)
        self._recent[words] = result
        if len(self._recent) > self.KEEP:
            del self._recent[next(iter(self._recent))]
        return result
