"""Header fields: splitting a header block, RFC 2047 words, parameters, dates.

Everything here takes what mail really contains (8-bit bytes, broken encoded
words, unquoted parameters, garbage lines) and returns text; nothing raises on
bad input.
"""

from __future__ import annotations

import binascii
import re
from datetime import datetime, timedelta, timezone
from email._parseaddr import _parsedate_tz  # the lenient date tokenizer behind email.utils

from . import charsets

# A header line: a field name (printable ASCII except ':'), optional blanks, then ':'.
_FIELD_RE = re.compile(rb"([!-9;-~]+)[ \t]*:")


def find_line_end(buf, pos: int, end: int) -> tuple[int, int]:
    """(end of the line's content, start of the next line) for the line at `pos`."""
    nl = buf.find(b"\n", pos, end)
    if nl < 0:
        cr = buf.find(b"\r", pos, end)
        if cr >= 0:  # old Mac line ends
            return cr, cr + 1
        return end, end
    content_end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
    return content_end, nl + 1


class HeaderBlock:
    """The fields of one header block, in order, as (name, raw value bytes) pairs."""

    __slots__ = ("fields", "problems", "_index")

    def __init__(self, fields: list[tuple[str, bytes]], problems: list[str]):
        self.fields = fields
        self.problems = problems
        self._index: dict[str, list[bytes]] | None = None

    def _idx(self) -> dict[str, list[bytes]]:
        if self._index is None:
            index: dict[str, list[bytes]] = {}
            for name, value in self.fields:
                index.setdefault(name.lower(), []).append(value)
            self._index = index
        return self._index

    def raw(self, name: str) -> bytes | None:
        """The first field called `name` (case-insensitive), unfolded, or None."""
        values = self._idx().get(name.lower())
        return unfold(values[0]) if values else None

    def raw_all(self, name: str) -> list[bytes]:
        return [unfold(v) for v in self._idx().get(name.lower(), [])]

    def text(self, name: str, default: str = "", charset_hint: str | None = None) -> str:
        value = self.raw(name)
        return default if value is None else decode_header_value(value, charset_hint)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._idx()


_FOLD_RE = re.compile(rb"\r?\n(?=[ \t])|\r(?=[ \t])")
_STRAY_EOL_RE = re.compile(rb"[\r\n]+")


def unfold(value: bytes) -> bytes:
    if b"\n" in value or b"\r" in value:
        value = _FOLD_RE.sub(b"", value)
        value = _STRAY_EOL_RE.sub(b" ", value)
    return value.strip()


_WELL_FORMED_FIELD_RE = re.compile(rb"([!-9;-~]+)[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)(?:\r?\n|\Z)")


def _split_well_formed(buf, start: int, end: int) -> tuple[HeaderBlock, int] | None:
    """The common case in one regex per field; None at the first thing that needs care."""
    fields: list[tuple[str, bytes]] = []
    match = _WELL_FORMED_FIELD_RE.match
    pos = start
    while pos < end:
        c = buf[pos]
        if c == 10:
            return HeaderBlock(fields, []), pos + 1
        if c == 13 and buf[pos + 1 : pos + 2] == b"\n":
            return HeaderBlock(fields, []), pos + 2
        m = match(buf, pos, end)
        if m is None:
            return None
        fields.append((m.group(1).decode("ascii"), m.group(2)))
        pos = m.end()
    return HeaderBlock(fields, []), end


