"""CSV import and export: Google Contacts, Outlook, and tamago's own plain format.

The dialect is read from the header row:

- `google`: both Google Contacts layouts. The current one has "First Name",
  "Middle Name", "Last Name", "Organization Name", "Labels" and
  "E-mail 1 - Label"/"E-mail 1 - Value"...; the older one has "Name",
  "Given Name", "Additional Name", "Family Name", "Group Membership",
  "Organization 1 - Name" and "E-mail 1 - Type"/"E-mail 1 - Value"... A cell
  can hold several values joined by " ::: " ("* myContacts ::: Friends").
- `outlook`: Outlook desktop ("Title","First Name",...,"E-mail Address",
  "E-mail Type","E-mail Display Name","E-mail 2 Address"...) and Outlook.com
  / Google's "Outlook CSV" (First Name,Middle Name,Last Name,...,E-mail
  Address,E-mail 2 Address,E-mail 3 Address,...,Company,...,Notes).
- `tamago`: name,emails,organisation,notes; addresses joined by "; ".
- `generic`: anything else with a recognisable name or e-mail column
  (Thunderbird's "Display Name","Primary Email","Secondary Email"...).

Files are UTF-8 with or without a byte-order mark, UTF-16 with one (Outlook's
"Unicode" export), or else Windows-1252, which is what older Outlook writes.
The delimiter is a comma, or a semicolon or tab when the header uses those
(Excel in many European locales).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from typing import Iterable

from .contacts import bare_address
from .errors import TamagoError
from .models import Contact

DIALECTS = ("tamago", "google", "outlook")
TAMAGO_HEADER = ["name", "emails", "organisation", "notes"]


class CsvFormatError(TamagoError):
    title = "Unrecognised CSV file"
    category = "unknown"  # a file problem, not a connection one: no troubleshooting guide applies


# -- reading ------------------------------------------------------------------


def decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _key(column: str) -> str:
    return " ".join(column.strip().lower().split())


def detect_dialect(header: Iterable[str]) -> str:
    columns = {_key(c) for c in header}
    if {"name", "emails"} <= columns:
        return "tamago"
    if any(re.fullmatch(r"e-mail \d+ - value", c) for c in columns):
        return "google"
    if "e-mail address" in columns or "e-mail 2 address" in columns:
        return "outlook"
    if _generic_columns(columns)[0] or _generic_columns(columns)[1]:
        return "generic"
    raise CsvFormatError(
        "The CSV header has no name or e-mail column tamago knows. Expected a Google "
        "Contacts export (\"E-mail 1 - Value\"), an Outlook export (\"E-mail Address\"), "
        "or the columns name,emails,organisation,notes."
    )


def split_multi(value: str) -> list[str]:
    """Google joins several values with " ::: "; people type ";" or ","."""
    return [v.strip() for v in re.split(r":::|;|,|\n", value or "") if v.strip()]


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def parse(data: bytes | str) -> tuple[str, list[Contact]]:
    """(dialect, contacts without ids). Rows with no name and no address are dropped.

    A file the csv module cannot read (a field over its size limit, a NUL byte...)
    is a `CsvFormatError` naming the line.
    """
    try:
        return _parse(data)
    except csv.Error as exc:
        raise CsvFormatError(f"The CSV file cannot be read: {exc}.") from exc


def _parse(data: bytes | str) -> tuple[str, list[Contact]]:
    text = decode(data) if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("The CSV file is empty.") from None
    dialect = detect_dialect(header)
    keys = [_key(c) for c in header]
    row_reader = {"tamago": _tamago, "google": _google, "outlook": _outlook, "generic": _generic}[dialect]
    contacts = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        row: dict[str, str] = {}
        for key, value in zip(keys, values):
            if value.strip() and key not in row:
                row[key] = value.strip()
        contact = row_reader(row, keys)
        if contact.name or contact.emails:
            contacts.append(contact)
    return dialect, contacts


def _finish(name: str, emails: list[str], org: str, notes: str) -> Contact:
    seen, unique = set(), []
    for e in emails:
        if e.lower() not in seen:
            seen.add(e.lower())
            unique.append(e)
    name = " ".join(name.split()) or org or (unique[0] if unique else "")
    return Contact(None, name, tuple(unique), org.strip(), notes.replace("\r\n", "\n").strip())


def _tamago(row: dict[str, str], keys: list[str]) -> Contact:
    return _finish(row.get("name", ""), split_multi(row.get("emails", "")),
                   row.get("organisation", ""), row.get("notes", ""))


def _numbered(keys: list[str], pattern: str) -> list[str]:
    """Columns like "e-mail 3 - value", in their number order."""
    found = [(int(m.group(1)), k) for k in keys if (m := re.fullmatch(pattern, k))]
    return [k for _, k in sorted(found)]


def _google(row: dict[str, str], keys: list[str]) -> Contact:
    name = row.get("name") or _join(
        row.get("first name") or row.get("given name", ""),
        row.get("middle name") or row.get("additional name", ""),
        row.get("last name") or row.get("family name", ""),
    ) or row.get("nickname", "") or row.get("file as", "")
    emails = []
    for key in _numbered(keys, r"e-mail (\d+) - value"):
        emails.extend(split_multi(row.get(key, "")))
    org = row.get("organization name") or row.get("organization 1 - name", "")
    return _finish(name, emails, org, row.get("notes", ""))


def _outlook(row: dict[str, str], keys: list[str]) -> Contact:
    name = _join(row.get("first name", ""), row.get("middle name", ""), row.get("last name", ""))
    if not name:
        # "Ada Lovelace (ada@example.org)" is how Outlook fills the display name.
        name = re.sub(r"\s*\([^)]*@[^)]*\)\s*$", "", row.get("e-mail display name", ""))
    emails = []
    for key in ["e-mail address"] + _numbered(keys, r"e-mail (\d+) address"):
        emails.extend(split_multi(row.get(key, "")))
    return _finish(name, emails, row.get("company", ""), row.get("notes", ""))


_GENERIC_NAME = ("display name", "full name", "name", "contact name")
_GENERIC_EMAIL = ("email", "e-mail", "email address", "primary email", "secondary email", "emails",
                  "email 2", "email 3", "work email", "home email", "other email")


def _generic_columns(columns: set[str] | list[str]) -> tuple[list[str], list[str]]:
    names = [c for c in _GENERIC_NAME if c in columns]
    emails = [c for c in _GENERIC_EMAIL if c in columns]
    return names, emails


def _generic(row: dict[str, str], keys: list[str]) -> Contact:
    names, email_keys = _generic_columns(keys)
    name = next((row[k] for k in names if row.get(k)), "") or _join(
        row.get("first name", ""), row.get("middle name", ""), row.get("last name", "")
    )
    emails = [e for k in email_keys for e in split_multi(row.get(k, ""))]
    org = row.get("organization") or row.get("organisation") or row.get("company", "")
    return _finish(name, emails, org, row.get("notes", ""))


# -- writing ------------------------------------------------------------------


GOOGLE_HEADER = ["First Name", "Middle Name", "Last Name", "Organization Name", "Notes", "Labels"]
OUTLOOK_HEADER = ["First Name", "Middle Name", "Last Name", "Company",
                  "E-mail Address", "E-mail 2 Address", "E-mail 3 Address", "Notes"]


def dumps(contacts: Iterable[Contact], dialect: str = "tamago") -> str:
    """CSV text with CRLF row ends, as spreadsheets and the big address books expect."""
    from .vcard import split_name

    contacts = list(contacts)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    if dialect == "tamago":
        writer.writerow(TAMAGO_HEADER)
        for c in contacts:
            writer.writerow([c.name, "; ".join(bare_address(e) for e in c.emails), c.organisation, c.notes])
    elif dialect == "google":
        most = max((len(c.emails) for c in contacts), default=0) or 1
        header = GOOGLE_HEADER + [f"E-mail {i} - {part}" for i in range(1, most + 1) for part in ("Label", "Value")]
        writer.writerow(header)
        for c in contacts:
            family, given = split_name(c.name)
            emails = [bare_address(e) for e in c.emails]
            cells = [given, "", family, c.organisation, c.notes, "* myContacts"]
            for i in range(most):
                cells += (["* Other" if i == 0 else "Other", emails[i]] if i < len(emails) else ["", ""])
            writer.writerow(cells)
    elif dialect == "outlook":
        writer.writerow(OUTLOOK_HEADER)
        for c in contacts:
            family, given = split_name(c.name)
            emails = [bare_address(e) for e in c.emails]
            notes = c.notes
            if len(emails) > 3:  # Outlook has three address columns; keep the rest readable
                extra = "More e-mail addresses: " + ", ".join(emails[3:])
                notes = f"{notes}\n\n{extra}" if notes else extra
            writer.writerow([given, "", family, c.organisation, *(emails + ["", "", ""])[:3], notes])
    else:
        raise ValueError(f"CSV dialect {dialect!r}; expected one of {DIALECTS}")
    return out.getvalue()
