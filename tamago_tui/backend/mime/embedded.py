"""Files embedded in a text body the pre-MIME way: uuencode and yEnc blocks.

`extract` finds the blocks in a (transfer-decoded) text body, decodes them,
and returns the text with the blocks cut out, so the reader sees the message
and the files show up as attachments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .transfer import decode_uu_lines

_UU_BEGIN_RE = re.compile(rb"^begin[ \t]+([0-7]{3,4})(?:[ \t]+([^\r\n]*?))?[ \t]*\r?$", re.M)
_UU_LINE_RE = re.compile(rb"^[\x20-\x60]{1,62}\r?$")
_YBEGIN_RE = re.compile(rb"^=ybegin[ \t]([^\r\n]*)\r?$", re.M)
_YEND_RE = re.compile(rb"^=yend(?:[ \t][^\r\n]*)?\r?$", re.M)
_YPART_RE = re.compile(rb"^=ypart[ \t][^\r\n]*\r?\n", re.M)
_YENC_TABLE = bytes((b - 42) % 256 for b in range(256))


@dataclass
class EmbeddedFile:
    kind: str  # "uu" or "yenc"
    filename: str
    data: bytes


def extract(body: bytes) -> tuple[bytes, list[EmbeddedFile]]:
    """(body without the blocks, files found). Returns the body unchanged when there are none."""
    if b"begin " not in body and b"=ybegin" not in body:
        return body, []
    blocks: list[tuple[int, int, EmbeddedFile]] = []
    for m in _UU_BEGIN_RE.finditer(body):
        found = _uu_block(body, m)
        if found:
            blocks.append(found)
    for m in _YBEGIN_RE.finditer(body):
        found = _yenc_block(body, m)
        if found:
            blocks.append(found)
    if not blocks:
        return body, []
    blocks.sort(key=lambda b: b[0])
    pieces: list[bytes] = []
    files: list[EmbeddedFile] = []
    pos = 0
    for start, end, file in blocks:
        if start < pos:
            continue  # overlapping matches: keep the first
        pieces.append(body[pos:start])
        files.append(file)
        pos = end
    pieces.append(body[pos:])
    return b"".join(pieces), files


def _uu_block(body: bytes, m: re.Match) -> tuple[int, int, EmbeddedFile] | None:
    pos = m.end()
    if pos < len(body) and body[pos : pos + 1] == b"\n":
        pos += 1
    lines: list[bytes] = []
    end = len(body)
    saw_end = False
    while pos < len(body):
        nl = body.find(b"\n", pos)
        line_end = len(body) if nl < 0 else nl
        line = body[pos:line_end].rstrip(b"\r")
        next_pos = line_end + 1
        if line.strip() == b"end":
            end = min(next_pos, len(body))
            saw_end = True
            break
        if line and not _UU_LINE_RE.match(line) and not line.startswith(b"M"):
            end = pos
            break
        lines.append(line)
        pos = next_pos
    else:
        end = len(body)
    data_lines = [line for line in lines if line]
    if not data_lines or (not saw_end and len(data_lines) < 2):
        return None
    # The first data line must announce a plausible length ('M' = 45 bytes is typical).
    first = data_lines[0]
    if not (33 <= first[0] <= 96):
        return None
    data = decode_uu_lines(data_lines)
    if not data:
        return None
    name = (m.group(2) or b"").strip().decode("utf-8", "replace")
    return m.start(), end, EmbeddedFile("uu", name, data)


def _yenc_block(body: bytes, m: re.Match) -> tuple[int, int, EmbeddedFile] | None:
    header = m.group(1).decode("latin-1")
    name_match = re.search(r"\bname=(.*)$", header)
    name = name_match.group(1).strip() if name_match else ""
    start_data = m.end() + 1
    part = _YPART_RE.match(body, start_data)
    if part:
        start_data = part.end()
    end_match = _YEND_RE.search(body, start_data)
    stop = end_match.start() if end_match else len(body)
    end = end_match.end() if end_match else len(body)
    data = ydecode(body[start_data:stop])
    try:
        name = name.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        pass
    return m.start(), min(end + 1, len(body)), EmbeddedFile("yenc", name, data)


def ydecode(data: bytes) -> bytes:
    """yEnc: each byte minus 42; '=' escapes the next byte (minus another 64); line breaks are not data."""
    out = bytearray()
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if not line:
            continue
        pieces = line.split(b"=")
        out += pieces[0].translate(_YENC_TABLE)
        for piece in pieces[1:]:
            if piece:
                out.append((piece[0] - 64 - 42) % 256)
                out += piece[1:].translate(_YENC_TABLE)
    return bytes(out)
