"""vCard import and export: 3.0 (RFC 2426) and 4.0 (RFC 6350), and old 2.1 files.

Reading is lenient, because real files come from a decade of phones and mail
programs: a byte-order mark, CRLF or LF or CR line ends, folded lines,
quoted-printable values with soft line breaks and a CHARSET parameter (2.1),
bare parameters (`EMAIL;INTERNET;PREF:`), property groups (`item1.EMAIL`),
quoted parameter values, several cards per file and a missing final END.

Only what a contact holds is read: FN, N, EMAIL, ORG and NOTE. Email TYPE
parameters decide the order (a preferred address comes first) and are not
kept otherwise. Writing produces one version, with CRLF line ends and lines
folded at 75 octets, never inside a UTF-8 sequence.
"""

from __future__ import annotations

import codecs
import quopri
import re
from dataclasses import dataclass, field
from typing import Iterable

from tamago_tui import __version__

from .contacts import bare_address
from .models import Contact

VERSIONS = ("3.0", "4.0")
FOLD_OCTETS = 75


# -- reading ------------------------------------------------------------------


@dataclass
class Property:
    name: str  # upper case, group removed
    params: dict[str, list[str]] = field(default_factory=dict)  # upper-case keys
    raw: bytes = b""  # the value, still encoded

    def param(self, key: str) -> list[str]:
        return self.params.get(key, [])

    @property
    def types(self) -> set[str]:
        return {t.lower() for t in self.param("TYPE")}

    def text(self) -> str:
        """The value decoded (quoted-printable, charset), not yet unescaped."""
        data = self.raw
        encoding = {e.upper() for e in self.param("ENCODING")}
        if "QUOTED-PRINTABLE" in encoding:
            data = quopri.decodestring(data)
        elif encoding & {"B", "BASE64"}:
            return ""  # binary (a PHOTO, a KEY): nothing a contact keeps
        charsets = self.param("CHARSET")
        return decode_bytes(data, charsets[0] if charsets else "utf-8")


def decode_bytes(data: bytes, charset: str = "utf-8") -> str:
    """Decode with the declared charset, falling back to cp1252, never failing."""
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            codecs.lookup(candidate)
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}


def _split_unquoted(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes."""
    parts, buf, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def parse_line(line: bytes) -> Property | None:
    """`group.NAME;param=a,b;BARE:value` -> Property; None for a line with no colon."""
    # Names and parameters are ASCII; find the first colon outside quotes.
    quoted = False
    colon = -1
    for i, byte in enumerate(line):
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x3A and not quoted:
            colon = i
            break
    if colon < 0:
        return None
    head = line[:colon].decode("ascii", errors="replace")
    parts = _split_unquoted(head, ";")
    name = parts[0].strip().rsplit(".", 1)[-1].upper()
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            key, _, value = part.partition("=")
            key = key.strip().upper()
        else:
            # vCard 2.1 allows the value alone: `EMAIL;INTERNET;PREF`, `;QUOTED-PRINTABLE`.
            value = part
            key = "ENCODING" if part.upper() in _ENCODINGS else "TYPE"
        values = [v.strip().strip('"') for v in _split_unquoted(value, ",")]
        params.setdefault(key, []).extend(v for v in values if v)
    return Property(name, params, line[colon + 1 :])


def _is_qp(head: bytes) -> bool:
    return b"QUOTED-PRINTABLE" in head.upper()


def logical_lines(data: bytes) -> list[bytes]:
    """Physical lines joined back: RFC folding, and quoted-printable soft breaks."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data = data.decode("utf-16").encode("utf-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    result: list[bytes] = []
    qp_open = False  # the previous line was quoted-printable and ended in "="
    for physical in re.split(rb"\r\n|\r|\n", data):
        if qp_open and result:
            result[-1] = result[-1][:-1] + physical
        elif physical[:1] in (b" ", b"\t") and result:
            result[-1] += physical[1:]
        elif physical.strip():
            result.append(physical)
        else:
            continue
        last = result[-1]
        qp_open = last.endswith(b"=") and _is_qp(last.split(b":", 1)[0])
    return result


_ESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ",": ",", ";": ";", ":": ":"}


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def split_components(text: str) -> list[str]:
    """Split a structured value (N, ORG) on unescaped semicolons, then unescape."""
    parts = re.split(r"(?<!\\);", text.replace("\\\\", "\x00"))
    return [unescape(p.replace("\x00", "\\\\")).strip() for p in parts]