def split_header_block(buf, start: int, end: int) -> tuple[HeaderBlock, int]:
    """Parse the header block at buf[start:end]; return it and where the body starts.

    Tolerates: an mbox "From " line, leading blank or continuation lines, lines
    that are not fields between fields (skipped), whitespace-only lines inside
    the block, and a missing blank line before the body.
    """
    if start < end and buf[start] not in (32, 9, 10, 13):
        fast = _split_well_formed(buf, start, end)
        if fast is not None and (fast[0].fields or fast[1] >= end):
            return fast
    fields: list[tuple[str, bytes]] = []
    problems: list[str] = []
    pos = start
    if buf[start : start + 3] == b"\xef\xbb\xbf":
        pos += 3  # a UTF-8 byte order mark saved by an editor
    name: str | None = None
    value_start = value_end = 0
    first = True
    field_at = _FIELD_RE.match  # works on bytes and on mmap alike

    def flush():
        if name is not None:
            fields.append((name, bytes(buf[value_start:value_end])))

    while pos < end:
        line_end, next_pos = find_line_end(buf, pos, end)
        first_byte = buf[pos] if line_end > pos else None
        if line_end == pos:  # blank line: the end of the header block
            flush()
            return HeaderBlock(fields, problems), next_pos
        if first_byte in (32, 9):
            if buf[pos:line_end].strip() == b"":
                # A whitespace-only line ends the block unless more header lines follow it.
                if first or _header_follows(buf, next_pos, end, field_at):
                    pos = next_pos
                    continue
                flush()
                problems.append("the blank line after the headers contained spaces")
                return HeaderBlock(fields, problems), next_pos
            if name is None:
                if first:
                    # The first line is indented: read it as a field anyway.
                    m = field_at(buf, _skip_ws(buf, pos, line_end), line_end)
                    if m:
                        problems.append("the first header line was indented")
                        name = m.group(1).decode("ascii")
                        value_start = m.end()
                        value_end = line_end
                        first = False
                        pos = next_pos
                        continue
                problems.append("a header continuation line had no field to continue")
            else:
                value_end = line_end
            pos = next_pos
            first = False
            continue
        m = field_at(buf, pos, line_end)
        if m:
            flush()
            name = m.group(1).decode("ascii")
            value_start = m.end()
            value_end = line_end
            first = False
            pos = next_pos
            continue
        if first and buf[pos : pos + 5] == b"From ":
            pos = next_pos  # an mbox separator line
            first = False
            continue
        if buf[pos : pos + 6] == b">From ":
            pos = next_pos
            continue
        # Not a field. Garbage between fields, or the body starting without a blank line?
        if fields or name is not None:
            if _header_follows(buf, next_pos, end, field_at) and buf[pos : pos + 2] != b"--":
                problems.append(f"skipped a garbage header line: {charsets.decode_loose(bytes(buf[pos:line_end]))[:60]!r}")
                pos = next_pos
                continue
            problems.append("no blank line between the headers and the body")
        elif not first or pos != start:
            problems.append("no blank line between the headers and the body")
        flush()
        if not fields:
            problems = [p for p in problems if "blank line" not in p] + ["the message has no header fields"]
        return HeaderBlock(fields, problems), pos
    flush()
    return HeaderBlock(fields, problems), end


def _skip_ws(buf, pos: int, end: int) -> int:
    while pos < end and buf[pos] in (32, 9):
        pos += 1
    return pos


def _header_follows(buf, pos: int, end: int, field_at) -> bool:
    if pos >= end:
        return False
    line_end, _ = find_line_end(buf, pos, end)
    if line_end == pos:
        return False
    if buf[pos] in (32, 9):
        return buf[pos:line_end].strip() != b""
    return field_at(buf, pos, line_end) is not None


def decode_8bit(raw: bytes, charset_hint: str | None = None) -> str:
    """Header bytes to text: ASCII, UTF-8, the hinted charset, then Windows-1252."""
    if raw.isascii():
        return raw.decode("ascii")
    if charset_hint and charsets.lookup(charset_hint) not in (None, "utf-8", "cp1252"):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return charsets.decode(raw, charset_hint)[0]
    return charsets.decode_loose(raw)


# --- RFC 2047 encoded words -------------------------------------------------------------

