"""Content-Transfer-Encoding: decoding that survives real mail, in chunks when asked.

base64 with line noise, bad padding or text after the data; quoted-printable
with lowercase hex, '=' not followed by hex, and spaces after soft breaks;
uuencode; unknown encodings passed through. `decoded_size` and
`iter_decoded` never hold a whole decoded part in memory.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

CHUNK = 256 * 1024  # encoded input read at a time

_B64_JUNK_RE = re.compile(rb"[^A-Za-z0-9+/]")
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_B64_DELETE = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_QP_SOFT_RE = re.compile(rb"=[ \t]*\r?\n")
_QP_HEX_RE = re.compile(rb"=([0-9A-Fa-f]{2})")
_QP_TRAILING_WS_RE = re.compile(rb"[ \t]+(?=\r?\n)")


def normalize_cte(raw: str | None) -> str:
    """'base64', 'quoted-printable', 'x-uuencode', 'identity' or 'unknown:<name>'."""
    if not raw:
        return "identity"
    cte = raw.strip().strip("\"'").split(";")[0].strip().lower()
    if cte.replace(" ", "").replace("_", "").replace("-", "") == "quotedprintable":
        return "quoted-printable"
    cte = cte.split()[0] if cte.split() else ""
    if cte in ("base64", "base-64", "b64", "x-base64"):
        return "base64"
    if cte in ("quoted-printable", "quoted_printable", "quotedprintable", "qp", "x-quoted-printable"):
        return "quoted-printable"
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return "x-uuencode"
    if cte in ("", "7bit", "8bit", "binary", "7-bit", "8-bit", "7 bit", "8 bit", "plain", "none", "text", "ascii", "utf-8", "us-ascii", "7bits", "8bits", "text/plain", "text/html", "x-binary", "identity", "bit7", "bit8"):
        return "identity"
    if cte.endswith("bit"):
        return "identity"
    return f"unknown:{cte}"


def decode_base64(data: bytes) -> bytes:
    """Ignore everything outside the alphabet; stop at the first padding; fix the length."""
    eq = data.find(b"=")
    if eq >= 0:
        # Data after '=' padding is junk (a signature, a second part), except when the
        # '=' sits mid-line: then the encoder padded each line; keep going.
        tail = data[eq:]
        if _B64_JUNK_RE.sub(b"", tail.replace(b"=", b"")) and _looks_like_per_line_padding(data):
            return b"".join(decode_base64(line) for line in data.splitlines() if line.strip())
        data = data[:eq]
    data = _B64_JUNK_RE.sub(b"", data)
    return _b64_exact(data)


def _b64_exact(data: bytes) -> bytes:
    if len(data) % 4 == 1:
        data = data[:-1]
    data += b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


def _looks_like_per_line_padding(data: bytes) -> bool:
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    padded = sum(1 for line in lines[:-1] if line.endswith(b"="))
    return padded >= 2


def decode_qp(data: bytes) -> bytes:
    data = _QP_TRAILING_WS_RE.sub(b"", data)
    data = _QP_SOFT_RE.sub(b"", data)
    if data.endswith(b"="):
        data = data[:-1]
    return _QP_HEX_RE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


_UU_BEGIN_RE = re.compile(rb"^begin(?:-base64)?[ \t]+([0-7]{3,4})[ \t]+(.*?)[ \t]*\r?$", re.M)


def decode_uu_lines(lines: list[bytes]) -> bytes:
    """The lines between 'begin' and 'end'; tolerant of trailing junk and bad lengths."""
    out = bytearray()
    for line in lines:
        line = line.rstrip(b"\r\n")
        if not line or line in (b"`", b" "):
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # A line with garbage at its end: decode only the count it announces.
            count = (line[0] - 32) & 63
            needed = (count * 4 + 2) // 3 + 1
            try:
                out += binascii.a2b_uu(line[:needed])
            except binascii.Error:
                continue
    return bytes(out)


def decode_uu(data: bytes) -> bytes:
    """A whole x-uuencode body: skip to 'begin', stop at 'end'."""
    m = _UU_BEGIN_RE.search(data)
    start = m.end() if m else 0
    lines = []
    for line in data[start:].splitlines():
        if line.strip() == b"end":
            break
        lines.append(line)
    return decode_uu_lines(lines)


def decode(data: bytes, cte: str) -> bytes:
    if cte == "base64":
        return decode_base64(data)
    if cte == "quoted-printable":
        return decode_qp(data)
    if cte == "x-uuencode":
        return decode_uu(data)
    return data


def _b64_chunks(buf, start: int, end: int) -> Iterator[bytes]:
    """The base64 alphabet characters of buf[start:end], chunk by chunk, up to the first '='."""
    pos = start
    while pos < end:
        stop = min(pos + CHUNK, end)
        raw = buf[pos:stop]
        eq = raw.find(b"=")
        if eq >= 0:
            yield raw[:eq].translate(None, _B64_DELETE)
            return
        yield raw.translate(None, _B64_DELETE)
        pos = stop


def iter_decoded(buf, start: int, end: int, cte: str) -> Iterator[bytes]:
    """Decode buf[start:end] chunk by chunk (chunks end at line breaks)."""
    if cte not in ("base64", "quoted-printable") or end - start <= CHUNK:
        yield decode(bytes(buf[start:end]), cte)
        return
    if cte == "base64":
        carry = b""
        for chunk in _b64_chunks(buf, start, end):
            data = carry + chunk if carry else chunk
            keep = len(data) - len(data) % 4
            if keep:
                yield binascii.a2b_base64(data[:keep])
            carry = data[keep:]
        if carry:
            yield _b64_exact(carry)
        return
    pos = start
    while pos < end:
        stop = min(pos + CHUNK, end)
        if stop < end:
            nl = buf.rfind(b"\n", pos, stop)
            if nl > pos:
                stop = nl + 1
        yield decode_qp(bytes(buf[pos:stop]))
        pos = stop


def decoded_size(buf, start: int, end: int, cte: str) -> int:
    """The size in bytes of the decoded content, without keeping it."""
    if cte == "identity" or cte.startswith("unknown:"):
        return max(0, end - start)
    if cte == "base64" and end - start > CHUNK:
        # Every 4 alphabet characters are 3 bytes; a trailing 2 or 3 give 1 or 2.
        count = sum(len(chunk) for chunk in _b64_chunks(buf, start, end))
        return count // 4 * 3 + {0: 0, 1: 0, 2: 1, 3: 2}[count % 4]
    return sum(len(chunk) for chunk in iter_decoded(buf, start, end, cte))