def _card(props: list[Property]) -> Contact | None:
    fn = name_parts = org = ""
    notes: list[str] = []
    emails: list[tuple[int, int, str]] = []  # (preference rank, position, address)
    for prop in props:
        if prop.name == "FN" and not fn:
            fn = unescape(prop.text()).strip()
        elif prop.name == "N" and not name_parts:
            family, given, extra, prefix, suffix = (split_components(prop.text()) + [""] * 5)[:5]
            # Components may be comma lists ("Jean,Paul"); a name reads with spaces.
            words = [prefix, given, extra, family, suffix]
            name_parts = " ".join(w.replace(",", " ").strip() for w in words if w.strip())
        elif prop.name == "EMAIL":
            address = unescape(prop.text()).strip()
            if address.lower().startswith("mailto:"):
                address = address[7:]
            if address:
                emails.append((_email_rank(prop), len(emails), address))
        elif prop.name == "ORG" and not org:
            org = ", ".join(p for p in split_components(prop.text()) if p)
        elif prop.name == "NOTE":
            note = unescape(prop.text()).replace("\r\n", "\n").replace("\r", "\n").strip()
            if note:
                notes.append(note)
    ordered = tuple(address for _, _, address in sorted(emails))
    name = fn or name_parts or org or (ordered[0] if ordered else "")
    if not name:
        return None
    return Contact(None, " ".join(name.split()), ordered, org, "\n\n".join(notes))


def _email_rank(prop: Property) -> int:
    """Lower sorts first: PREF=1 (4.0), TYPE=pref (3.0, 2.1), then file order."""
    pref = prop.param("PREF")
    if pref and pref[0].isdigit():
        return int(pref[0])
    return 0 if "pref" in prop.types else 101


def parse(data: bytes | str) -> list[Contact]:
    """Every card in a file, as contacts without ids. Cards with nothing usable are dropped."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    cards: list[Contact] = []
    props: list[Property] | None = None
    depth = 0
    for line in logical_lines(data):
        prop = parse_line(line)
        if prop is None:
            continue
        value = prop.raw.strip().upper()
        if prop.name == "BEGIN" and value == b"VCARD":
            depth += 1
            if depth == 1:
                props = []
            continue
        if prop.name == "END" and value == b"VCARD":
            depth -= 1
            if depth == 0 and props is not None:
                card = _card(props)
                if card:
                    cards.append(card)
                props = None
            depth = max(depth, 0)
            continue
        if props is not None and depth == 1:  # properties of a nested 2.1 AGENT card are not ours
            props.append(prop)
    if props:  # a file cut short before its last END:VCARD
        card = _card(props)
        if card:
            cards.append(card)
    return cards


# -- writing ------------------------------------------------------------------


def escape(text: str) -> str:
    text = text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold at 75 octets (RFC 6350 3.2), never splitting a UTF-8 sequence."""
    out: list[str] = []
    current, size, limit = [], 0, FOLD_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size, limit = [" "], 1, FOLD_OCTETS
        current.append(ch)
        size += width
    out.append("".join(current))
    return "\r\n".join(out)


def split_name(name: str) -> tuple[str, str]:
    """(family, given) for the N property, from a display name."""
    name = " ".join(name.split())
    if "@" in name:
        return "", ""
    if "," in name:
        family, _, given = name.partition(",")
        return family.strip(), given.strip()
    words = name.split(" ")
    if len(words) == 1:
        return "", words[0]
    return words[-1], " ".join(words[:-1])


def dump_card(contact: Contact, version: str = "4.0") -> str:
    if version not in VERSIONS:
        raise ValueError(f"vCard version {version!r}; expected one of {VERSIONS}")
    family, given = split_name(contact.name)
    lines = [
        "BEGIN:VCARD",
        f"VERSION:{version}",
        f"PRODID:-//tamago//tamago {__version__}//EN",
        f"FN:{escape(contact.name)}",
        f"N:{escape(family)};{escape(given)};;;",
    ]
    for position, label in enumerate(contact.emails):
        address = bare_address(label)
        if version == "4.0":
            lines.append(f"EMAIL;PREF=1:{address}" if position == 0 else f"EMAIL:{address}")
        else:
            kind = "INTERNET,PREF" if position == 0 else "INTERNET"
            lines.append(f"EMAIL;TYPE={kind}:{address}")
    if contact.organisation:
        lines.append(f"ORG:{escape(contact.organisation)}")
    if contact.notes:
        lines.append(f"NOTE:{escape(contact.notes)}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def dumps(contacts: Iterable[Contact], version: str = "4.0") -> str:
    return "".join(dump_card(c, version) for c in contacts)