# Lenient on purpose: charset may carry "*lang", the text may contain spaces (broken
# encoders) and the word may sit inside a quoted string or touch other text.
_EW_RE = re.compile(r"=\?([^?\s\"]{1,75})\?([bBqQ])\?([^?]*?)\?=")
_QP_HEX_RE = re.compile(rb"=([0-9A-Fa-f]{2})")
_B64_JUNK_RE = re.compile(rb"[^A-Za-z0-9+/]")


def _b_decode(text: str) -> bytes:
    data = _B64_JUNK_RE.sub(b"", text.encode("ascii", "ignore"))
    if len(data) % 4 == 1:
        data = data[:-1]
    data += b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


def _q_decode(text: str) -> bytes:
    data = text.replace("_", " ").encode("utf-8")
    return _QP_HEX_RE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def decode_header_value(raw: bytes | str | None, charset_hint: str | None = None) -> str:
    """Decode one header value to text: unfold, 8-bit bytes, RFC 2047 words.

    Handles malformed words too: inside quoted strings, touching each other or
    plain text, split in the middle of a multibyte character, labelled with the
    wrong or an unknown charset, or with bad base64 padding. Raw 8-bit bytes are
    read as UTF-8, else in `charset_hint` (the message's body charset, which is
    what such senders use), else as Windows-1252.
    """
    if raw is None:
        return ""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw)
        if b"\n" in raw or b"\r" in raw:
            raw = unfold(raw)
        text = decode_8bit(raw, charset_hint)
    else:
        text = raw
        if "\n" in text or "\r" in text:
            text = re.sub(r"\r?\n(?=[ \t])", "", text).replace("\r", " ").replace("\n", " ")
    if "=?" not in text:
        return text.strip() if text[:1].isspace() or text[-1:].isspace() else text
    return _decode_words(text).strip()


def _decode_words(text: str) -> str:
    out: list[str] = []
    pending: list[bytes] = []  # decoded bytes of adjacent words in one charset
    pending_charset: str | None = None
    pos = 0

    def flush_pending():
        nonlocal pending, pending_charset
        if pending:
            decoded, _ = charsets.decode(b"".join(pending), pending_charset)
            out.append(decoded)
        pending = []
        pending_charset = None

    for m in _EW_RE.finditer(text):
        between = text[pos : m.start()]
        if between and (not pending or between.strip(" \t") != ""):
            flush_pending()
            out.append(between)
        charset = m.group(1).split("*", 1)[0]
        data = _b_decode(m.group(3)) if m.group(2) in "bB" else _q_decode(m.group(3))
        if pending and charset.lower() != (pending_charset or "").lower():
            flush_pending()
        pending.append(data)
        pending_charset = charset
        pos = m.end()
    flush_pending()
    out.append(text[pos:])
    return "".join(out)


# --- parameters (Content-Type, Content-Disposition) ------------------------------------

_RFC2231_RE = re.compile(r"^([^*]+)\*(?:(\d+)\*?|\*?)$")


def parse_params(raw: bytes | str | None, charset_hint: str | None = None) -> tuple[str, dict[str, str]]:
    """Split `value; a=1; b="2"` into ("value", {"a": "1", "b": "2"}).

    Parameter names are lower-cased. Values are decoded: RFC 2231 (charset'lang'
    and continuations), RFC 2047 words even where they are not allowed (quoted or
    unquoted), 8-bit bytes (as UTF-8, else `charset_hint`, else Windows-1252).
    Unquoted values with spaces or tspecials are read up to the next ';'. The
    first of duplicate parameters wins.
    """
    if raw is None:
        return "", {}
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw)
        raw = unfold(raw) if (b"\n" in raw or b"\r" in raw) else raw
        if raw.isascii():
            text = raw.decode("ascii")
        else:
            text = decode_8bit(raw, charset_hint)
    else:
        text = raw
    semi = text.find(";")
    main = (text if semi < 0 else text[:semi]).strip()
    rest = "" if semi < 0 else text[semi + 1 :]
    # "text/plain charset=utf-8": a missing ';'.
    m = re.match(r"^(\S+)\s+([A-Za-z][\w*-]*\s*=.*)$", main)
    if m:
        main, rest = m.group(1), m.group(2) + (";" + rest if rest else "")
    params: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for name, value, quoted in _iter_params(rest):
        m2 = _RFC2231_RE.match(name)
        if m2 and "*" in name:
            base = m2.group(1)
            index = int(m2.group(2)) if m2.group(2) is not None else 0
            encoded = name.endswith("*")
            sections = extended.setdefault(base, {})
            sections.setdefault(index, (value, encoded))
            continue
        if name not in params:
            params[name] = value
    for base, sections in extended.items():
        decoded = _join_rfc2231(sections, charset_hint)
        if decoded:
            params[base] = decoded
        elif base not in params:
            params[base] = ""
    for key, value in params.items():
        if "=?" in value:
            params[key] = _decode_words(value).strip()
    return main, params


