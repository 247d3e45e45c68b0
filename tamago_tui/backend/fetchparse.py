"""Reading the IMAP responses the header sync gets: FETCH, SEARCH, STATUS, LIST.

Kept apart from the sync logic because this is where the time goes: a full
sync parses 100,000 FETCH responses, so the common shape (the order Dovecot
and most servers answer in) is read with one regular expression, and only
unusual responses take the general path.
"""

from __future__ import annotations

import re
from datetime import date

from . import headers as hdr
from .imapwire import Response, parse_sequence_set
from .index import Header

FIELDS = b"(" + b" ".join(f.encode() for f in hdr.INDEX_FIELDS) + b")"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_UID = re.compile(rb"[( ]UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]*)"')
_GM_MSGID = re.compile(rb"X-GM-MSGID (\d+)")
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')
_FAST_FETCH = re.compile(rb'\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\) RFC822\.SIZE (\d+) INTERNALDATE "([^"]*)" ')
_STATUS_ITEMS = re.compile(rb"\(([^()]*)\)\s*$")
_CODE = re.compile(rb"^\* OK \[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)\]")
_EXISTS = re.compile(rb"^\* (\d+) EXISTS")
_VANISHED = re.compile(rb"^\* VANISHED (?:\(EARLIER\) )?([\d:,]+)")
_ESEARCH_ALL = re.compile(rb" ALL ([\d:,]+)")
_LIST = re.compile(rb'^\* LIST \(([^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (.*)$', re.S)


def imap_date(day: date) -> bytes:
    return f"{day.day}-{MONTHS[day.month - 1]}-{day.year}".encode()


def parse_fetch(response: Response) -> Header | None:
    """A FETCH response (UID FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY[HEADER.FIELDS])."""
    pieces, literals = response.pieces, response.literals
    header_block = b""
    if len(literals) == 1:
        # The usual shape: one literal, the header block, right after BODY[HEADER.FIELDS (...)].
        text = pieces[0]
        if text.endswith(b"] ") and b"BODY[HEADER" in text and literals[0] is not None:
            header_block = literals[0]
        text += pieces[1]
    else:
        text = b"".join(pieces)
        for prefix, literal in zip(pieces, literals):
            if prefix.endswith(b"] ") and b"BODY[HEADER" in prefix and literal is not None:
                header_block = literal
                break
    fast = _FAST_FETCH.match(text)
    if fast:
        # The order Dovecot (and most servers) answer in: no scanning needed.
        uid, flags, size, internal = fast.groups()
        rest = text[fast.end() :]
        gm = _GM_MSGID.search(rest) if b"X-GM-MSGID" in rest else None
    else:
        internal_match = _INTERNALDATE.search(text)
        internal = internal_match.group(1) if internal_match else b""
        rest = text
        bare = _QUOTED.sub(b'""', text) if b'"' in text else text
        uid_match = _UID.search(bare)
        if uid_match is None:
            return None
        size_match, flags_match, gm = _SIZE.search(bare), _FLAGS.search(bare), _GM_MSGID.search(bare)
        uid = uid_match.group(1)
        size = size_match.group(1) if size_match else b"0"
        flags = flags_match.group(1) if flags_match else b""
    flag_text = _FLAG_TEXT.get(flags)
    if flag_text is None:
        flag_text = _flag_text(flags)
    has_attachments = attachments_in(rest) if len(literals) <= 1 else attachments_guess(rest)
    sender, to, cc, bcc, subject, date_iso, message_id, in_reply_to, refs = hdr.index_fields(header_block)
    if not date_iso and internal:
        date_iso = hdr.parse_date(internal.decode("ascii", "replace"))
    return Header(
        int(uid), message_id, int(gm.group(1)) if gm else None, date_iso, sender, to, cc, bcc,
        subject, int(size), flag_text, has_attachments, in_reply_to, refs,
    )


_FLAG_TEXT: dict[bytes, str] = {}


def _flag_text(flags: bytes) -> str:
    """FLAGS as stored: without \\Recent, a per-session flag that would make flags
    "change" every sync. Remembered: a mailbox has few distinct flag sets."""
    kept = b" ".join(f for f in flags.split() if f != b"\\Recent") if b"\\Recent" in flags else flags
    text = kept.decode("ascii", "replace")
    if len(_FLAG_TEXT) < 4096:
        _FLAG_TEXT[flags] = text
    return text


_BS_TOKEN = re.compile(rb'\(|\)|"(?:[^"\\]|\\.)*"|[^\s()"]+')
_LEAF_TYPE = re.compile(rb'[()]\("([^"]*)" "([^"]*)"')
_SINGLE_LEAF = re.compile(rb'\("([^"]*)" "([^"]*)"')
_NAMED = re.compile(rb'"(?:file)?name|"attachment"', re.I)  # a part with a name, or attached
_BODY_TYPES = {b"text/plain", b"text/html", b"text/enriched", b"text/richtext", b"text/markdown", b"text/x-markdown"}


def attachments_in(text: bytes) -> bool:
    """Whether the BODYSTRUCTURE in a FETCH response shows an attachment, by the rules of
    mime.has_attachments_from_bodystructure (the paperclip a cached message gets).

    Most messages are text parts without names: a byte scan settles those. The
    rest (named parts, non-text leaves) get the structure parsed and judged by
    the mime module, so the index and the viewer agree.
    """
    start = text.find(b"BODYSTRUCTURE (")
    if start < 0:
        return False
    start += 14
    if _NAMED.search(text) is None:
        if text[start + 1 : start + 2] == b'"':  # a single part: its type is the first two strings
            leaf = _SINGLE_LEAF.match(text, start)
            if leaf is not None and (leaf.group(1) + b"/" + leaf.group(2)).lower() in _BODY_TYPES:
                return False
        else:
            types = _LEAF_TYPE.findall(text, start + 1)
            if types and all(b"/".join(t).lower() in _BODY_TYPES for t in types):
                return False
    else:
        lowered = text.lower()
        if b'("attachment"' in lowered and b"signature" not in lowered and b"pgp-" not in lowered:
            return True  # a file sent along, and no signature part that could be the one
    tree = _bodystructure_tree(text, start)
    if tree is None:
        return attachments_guess(text)
    from .mime import has_attachments_from_bodystructure

    return has_attachments_from_bodystructure(tree)


def attachments_guess(text: bytes) -> bool:
    """When the structure cannot be read (a literal inside it): named or attached parts."""
    lowered = text.lower()
    return b'"attachment"' in lowered or b'"filename' in lowered or b'"name' in lowered


def _bodystructure_tree(text: bytes, start: int):
    """The parenthesised list at `start` as nested lists, in imapclient's BodyData shape
    (a multipart's children gathered into one list). None when unbalanced."""
    stack: list[list] = [[]]
    for match in _BS_TOKEN.finditer(text, start):
        token = match.group(0)
        if token == b"(":
            stack.append([])
        elif token == b")":
            node = stack.pop()
            if not stack:
                return None
            stack[-1].append(node)
            if len(stack) == 1:
                return _bodydata(stack[0][0])
        elif token[0] == 34:  # a quoted string
            stack[-1].append(token[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\"))
        elif token.upper() == b"NIL":
            stack[-1].append(None)
        else:
            stack[-1].append(token)
    return None


def _bodydata(node: list) -> list:
    if node and isinstance(node[0], list):
        index = 0
        while index < len(node) and isinstance(node[index], list):
            index += 1
        return [[_bodydata(child) for child in node[:index]], *node[index:]]
    return node


def flag_change(text: bytes) -> tuple[int, str] | None:
    """(uid, flags) from a `* n FETCH (UID u FLAGS (...) ...)` response."""
    bare = _QUOTED.sub(b'""', text) if b'"' in text else text
    uid, flags = _UID.search(bare), _FLAGS.search(bare)
    if not (uid and flags):
        return None
    return int(uid.group(1)), " ".join(f for f in flags.group(1).decode("ascii", "replace").split() if f != "\\Recent")


def parse_search(responses: list[Response]) -> list[int]:
    """UIDs from `* SEARCH 1 2 3` or `* ESEARCH (TAG "x") UID ALL 1:3` responses, sorted."""
    uids: list[int] = []
    for response in responses:
        text = response.text
        if text.startswith(b"* SEARCH"):
            uids.extend(int(x) for x in text[8:].split() if x.isdigit())
        elif text.startswith(b"* ESEARCH"):
            match = _ESEARCH_ALL.search(text)
            if match:
                uids.extend(parse_sequence_set(match.group(1)))
    return sorted(set(uids))


def parse_status(responses: list[Response]) -> dict[str, int]:
    for response in responses:
        if response.text.startswith(b"* STATUS"):
            match = _STATUS_ITEMS.search(response.text)
            if match:
                items = match.group(1).split()
                return {k.decode().upper(): int(v) for k, v in zip(items[::2], items[1::2]) if v.isdigit()}
    return {}


def encode_mailbox(name: str) -> bytes:
    from imapclient import imap_utf7

    return imap_utf7.encode(name)


def decode_mailbox(raw: bytes) -> str:
    from imapclient import imap_utf7

    return imap_utf7.decode(raw)


def parse_list(responses: list[Response]) -> list[tuple[str, set[str]]]:
    """(folder name, lower-cased flags) from LIST responses, selectable folders only."""
    folders = []
    for response in responses:
        match = _LIST.match(response.text)
        if not match:
            continue
        flags = {f.lower() for f in match.group(1).decode("ascii", "replace").split()}
        if "\\noselect" in flags or "\\nonexistent" in flags:
            continue
        raw = response.literals[0] if response.literals else match.group(2).strip()
        if raw.startswith(b'"') and raw.endswith(b'"'):
            raw = raw[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        folders.append((decode_mailbox(raw), flags))
    return folders


def read_examine(text: bytes, info: dict) -> None:
    """One untagged line of an EXAMINE answer into `info`: UIDVALIDITY, UIDNEXT,
    HIGHESTMODSEQ, EXISTS, and with QRESYNC the VANISHED UIDs and changed flags."""
    match = _CODE.match(text)
    if match:
        info[match.group(1).decode()] = int(match.group(2))
        return
    match = _EXISTS.match(text)
    if match:
        info["EXISTS"] = int(match.group(1))
        return
    match = _VANISHED.match(text)
    if match:
        info["vanished"].extend(parse_sequence_set(match.group(1)))
        return
    if b" FETCH " in text[:40]:
        change = flag_change(text)
        if change:
            info["flags"].append(change)
