"""The contact book: contacts with any number of addresses, and fast filtering.

Addresses are stored lower-cased and compared case-insensitively; the display
form a person typed is kept in `label`.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

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


@dataclass(frozen=True)
class ContactRow:
    """One line of the contact list, with a lower-cased haystack for filtering."""

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
            result.append(ContactRow(cid, name, org, emails, f"{name}\n{org}\n{emails}".lower()))
        return result

    def count(self) -> int:
        return self.db["contacts"].count

    def owners_of(self, address: str) -> list[int]:
        sql = "SELECT contact_id FROM contact_addresses WHERE address = ? ORDER BY contact_id"
        return [r[0] for r in self.db.execute(sql, [normalise_address(address)])]

    # -- writing -------------------------------------------------------

    def add(self, name: str, emails: list[str] | tuple[str, ...] = (), organisation: str = "", notes: str = "") -> Contact:
        name = name.strip()
        if not name and not emails:
            raise UsageError("A contact needs a name or an email address.")
        with self.db.conn:
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
        with self.db.conn:
            self.db["contacts"].update(contact_id, changes)
            if emails is not None:
                self.db.execute("DELETE FROM contact_addresses WHERE contact_id = ?", [contact_id])
                self._set_addresses(contact_id, emails)
        return self.get(contact_id)

    def delete(self, contact_id: int) -> None:
        self.get(contact_id)
        with self.db.conn:
            self.db.execute("DELETE FROM contact_addresses WHERE contact_id = ?", [contact_id])
            self.db.execute("DELETE FROM contacts WHERE id = ?", [contact_id])

    def _set_addresses(self, contact_id: int, emails) -> None:
        seen = set()
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


def filter_rows(rows: list[ContactRow], query: str, limit: int | None = None) -> list[ContactRow]:
    """Rows whose name, organisation or addresses contain every word of `query`."""
    words = query.lower().split()
    if not words:
        return rows[:limit] if limit else rows
    result = []
    for row in rows:
        hay = row.haystack
        if all(word in hay for word in words):
            result.append(row)
            if limit and len(result) >= limit:
                break
    return result