def _iter_params(text: str):
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t;":
            pos += 1
        if pos >= n:
            break
        eq = text.find("=", pos)
        semi = text.find(";", pos)
        if eq < 0 or (0 <= semi < eq):
            pos = n if semi < 0 else semi + 1  # a bare word without '=': skip it
            continue
        name = text[pos:eq].strip().lower()
        pos = eq + 1
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos < n and text[pos] == '"':
            pos += 1
            chars: list[str] = []
            while pos < n:
                c = text[pos]
                if c == "\\" and pos + 1 < n:
                    chars.append(text[pos + 1])
                    pos += 2
                    continue
                if c == '"':
                    pos += 1
                    break
                chars.append(c)
                pos += 1
            value, quoted = "".join(chars), True
            # Junk after the closing quote belongs to nothing; skip to the next ';'.
            semi = text.find(";", pos)
            tail = text[pos:] if semi < 0 else text[pos:semi]
            if tail.strip() and not value:
                value = tail.strip()
            pos = n if semi < 0 else semi + 1
        else:
            semi = _find_param_end(text, pos)
            value, quoted = text[pos:semi].strip(), False
            pos = semi + 1
        if name:
            yield name, value, quoted


def _find_param_end(text: str, pos: int) -> int:
    # An unquoted value ends at ';' unless that ';' sits inside an encoded word.
    n = len(text)
    while True:
        semi = text.find(";", pos)
        if semi < 0:
            return n
        ew = text.rfind("=?", pos, semi)
        if ew >= 0 and text.find("?=", ew + 2, semi) < 0 and text.find("?=", semi) >= 0:
            pos = semi + 1
            continue
        return semi


_PCT_RE = re.compile(rb"%([0-9A-Fa-f]{2})")


def _join_rfc2231(sections: dict[int, tuple[str, bool]], charset_hint: str | None) -> str:
    charset = None
    chunks: list[bytes] = []
    for i, index in enumerate(sorted(sections)):
        value, encoded = sections[index]
        if i == 0 and encoded:
            parts = value.split("'", 2)
            if len(parts) == 3:
                charset, value = parts[0] or None, parts[2]
        raw = value.encode("utf-8")
        if encoded:
            raw = _PCT_RE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
        chunks.append(raw)
    return charsets.decode(b"".join(chunks), charset or charset_hint)[0]


# --- dates ----------------------------------------------------------------------------

_DATE_JUNK_RE = re.compile(r"\s*\([^)]*\)\s*$")  # "(PDT)" comments
_TZ_OFFSET_RE = re.compile(r"(?:GMT|UTC|UT)\s*([+-])\s*(\d{1,2}):?(\d{2})?\s*$", re.I)
_ISO_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$")


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_RFC5322_DATE_RE = re.compile(
    r"^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+([+-])(\d{2})(\d{2})\s*(?:\([^)]*\))?\s*$"
)


_TZ_CACHE: dict[int, timezone] = {}


