"""The MIME tree of a message, as offsets into the raw bytes.

`parse_tree` reads headers and splits multiparts without copying bodies: a
leaf knows where its encoded body starts and ends in the buffer (bytes or an
mmap), so sizes and saved files can be produced later, part by part.

Part paths follow IMAP section numbers: "1", "1.2", and "2.1" for the first
part of a message attached at "2".
"""

from __future__ import annotations

import mimetypes
import re

from . import transfer
from .headers import HeaderBlock, find_line_end, parse_params, split_header_block

MAX_DEPTH = 40  # nested multiparts/messages; deeper content is kept as one opaque part
MAX_PARTS = 5000
_SNIFF_BOUNDARY_RE = re.compile(rb"^--([^\s]{1,200}?)(--)?[ \t]*\r?$", re.M)


class Entity:
    """One MIME entity: its headers, content type, and either children or a body range."""

    __slots__ = (
        "buf", "headers", "path", "body_start", "end", "ctype", "params", "disposition",
        "disp_params", "cte", "children", "message", "depth",
    )

    def __init__(self, buf, headers: HeaderBlock, path: str, body_start: int, end: int, depth: int):
        self.buf = buf
        self.headers = headers
        self.path = path
        self.body_start = body_start
        self.end = end
        self.depth = depth
        self.ctype = "text/plain"
        self.params: dict[str, str] = {}
        self.disposition = ""
        self.disp_params: dict[str, str] = {}
        self.cte = "identity"
        self.children: list[Entity] = []
        self.message: Entity | None = None  # the parsed content of a message/rfc822 part

    @property
    def maintype(self) -> str:
        return self.ctype.split("/", 1)[0]

    @property
    def is_multipart(self) -> bool:
        return self.ctype.startswith("multipart/") and bool(self.children)

    def body_bytes(self) -> bytes:
        """The encoded body, as a copy."""
        return bytes(self.buf[self.body_start : self.end])

    def decoded(self) -> bytes:
        return transfer.decode(self.body_bytes(), self.cte)

    def decoded_size(self) -> int:
        return transfer.decoded_size(self.buf, self.body_start, self.end, self.cte)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()
        if self.message is not None:
            yield from self.message.walk()


