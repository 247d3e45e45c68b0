"""A minimal reader for TNEF (winmail.dat, application/ms-tnef): the files inside.

Outlook wraps attachments (and sometimes the body) in TNEF. This reads the
attribute stream and the MAPI property lists far enough to list each file's
name, size, MIME type and data, plus a plain-text or HTML body when present.
It never raises on damaged input; it returns what it could read.

Format: [MS-OXTNEF]. Attributes are (level:1, id:4, length:4, data, checksum:2),
little-endian; attachment MAPI properties use the encoding of section 2.1.3.4.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SIGNATURE = 0x223E9F78

ATT_ATTACH_RENDDATA = 0x00069002  # starts a new attachment
ATT_ATTACH_TITLE = 0x00018010  # short file name
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACHMENT = 0x00069005  # the attachment's MAPI properties
ATT_BODY = 0x0002800C
ATT_MSG_PROPS = 0x00069003
ATT_OEM_CODEPAGE = 0x00069007

PR_ATTACH_DATA_OBJ = 0x3701
PR_ATTACH_FILENAME = 0x3704
PR_ATTACH_LONG_FILENAME = 0x3707
PR_ATTACH_MIME_TAG = 0x370E
PR_ATTACH_CONTENT_ID = 0x3712
PR_DISPLAY_NAME = 0x3001
PR_BODY = 0x1000
PR_BODY_HTML = 0x1013
PR_RTF_COMPRESSED = 0x1009

_FIXED_SIZES = {
    0x0001: 4,  # PT_NULL
    0x0002: 4,  # PT_SHORT, padded
    0x0003: 4,  # PT_LONG
    0x0004: 4,  # PT_FLOAT
    0x0005: 8,  # PT_DOUBLE
    0x0006: 8,  # PT_CURRENCY
    0x0007: 8,  # PT_APPTIME
    0x000A: 4,  # PT_ERROR
    0x000B: 4,  # PT_BOOLEAN, padded
    0x0014: 8,  # PT_I8
    0x0040: 8,  # PT_SYSTIME
    0x0048: 16,  # PT_CLSID
}
_VARIABLE = {0x001E, 0x001F, 0x0102, 0x000D}  # STRING8, UNICODE, BINARY, OBJECT
MAX_ATTRIBUTES = 10000


@dataclass
class TnefFile:
    filename: str = ""
    data: bytes | memoryview = b""  # a view into the stream: no copy of big files
    content_type: str = ""
    content_id: str = ""


@dataclass
class TnefContent:
    files: list[TnefFile] = field(default_factory=list)
    body_text: str = ""
    body_html: str = ""
    has_rtf: bool = False
    problem: str = ""


def is_tnef(data: bytes | memoryview) -> bool:
    return len(data) >= 6 and struct.unpack_from("<I", data, 0)[0] == SIGNATURE


def read(data: bytes) -> TnefContent:
    """Everything this reader understands in a TNEF stream."""
    content = TnefContent()
    if not is_tnef(data):
        content.problem = "not a TNEF stream"
        return content
    codepage = "cp1252"
    pos = 6
    current: TnefFile | None = None
    count = 0
    data = memoryview(data)
    try:
        while pos + 9 <= len(data) and count < MAX_ATTRIBUTES:
            count += 1
            level = data[pos]
            attr_id, length = struct.unpack_from("<II", data, pos + 1)
            start = pos + 9
            stop = start + length
            if stop > len(data):
                content.problem = "the TNEF stream is truncated"
                stop = len(data)
            value = data[start:stop]
            pos = stop + 2  # skip the checksum
            if attr_id == ATT_OEM_CODEPAGE and len(value) >= 4:
                cp = struct.unpack_from("<I", value, 0)[0]
                codepage = _codepage_name(cp) or codepage
            elif attr_id == ATT_ATTACH_RENDDATA:
                current = TnefFile()
                content.files.append(current)
            elif level == 2 and current is not None:
                if attr_id == ATT_ATTACH_TITLE and not current.filename:
                    current.filename = _cstring(value, codepage)
                elif attr_id == ATT_ATTACH_DATA:
                    current.data = value
                elif attr_id == ATT_ATTACHMENT:
                    _apply_attachment_props(current, _props(value, codepage))
            elif level == 1:
                if attr_id == ATT_BODY and not content.body_text:
                    content.body_text = _cstring(value, codepage)
                elif attr_id == ATT_MSG_PROPS:
                    props = _props(value, codepage)
                    if isinstance(props.get(PR_BODY), str) and not content.body_text:
                        content.body_text = props[PR_BODY]
                    html = props.get(PR_BODY_HTML)
                    if isinstance(html, (bytes, memoryview)):
                        html = bytes(html).decode("utf-8", "replace")
                    if isinstance(html, str):
                        content.body_html = html
                    if PR_RTF_COMPRESSED in props:
                        content.has_rtf = True
        if pos < len(data) and not content.problem and count < MAX_ATTRIBUTES:
            content.problem = "the TNEF stream is truncated"
    except (struct.error, IndexError, ValueError) as exc:
        content.problem = f"damaged TNEF stream ({exc.__class__.__name__})"
    content.files = [f for f in content.files if f.filename or f.data]
    return content


def _apply_attachment_props(current: TnefFile, props: dict) -> None:
    for key in (PR_ATTACH_LONG_FILENAME, PR_ATTACH_FILENAME, PR_DISPLAY_NAME):
        name = props.get(key)
        if isinstance(name, str) and name.strip():
            # The long name beats the 8.3 title; the others only fill a gap.
            if key == PR_ATTACH_LONG_FILENAME or not current.filename:
                current.filename = name.strip()
            break
    mime = props.get(PR_ATTACH_MIME_TAG)
    if isinstance(mime, str):
        current.content_type = mime.strip().lower()
    cid = props.get(PR_ATTACH_CONTENT_ID)
    if isinstance(cid, str):
        current.content_id = cid.strip().strip("<>")
    obj = props.get(PR_ATTACH_DATA_OBJ)
    if isinstance(obj, (bytes, memoryview)) and is_tnef(obj):
        # An embedded Outlook item (a message, task, appointment): attAttachData only
        # holds a placeholder sentence; the item itself is a nested TNEF stream.
        current.data = obj
        current.content_type = "application/ms-tnef"
        display = props.get(PR_DISPLAY_NAME)
        if isinstance(display, str) and display.strip():
            current.filename = display.strip()
    elif isinstance(obj, (bytes, memoryview)) and not current.data:
        current.data = obj


def _props(data: bytes, codepage: str) -> dict[int, object]:
    """A MAPI property list: {property id: value} for the types this reader needs."""
    props: dict[int, object] = {}
    if len(data) < 4:
        return props
    count = struct.unpack_from("<I", data, 0)[0]
    pos = 4
    for _ in range(min(count, 4096)):
        if pos + 4 > len(data):
            break
        ptype, pid = struct.unpack_from("<HH", data, pos)
        pos += 4
        if pid >= 0x8000:  # a named property: GUID, kind, then an id or a name
            pos += 16
            kind = struct.unpack_from("<I", data, pos)[0]
            pos += 4
            if kind == 0:
                pos += 4
            else:
                name_len = struct.unpack_from("<I", data, pos)[0]
                pos += 4 + name_len + (-name_len % 4)
        multi = bool(ptype & 0x1000)
        base = ptype & 0x0FFF
        values_count = 1
        if multi or base in _VARIABLE:
            values_count = struct.unpack_from("<I", data, pos)[0]
            pos += 4
        value: object = None
        for _i in range(min(values_count, 65536)):
            if base in _VARIABLE:
                length = struct.unpack_from("<I", data, pos)[0]
                pos += 4
                raw = data[pos : pos + length]
                pos += length + (-length % 4)
                if base == 0x001F:
                    value = bytes(raw).decode("utf-16-le", "replace").rstrip("\x00")
                elif base == 0x001E:
                    value = _cstring(raw, codepage)
                elif base == 0x000D:
                    value = raw[16:]  # an object starts with its interface id
                else:
                    value = raw
            elif base in _FIXED_SIZES:
                pos += _FIXED_SIZES[base]
            else:
                return props  # an unknown type: its size is unknown, stop here
        if not multi:
            props[pid] = value
    return props


def _cstring(value: bytes | memoryview, codepage: str) -> str:
    value = bytes(value).split(b"\x00", 1)[0]
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode(codepage, "replace")


def _codepage_name(cp: int) -> str | None:
    import codecs

    for name in (f"cp{cp}", {65001: "utf-8", 20866: "koi8-r", 21866: "koi8-u", 28591: "latin-1"}.get(cp, "")):
        if not name:
            continue
        try:
            return codecs.lookup(name).name
        except LookupError:
            continue
    return None