def _tz(minutes: int) -> timezone:
    tz = _TZ_CACHE.get(minutes)
    if tz is None:
        tz = _TZ_CACHE[minutes] = timezone.utc if minutes == 0 else timezone(timedelta(minutes=minutes))
    return tz


def parse_date(raw: str | None) -> datetime | None:
    """A timezone-aware datetime from a Date header, or None when nothing sensible is there.

    Tolerates missing day names, 2-digit years, dots, missing or named or bogus
    timezones (assumed UTC), "GMT+0200", ISO 8601 and trailing comments.
    """
    if not raw:
        return None
    text = raw.strip()
    m = _RFC5322_DATE_RE.match(text)
    if m:  # the well-formed case, without the general tokenizer
        day, mon, year, hour, minute, second, sign, oh, om = m.groups()
        month = _MONTHS.get(mon.lower())
        offset = int(oh) * 60 + int(om)
        if month and offset < 24 * 60:
            try:
                tz = _tz(-offset if sign == "-" else offset)
                return datetime(int(year), month, int(day), int(hour), int(minute), int(second or 0), tzinfo=tz)
            except ValueError:
                pass
    try:
        m = _ISO_RE.match(text)
        if m:
            y, mo, d, h, mi, s, tz = m.groups()
            offset = _offset(tz)
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=offset)
        text = _DATE_JUNK_RE.sub("", text)
        m = _TZ_OFFSET_RE.search(text)
        if m:
            sign, hh, mm = m.groups()
            text = text[: m.start()] + f" {sign}{int(hh):02d}{mm or '00'}"
        text = text.replace(".", " ") if re.search(r"\d\.\d", text) is None else text
        parts = _parsedate_tz(text)
        if parts is None:
            parts = _parsedate_tz(re.sub(r"[^\w:+\- ]", " ", text))
        if parts is None:
            return None
        year, month, day, hour, minute, second = parts[:6]
        tzoffset = parts[9]
        if year < 100:
            year += 2000 if year < 50 else 1900
        if not (1 <= month <= 12 and 1 <= day <= 31 and 1900 <= year <= 9999):
            return None
        hour, minute, second = min(hour, 23), min(minute, 59), min(second, 59)
        if tzoffset is None or abs(tzoffset) >= 86400:
            tzinfo = timezone.utc
        else:
            tzinfo = timezone(timedelta(seconds=tzoffset))
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=tzinfo)
        except ValueError:
            # 31 Feb and friends: clamp to the month's last day.
            for d in (30, 29, 28):
                try:
                    return datetime(year, month, d, hour, minute, second, tzinfo=tzinfo)
                except ValueError:
                    continue
            return None
    except (ValueError, OverflowError, IndexError, TypeError):
        return None


def _offset(tz: str | None) -> timezone:
    if not tz or tz == "Z":
        return timezone.utc
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    if minutes >= 24 * 60:
        return timezone.utc
    return timezone(sign * timedelta(minutes=minutes))


# --- Message-IDs ------------------------------------------------------------------------

_MSGID_RE = re.compile(r"<([^<>\s]+)>")


def normalize_message_id(raw: str | None) -> str:
    """The id without angle brackets or whitespace: '<a@b>' -> 'a@b'."""
    if not raw:
        return ""
    m = _MSGID_RE.search(raw)
    if m:
        return m.group(1)
    return raw.strip().strip("<>").split()[0] if raw.strip().strip("<>") else ""


def parse_message_ids(raw: str | None) -> tuple[str, ...]:
    """All ids in a References/In-Reply-To value, in order, without duplicates."""
    if not raw:
        return ()
    ids = _MSGID_RE.findall(raw)
    if not ids:
        ids = [t.strip("<>,;") for t in raw.split() if "@" in t]
    seen: dict[str, None] = {}
    for i in ids:
        if i and i not in seen:
            seen[i] = None
    return tuple(seen)