class _Context:
    __slots__ = ("problems", "parts", "boundaries")

    def __init__(self):
        self.problems: list[str] = []
        self.parts = 0
        self.boundaries: list[str] = []  # of the multiparts being split, outermost first

    def note(self, path: str, text: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(f"part {path}: {text}" if path else text)


def child_path(prefix: str, index: int) -> str:
    return f"{prefix}.{index}" if prefix else str(index)


def parse_tree(buf, start: int = 0, end: int | None = None) -> tuple[Entity, list[str]]:
    """The root entity of the message in buf[start:end], and the problems repaired."""
    ctx = _Context()
    root = _parse_message(buf, start, len(buf) if end is None else end, "", 0, ctx)
    return root, ctx.problems


def _parse_message(buf, start: int, end: int, prefix: str, depth: int, ctx: _Context) -> Entity:
    """A message (top level or attached): its root entity carries the message headers."""
    headers, body_start = split_header_block(buf, start, end)
    for problem in headers.problems:
        ctx.note(prefix, problem)
    entity = Entity(buf, headers, prefix, body_start, end, depth)
    _read_content_headers(entity, "text/plain", ctx)
    _maybe_multipart(entity, ctx)
    if entity.ctype.startswith("multipart/"):
        _split(entity, ctx)
        if entity.children:
            return entity
    # A single-part message: its body is section "1" of the message (IMAP numbering).
    entity.path = child_path(prefix, 1)
    _finish_leaf(entity, ctx)
    return entity


def _parse_part(buf, start: int, end: int, path: str, depth: int, ctx: _Context, default_type: str) -> Entity:
    headers, body_start = split_header_block(buf, start, end)
    for problem in headers.problems:
        if problem != "the message has no header fields":
            ctx.note(path, problem)
    entity = Entity(buf, headers, path, body_start, end, depth)
    _read_content_headers(entity, default_type, ctx)
    _maybe_multipart(entity, ctx)
    if entity.ctype.startswith("multipart/"):
        _split(entity, ctx)
        if entity.children:
            return entity
    _finish_leaf(entity, ctx)
    return entity


def _read_content_headers(entity: Entity, default_type: str, ctx: _Context) -> None:
    headers = entity.headers
    raw_ct = headers.raw("content-type")
    charset_hint = None
    if raw_ct is not None:
        m = re.search(rb"charset\s*=\s*\"?([\w.:-]+)", raw_ct, re.I)
        charset_hint = m.group(1).decode("ascii", "replace") if m else None
    ctype, params = parse_params(raw_ct, charset_hint)
    ctype = ctype.strip().strip("\"'").lower()
    declared = bool(ctype)  # a declared application/octet-stream stays what the sender said
    if not ctype:
        ctype = default_type
    elif "/" not in ctype:
        guessed = {"text": "text/plain", "multipart": "multipart/mixed", "message": "message/rfc822"}.get(ctype)
        if guessed is None:
            guessed = ctype.replace("-", "/", 1) if ctype.startswith(("application-", "image-", "audio-", "video-")) else "application/octet-stream"
        ctx.note(entity.path, f"invalid Content-Type {ctype!r}; read as {guessed}")
        declared = guessed != "application/octet-stream"
        ctype = guessed
    else:
        ctype = "".join(ctype.split())
    entity.ctype = ctype
    entity.params = params
    raw_cd = headers.raw("content-disposition")
    if raw_cd is not None:
        disposition, disp_params = parse_params(raw_cd, charset_hint or params.get("charset"))
        entity.disposition = disposition.strip().strip("\"'").lower()
        entity.disp_params = disp_params
    if not declared and entity.ctype != "message/rfc822":
        # No usable Content-Type: a file name says more than the default.
        name = entity.disp_params.get("filename") or params.get("name") or ""
        guessed = guess_type(name) if name else None
        if guessed and guessed != entity.ctype:
            if raw_ct is not None:
                ctx.note(entity.path, f"unusable Content-Type; guessed {guessed} from the file name")
            entity.ctype = guessed
        elif raw_ct is not None and not raw_ct.split(b";")[0].strip():
            ctx.note(entity.path, f"empty Content-Type; assumed {entity.ctype}")
    raw_cte = headers.raw("content-transfer-encoding")
    cte = transfer.normalize_cte(raw_cte.decode("latin-1") if raw_cte is not None else None)
    if cte.startswith("unknown:"):
        ctx.note(entity.path, f"unknown Content-Transfer-Encoding {cte[8:]!r}; kept as is")
    entity.cte = cte


def _maybe_multipart(entity: Entity, ctx: _Context) -> None:
    """A single-part Content-Type with a boundary whose body really is multipart."""
    boundary = entity.params.get("boundary")
    if not boundary or entity.ctype.startswith(("multipart/", "message/")):
        return
    window = bytes(entity.buf[entity.body_start : min(entity.end, entity.body_start + 4096)])
    delim = b"--" + boundary.encode("utf-8", "replace")
    if window.startswith(delim) or (b"\n" + delim) in window:
        ctx.note(entity.path, f"{entity.ctype} with a multipart body; read as multipart/mixed")
        entity.ctype = "multipart/mixed"


_COMPRESSED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz", "compress": "application/x-compress", "br": "application/x-brotli"}


def guess_type(filename: str) -> str | None:
    """A MIME type from a file name; 'x.csv.gz' is a gzip file, not a CSV."""
    ctype, encoding = mimetypes.guess_type(filename, strict=False)
    if encoding:
        return _COMPRESSED.get(encoding, "application/octet-stream")
    return ctype


def _split(entity: Entity, ctx: _Context) -> None:
    buf, start, end = entity.buf, entity.body_start, entity.end
    if entity.depth >= MAX_DEPTH:
        ctx.note(entity.path, "nested too deeply; kept as one part")
        entity.ctype = "application/octet-stream"
        return
    boundary = entity.params.get("boundary", "")
    ranges: list[tuple[int, int]] = []
    closed = False
    if boundary:
        ranges, closed = split_multipart(buf, start, end, boundary.encode("utf-8", "replace"))
        if not ranges and boundary != boundary.strip():
            ranges, closed = split_multipart(buf, start, end, boundary.strip().encode("utf-8", "replace"))
    if not ranges and boundary.split() and boundary.split()[0] != boundary:
        # A boundary folded or padded with spaces: match on its first word.
        ranges, closed = split_multipart(buf, start, end, boundary.split()[0].encode("utf-8", "replace"))
        if ranges:
            ctx.note(entity.path, "the boundary contained spaces; matched on its first word")
    if not ranges:
        sniffed = _sniff_boundary(buf, start, end)
        if sniffed and sniffed != boundary.encode("utf-8", "replace"):
            ranges, closed = split_multipart(buf, start, end, sniffed)
            if ranges:
                what = "had no boundary" if not boundary else "used a boundary other than the declared one"
                ctx.note(entity.path, f"multipart {what}; found {sniffed.decode('latin-1')!r} in the body")
    if not ranges:
        if boundary and boundary in ctx.boundaries:
            # Its delimiter lines were taken by the enclosing multipart, whose parts
            # then include this one's: nothing is lost, the nesting is.
            ctx.note(entity.path, "a nested multipart reuses its parent's boundary; its parts are read as siblings")
        else:
            ctx.note(entity.path, f"{entity.ctype} without any {'boundary line' if boundary else 'boundary'}; read as text")
        entity.ctype = "text/plain"
        return
    if not closed:
        ctx.note(entity.path, "the closing boundary is missing")
    default_type = "message/rfc822" if entity.ctype == "multipart/digest" else "text/plain"
    ctx.boundaries.append(boundary)
    try:
        _parse_children(entity, ranges, default_type, ctx)
    finally:
        ctx.boundaries.pop()


def _parse_children(entity: Entity, ranges: list[tuple[int, int]], default_type: str, ctx: _Context) -> None:
    buf = entity.buf
    for i, (s, e) in enumerate(ranges, 1):
        if ctx.parts >= MAX_PARTS:
            ctx.note(entity.path, f"more than {MAX_PARTS} parts; the rest were ignored")
            break
        ctx.parts += 1
        child = _parse_part(buf, s, e, child_path(entity.path, i), entity.depth + 1, ctx, default_type)
        entity.children.append(child)


def split_multipart(buf, start: int, end: int, boundary: bytes) -> tuple[list[tuple[int, int]], bool]:
    """The body ranges between delimiter lines, and whether the closing delimiter was seen.

    A delimiter is "--boundary" at the start of a line, followed by the end of
    the line, by blanks and anything (RFC 2046 compares only the beginning), or
    by "--" for the closing one. "--boundary-1" is someone else's delimiter.
    """
    delim = b"--" + boundary
    ranges: list[tuple[int, int]] = []
    current: int | None = None
    pos = start
    n = len(delim)
    while True:
        i = buf.find(delim, pos, end)
        if i < 0:
            break
        if i > start and buf[i - 1] not in (10, 13):
            pos = i + 1
            continue
        line_end, next_line = find_line_end(buf, i + n, end)
        rest = buf[i + n : min(line_end, i + n + 2)]
        closing = rest == b"--"
        if not closing and rest and rest[0] not in (32, 9):
            pos = i + n
            continue
        if current is not None:
            ranges.append((current, _before_line_break(buf, current, i)))
        if closing:
            return ranges, True
        current = next_line
        pos = next_line
    if current is not None:
        ranges.append((current, end))
    return ranges, False


def _before_line_break(buf, start: int, i: int) -> int:
    # The line break before a delimiter belongs to the delimiter.
    if i > start and buf[i - 1] == 10:
        i -= 1
    if i > start and buf[i - 1] == 13:
        i -= 1
    return i


def _sniff_boundary(buf, start: int, end: int) -> bytes | None:
    """The first '--token' line of a body, as a guess for a missing or wrong boundary."""
    window = bytes(buf[start : min(end, start + 65536)])
    for m in _SNIFF_BOUNDARY_RE.finditer(window):
        candidate = m.group(1)
        if len(candidate) >= 3 and candidate.strip(b"-"):
            return candidate
    return None


def _finish_leaf(entity: Entity, ctx: _Context) -> None:
    if entity.ctype in ("message/rfc822", "message/global", "message/news") and entity.cte != "x-uuencode":
        if entity.depth >= MAX_DEPTH:
            ctx.note(entity.path, "attached messages nested too deeply; kept as one part")
            return
        if entity.cte in ("base64", "quoted-printable"):
            inner = entity.decoded()
            if not inner.strip():
                return
            entity.message = _parse_message(inner, 0, len(inner), entity.path, entity.depth + 1, ctx)
        else:
            if entity.end <= entity.body_start or not bytes(entity.buf[entity.body_start : entity.body_start + 4096]).strip():
                return
            entity.message = _parse_message(entity.buf, entity.body_start, entity.end, entity.path, entity.depth + 1, ctx)


def find_entity(root: Entity, path: str) -> Entity | None:
    """The entity with this part path (the message/rfc822 part itself wins over its content)."""
    for entity in root.walk():
        if entity.path == path:
            return entity
    return None
