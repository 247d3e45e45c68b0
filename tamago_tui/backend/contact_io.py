"""Importing and exporting the contact book, without ever creating a duplicate silently.

An imported contact that has an address the book already knows is merged into
that contact: new addresses are added, an empty organisation is filled and
new notes are appended. One with no address merges into the contact with the
same (normalised) name. Everything else is created; a new contact whose name
matches an existing one is counted, so the caller can point at
`tamago contacts duplicates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from . import csvio, vcard
from .contacts import ContactBook, _append_note, is_valid_address, normalise_address
from .dedupe import name_key
from .errors import NotFound, TamagoError, UsageError
from .fsutil import atomic_write
from .models import Contact
from .store import now_iso

IMPORT_FORMATS = ("vcard", "csv")
EXPORT_FORMATS = ("vcard", "vcard3", "csv")


class ImportError_(TamagoError):
    title = "Import failed"
    category = "unknown"  # a file problem, not a connection one: no troubleshooting guide applies


@dataclass
class ImportReport:
    format: str = ""
    created: int = 0
    updated: int = 0
    skipped: int = 0
    same_name: int = 0  # created, though a contact with the same name exists
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "format": self.format,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "same_name": self.same_name,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.skipped} skipped"
        if self.same_name:
            text += f"; {self.same_name} share a name with another contact (see duplicates)"
        return text


def format_for(path: str | Path, explicit: str | None = None, data: bytes | None = None) -> str:
    """vcard or csv: `explicit`, else the file name, else (for an import) the content."""
    if explicit:
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix in (".vcf", ".vcard", ".vcs"):
        return "vcard"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if data is not None:
        return "vcard" if b"BEGIN:VCARD" in data[:4096].upper() else "csv"
    raise UsageError(f"Cannot tell the format of {path}; name it .vcf or .csv, or pass --format.")


def read_file(path: str | Path, fmt: str | None = None) -> tuple[str, list[Contact]]:
    """(format name, contacts) from a vCard or CSV file."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"No file at {path}.") from None
    except OSError as exc:
        raise ImportError_(f"Cannot read {path}: {exc.strerror or exc}") from exc
    fmt = format_for(path, fmt, data)
    if fmt == "vcard":
        cards = vcard.parse(data)
        if not cards and b"BEGIN:VCARD" not in data.upper():
            raise ImportError_(f"{path} has no BEGIN:VCARD; is it really a vCard file?")
        return "vcard", cards
    dialect, contacts = csvio.parse(data)
    return f"csv/{dialect}", contacts


def import_file(book: ContactBook, path: str | Path, fmt: str | None = None) -> ImportReport:
    name, contacts = read_file(path, fmt)
    report = import_contacts(book, contacts)
    report.format = name
    return report


def import_contacts(book: ContactBook, contacts: Iterable[Contact]) -> ImportReport:
    report = ImportReport()
    db = book.db
    by_name: dict[str, list[int]] = {}
    for cid, existing in db.execute("SELECT id, coalesce(name, '') FROM contacts"):
        by_name.setdefault(name_key(existing), []).append(cid)
    with db.atomic():  # one transaction: an import lands whole or not at all
        for position, record in enumerate(contacts, 1):
            emails = []
            for raw in record.emails:
                if is_valid_address(raw):
                    emails.append(raw)
                else:
                    report.warnings.append(f"{record.name or 'entry ' + str(position)}: ignored {raw!r}, not an address")
            key = name_key(record.name)
            target = _existing_for(book, emails, by_name.get(key, []))
            if target is None and not emails and not record.name:
                report.skipped += 1
                continue
            if target is None:
                if by_name.get(key):
                    report.same_name += 1
                contact_id = _insert(book, record, emails)
                by_name.setdefault(key, []).append(contact_id)
                report.created += 1
            elif _absorb(book, target, record, emails):
                report.updated += 1
            else:
                report.skipped += 1
    return report


def _existing_for(book: ContactBook, emails: list[str], same_name: list[int]) -> int | None:
    for email in emails:
        owners = book.owners_of(email)
        if owners:
            return owners[0]
    if not emails and len(same_name) >= 1:
        return same_name[0]
    return None


def _insert(book: ContactBook, record: Contact, emails: list[str]) -> int:
    stamp = now_iso()
    contact_id = book.db["contacts"].insert(
        {"name": record.name or normalise_address(emails[0]), "organisation": record.organisation,
         "notes": record.notes, "created_at": stamp, "updated_at": stamp}
    ).last_pk
    book._set_addresses(contact_id, emails)
    return contact_id


def _absorb(book: ContactBook, contact_id: int, record: Contact, emails: list[str]) -> bool:
    """Fold an imported record into an existing contact; True when something changed."""
    current = book.get(contact_id)
    have = {normalise_address(e) for e in current.emails}
    added = book._set_addresses(contact_id, [e for e in emails if normalise_address(e) not in have])
    changes: dict = {}
    if record.name and (not current.name or "@" in current.name) and "@" not in record.name:
        changes["name"] = record.name
    notes = current.notes
    if record.organisation and not current.organisation:
        changes["organisation"] = record.organisation
    elif record.organisation and record.organisation.casefold() != current.organisation.casefold():
        notes = _append_note(notes, f"Organisation: {record.organisation}")
    notes = _append_note(notes, record.notes)
    if notes != current.notes:
        changes["notes"] = notes
    if changes:
        changes["updated_at"] = now_iso()
        book.db["contacts"].update(contact_id, changes)
    return bool(added or changes)


def export_file(book: ContactBook, path: str | Path, fmt: str | None = None) -> int:
    """Write every contact to `path`; returns how many. `fmt`: vcard (4.0), vcard3 or csv."""
    if fmt is None:
        fmt = format_for(path)
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"Unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    contacts = book.all()
    if fmt == "csv":
        text = csvio.dumps(contacts, "tamago")
    else:
        text = vcard.dumps(contacts, "3.0" if fmt == "vcard3" else "4.0")
    # All at once (temporary file, then rename): a full disk never leaves half an export
    # in place of a previous one. The text keeps the CRLF both formats are written with.
    atomic_write(Path(path), text, mode=0o600, what=str(path), error_class=_ExportError)
    return len(contacts)


class _ExportError(TamagoError):
    title = "Export failed"
