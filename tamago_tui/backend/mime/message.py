"""parse(): a whole message into a ParsedMessage, never raising.

The MIME tree (structure.py) is walked once: text parts become the readable
text, everything else becomes an Attachment. Files hidden inside parts
(uuencode and yEnc in text bodies, files inside winmail.dat) are listed too.
"""

from __future__ import annotations

import html as html_mod
import mimetypes
import mmap
import os
import re
from pathlib import Path

from . import charsets, embedded, tnef
from .addresses import parse_address_list
from .headers import HeaderBlock, decode_header_value, normalize_message_id, parse_date, parse_message_ids, split_header_block
from .html2text import html_to_text
from .model import Attachment, MessageHeaders, ParsedMessage
from .structure import Entity, _Context, guess_type, parse_tree

BODY_TYPES = frozenset({"text/plain", "text/html", "text/enriched", "text/richtext", "text/markdown", "text/x-markdown"})
MESSAGE_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
TEXT_LIMIT = 16 * 1024 * 1024  # decoded bytes of one text part shown; the rest is cut
MMAP_THRESHOLD = 1 << 20

# C0/C1 controls other than tab and newline: never let them reach a terminal.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HEADER_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]+")


# --- headers --------------------------------------------------------------------------------


def clean_header_text(text: str) -> str:
    if _HEADER_CONTROL_RE.search(text):
        text = _HEADER_CONTROL_RE.sub(" ", text)
    return " ".join(text.split()) if "  " in text else text.strip()


def headers_from_block(block: HeaderBlock, content_type: str = "", charset_hint: str | None = None) -> MessageHeaders:
    """The decoded header fields. `charset_hint` (the body's charset) is used for raw
    8-bit header bytes that are not UTF-8."""
    from_ = tuple(parse_address_list(block.raw("from"), charset_hint))
    date_raw = clean_header_text(decode_header_value(block.raw("date"))) if "date" in block else ""
    in_reply_to = parse_message_ids(decode_header_value(block.raw("in-reply-to")) if "in-reply-to" in block else "")
    return MessageHeaders(
        subject=clean_header_text(block.text("subject", charset_hint=charset_hint)),
        sender=_clean_address(from_[0]) if from_ else None,
        from_=tuple(_clean_address(a) for a in from_),
        to=_addresses(block, "to", charset_hint),
        cc=_addresses(block, "cc", charset_hint),
        bcc=_addresses(block, "bcc", charset_hint),
        reply_to=_addresses(block, "reply-to", charset_hint),
        date=parse_date(date_raw),
        date_raw=date_raw,
        message_id=normalize_message_id(block.text("message-id")),
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=parse_message_ids(block.text("references")),
        content_type=content_type,
    )


def _addresses(block: HeaderBlock, name: str, charset_hint: str | None = None):
    values = block.raw_all(name)
    if not values:
        return ()
    result = []
    for value in values:  # a repeated To: header still counts
        result.extend(parse_address_list(value, charset_hint))
    return tuple(_clean_address(a) for a in result)


def _clean_address(address):
    if _HEADER_CONTROL_RE.search(address.name + address.email):
        return type(address)(email=_HEADER_CONTROL_RE.sub("", address.email), name=clean_header_text(address.name))
    return address


def parse_headers(raw: bytes) -> MessageHeaders:
    """The fast path: decode just the header fields the index needs from raw header bytes.

    `raw` may be a header block (as fetched with BODY.PEEK[HEADER] or
    HEADER.FIELDS) or a whole message; parsing stops at the first blank line.
    """
    try:
        block, _ = split_header_block(raw, 0, len(raw))
        content_type = ""
        hint = None
        ct = block.raw("content-type")
        if ct is not None:
            content_type = ct.split(b";", 1)[0].strip().decode("latin-1").lower()
            m = _CHARSET_PARAM_RE.search(ct)
            hint = m.group(1).decode("ascii", "replace") if m else None
        return headers_from_block(block, content_type, hint)
    except Exception:  # a header fast path must not stop a sync
        return MessageHeaders()


_CHARSET_PARAM_RE = re.compile(rb"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def _charset_hint(root: Entity) -> str | None:
    """The charset of the first text part: what a sender of raw 8-bit headers used."""
    for entity in root.walk():
        if entity is not root and entity.message is not None:
            continue
        charset = entity.params.get("charset")
        if charset and entity.maintype == "text":
            return charset
        if entity.depth > root.depth + 3:
            break
    return None


# --- the body walk -----------------------------------------------------------------------------


class _Piece:
    """Readable text from one place in the body: plain text, HTML, or both (alternatives).
    `rich` is text/enriched rendered to text: shown only when neither of the others exists."""

    __slots__ = ("plain", "html", "rich")

    def __init__(self, plain: str | None, html: str | None, rich: str | None = None):
        self.plain = plain
        self.html = html
        self.rich = rich


class _Builder:
    def __init__(self, ctx: _Context, prefix: str):
        self.ctx = ctx
        self.prefix = prefix
        self.attachments: list[Attachment] = []
        self.text_fallbacks: list[Entity] = []  # named text parts, shown when there is no body

    def note(self, path: str, text: str) -> None:
        self.ctx.note(path, text)

    def visit(self, e: Entity, related: bool = False, top: bool = False) -> list[_Piece]:
        if e.is_multipart:
            sub = e.ctype.split("/", 1)[1]
            if sub == "alternative":
                return self._alternative(e)
            if sub == "related":
                root = _related_root(e)
                pieces = self.visit(root)
                for child in e.children:
                    if child is not root:
                        self.visit(child, related=True)
                return pieces
            pieces: list[_Piece] = []
            for child in e.children:
                pieces.extend(self.visit(child, related=related))
            return pieces
        if e.message is not None or e.ctype in MESSAGE_TYPES:
            self._add_message(e)
            return []
        if self._is_body_text(e, related, top):
            return self._text_piece(e)
        self._add_attachment(e, related)
        if e.ctype in BODY_TYPES and not related and e.disposition != "attachment":
            if e.disposition == "inline":
                return self._text_piece(e)  # a named text part meant to be read in place
            self.text_fallbacks.append(e)
        return []

    def _alternative(self, e: Entity) -> list[_Piece]:
        plain = html = rich = None
        fallback: list[_Piece] = []
        for child in e.children:
            pieces = self.visit(child)
            if not pieces:
                continue
            fallback = pieces
            child_plain = "\n\n".join(p.plain for p in pieces if p.plain)
            child_html = "".join(p.html for p in pieces if p.html)
            child_rich = "\n\n".join(p.rich for p in pieces if p.rich)
            if child_plain.strip() and not any(p.html or p.rich for p in pieces):
                plain = child_plain
            if child_html.strip():
                html = child_html
            if child_rich.strip():
                rich = child_rich
        if plain is None and html is None and rich is None:
            return fallback
        return [_Piece(plain, html, rich)]

    def _is_body_text(self, e: Entity, related: bool, top: bool) -> bool:
        if e.ctype not in BODY_TYPES or related:
            return False
        if e.disposition == "attachment":
            return False
        if not top and (e.disp_params.get("filename") or e.params.get("name")):
            return False
        return True

    def _text_piece(self, e: Entity) -> list[_Piece]:
        data = _limited_decoded(e, self)
        if e.ctype == "text/plain" or e.ctype not in ("text/html", "text/enriched", "text/richtext"):
            data = self._extract_embedded(e, data)
        charset = e.params.get("charset")
        if e.ctype == "text/html" and not charset:
            charset = _html_meta_charset(data)
        text, problem = charsets.decode(data, charset)
        if problem:
            self.note(e.path, problem)
        text = _normalize_newlines(text)
        if e.ctype == "text/html":
            return [_Piece(None, text)]
        if e.ctype in ("text/enriched", "text/richtext"):
            return [_Piece(None, None, _enriched_to_text(text))]
        if e.params.get("format", "").lower() == "flowed":
            text = unflow(text, e.params.get("delsp", "").lower() == "yes")
        return [_Piece(text, None)]

    def _extract_embedded(self, e: Entity, data: bytes) -> bytes:
        stripped, files = embedded.extract(data)
        if not files:
            return data
        counters = {"uu": 0, "yenc": 0}
        for f in files:
            counters[f.kind] += 1
            part = f"{e.path}#{f.kind}{counters[f.kind]}"
            name = _safe_filename(f.filename)
            ctype = guess_type(name) if name else None
            self.attachments.append(
                Attachment(
                    filename=name or _generated_name(part, ctype or "application/octet-stream"),
                    content_type=ctype or "application/octet-stream",
                    size=len(f.data),
                    part=part,
                    named=bool(name),
                    source="uuencode" if f.kind == "uu" else "yenc",
                )
            )
        kinds = " and ".join(k for k in ("uu", "yenc") if counters[k])
        self.note(e.path, f"{len(files)} {kinds.replace('uu', 'uuencoded').replace('yenc', 'yEnc')} file(s) found in the text")
        return stripped

    def _attachment_name(self, e: Entity) -> tuple[str, bool]:
        name = _safe_filename(e.disp_params.get("filename") or e.params.get("name") or e.disp_params.get("name") or "")
        if name:
            return name, True
        return _generated_name(e.path, e.ctype), False

    def _add_attachment(self, e: Entity, related: bool) -> None:
        name, named = self._attachment_name(e)
        content_id = normalize_message_id(decode_header_value(e.headers.raw("content-id"))) if "content-id" in e.headers else ""
        inline = e.disposition == "inline" or (related and e.disposition != "attachment")
        is_tnef = e.ctype in ("application/ms-tnef", "application/vnd.ms-tnef") or name.lower() == "winmail.dat"
        if is_tnef and self._add_tnef(e):
            return
        try:
            size = e.decoded_size()
        except Exception:
            size = max(0, e.end - e.body_start)
        self.attachments.append(
            Attachment(
                filename=name,
                content_type=e.ctype,
                size=size,
                part=e.path,
                inline=inline,
                content_id=content_id,
                disposition=e.disposition,
                named=named,
            )
        )

    def _add_tnef(self, e: Entity) -> bool:
        data = e.decoded()
        if not tnef.is_tnef(data):
            self.note(e.path, "winmail.dat is not a TNEF stream; listed as is")
            return False
        content = tnef.read(data)
        if content.problem:
            self.note(e.path, content.problem)
        if not content.files:
            return False
        for i, f in enumerate(content.files, 1):
            name = _safe_filename(f.filename)
            ctype = f.content_type or (guess_type(name) if name else None) or "application/octet-stream"
            part = f"{e.path}#tnef{i}"
            self.attachments.append(
                Attachment(
                    filename=name or _generated_name(part, ctype),
                    content_type=ctype,
                    size=len(f.data),
                    part=part,
                    content_id=f.content_id,
                    named=bool(name),
                    source="tnef",
                )
            )
        self.note(e.path, f"winmail.dat (TNEF) unpacked: {len(content.files)} file(s)")
        return True

    def _add_message(self, e: Entity) -> None:
        nested = None
        if e.message is not None:
            nested = _build(e.message, self.ctx, e.path, raw_size=_message_size(e))
        name = _safe_filename(e.disp_params.get("filename") or e.params.get("name") or "")
        named = bool(name)
        if not name:
            subject = nested.subject if nested is not None else ""
            name = _safe_filename(subject[:80] + ".eml") if subject.strip() else _generated_name(e.path, "message/rfc822")
        self.attachments.append(
            Attachment(
                filename=name,
                content_type=e.ctype if e.ctype in MESSAGE_TYPES else "message/rfc822",
                size=_message_size(e),
                part=e.path,
                inline=e.disposition == "inline",
                content_id="",
                is_message=True,
                disposition=e.disposition,
                named=named,
                message=nested,
            )
        )


def _message_size(e: Entity) -> int:
    try:
        return e.decoded_size()
    except Exception:
        return max(0, e.end - e.body_start)


def _related_root(e: Entity) -> Entity:
    start = normalize_message_id(e.params.get("start", ""))
    if start:
        for child in e.children:
            raw = child.headers.raw("content-id")
            if raw is not None and normalize_message_id(raw.decode("latin-1")) == start:
                return child
    # RFC 2387: the first part, unless the declared root type says otherwise.
    root_type = e.params.get("type", "").strip().lower()
    if root_type and e.children[0].ctype != root_type:
        for child in e.children:
            if child.ctype == root_type:
                return child
    return e.children[0]


def _limited_decoded(e: Entity, builder: _Builder) -> bytes:
    if e.end - e.body_start > TEXT_LIMIT * 2:
        from .transfer import iter_decoded

        out = bytearray()
        for chunk in iter_decoded(e.buf, e.body_start, e.end, e.cte):
            out += chunk
            if len(out) >= TEXT_LIMIT:
                builder.note(e.path, f"text longer than {TEXT_LIMIT // (1024 * 1024)} MB; the rest is not shown")
                break
        return bytes(out[:TEXT_LIMIT])
    return e.decoded()


_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)


def _html_meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET_RE.search(data[:4096])
    return m.group(1).decode("ascii", "replace") if m else None


def _normalize_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL_RE.search(text):
        text = _CONTROL_RE.sub("", text)
    return text


def unflow(text: str, delsp: bool = False) -> str:
    """RFC 3676 format=flowed: join soft-broken lines (those ending in a space)."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0

    def render(depth: int, content: str) -> str:
        return (">" * depth + " " + content) if depth else content

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if pending is not None and depth == pending_depth:
            pending += content
        else:
            if pending is not None:
                out.append(render(pending_depth, pending))
            pending, pending_depth = content, depth
        if not flowed:
            out.append(render(pending_depth, pending))
            pending = None
    if pending is not None:
        out.append(render(pending_depth, pending))
    return "\n".join(out)


def _enriched_to_text(text: str) -> str:
    text = re.sub(r"<param>.*?</param>", "", text, flags=re.S | re.I)
    text = re.sub(r"</?[A-Za-z0-9-]+>", "", text)
    text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)
    return text.replace("<<", "<")


_LEADING_BLANK_LINES_RE = re.compile(r"^(?:[ \t]*\n)+")
_UNSAFE_NAME_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _safe_filename(name: str) -> str:
    """A plain file name: no directories, no control characters, not '.' or '..'."""
    if not name:
        return ""
    name = _UNSAFE_NAME_RE.sub(" ", name)
    name = re.split(r"[/\\]", name)[-1].strip()
    if name in ("", ".", ".."):
        return ""
    if len(name.encode("utf-8")) > 255:
        stem, dot, ext = name.rpartition(".")
        if not dot or len(ext) > 16:
            stem, ext = name, ""
        keep = stem.encode("utf-8")[: 240 - len(ext.encode("utf-8"))].decode("utf-8", "ignore")
        name = keep + ("." + ext if ext else "")
    return name


_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "application/octet-stream": ".bin",
    "image/jpeg": ".jpg",
    "application/pgp-signature": ".asc",
    "application/ms-tnef": ".dat",
}


def _generated_name(path: str, ctype: str) -> str:
    ext = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype, strict=False) or ".bin"
    return f"part-{path.replace('#', '-') or '1'}{ext}"


# --- whole messages ------------------------------------------------------------------------------


def _build(root: Entity, ctx: _Context, prefix: str, raw_size: int) -> ParsedMessage:
    builder = _Builder(ctx, prefix)
    pieces = builder.visit(root, top=True)
    for fallback in builder.text_fallbacks:
        if any((p.plain or "").strip() or (p.html or "").strip() or (p.rich or "").strip() for p in pieces):
            break
        pieces = builder._text_piece(fallback)
    rendered = []
    html_parts = []
    for piece in pieces:
        if piece.plain is not None and piece.plain.strip():
            rendered.append(_LEADING_BLANK_LINES_RE.sub("", piece.plain))
        elif piece.html:
            rendered.append(html_to_text(piece.html))
        elif piece.rich:
            rendered.append(piece.rich)
    if any(p.html for p in pieces):
        for piece in pieces:
            if piece.html:
                html_parts.append(piece.html)
            elif piece.plain:
                html_parts.append("<pre>" + html_mod.escape(piece.plain) + "</pre>")
    text = "\n\n".join(r.rstrip() for r in rendered if r.strip())
    hint = _charset_hint(root)
    headers = headers_from_block(root.headers, root.ctype, hint)
    all_headers = tuple((name, clean_header_text(decode_header_value(value, hint))) for name, value in root.headers.fields)
    mine = ctx.problems
    if prefix:
        mine = [p for p in ctx.problems if p.startswith((f"part {prefix}.", f"part {prefix}:"))]
    return ParsedMessage(
        **{f: getattr(headers, f) for f in headers.__dataclass_fields__},
        text=text,
        html="".join(html_parts),
        attachments=tuple(builder.attachments),
        problems=tuple(mine),
        headers=all_headers,
        size=raw_size,
    )


def parse(raw: bytes) -> ParsedMessage:
    """Parse a whole message. Never raises: on a catastrophic failure the result has the
    headers read best effort, the raw text as its text, and a problem saying so."""
    return _parse_buffer(raw)


def _parse_buffer(buf) -> ParsedMessage:
    try:
        root, problems = parse_tree(buf)
        ctx = _Context()
        ctx.problems = problems
        return _build(root, ctx, "", len(buf))
    except Exception as exc:  # the viewer must always get something to show
        return _fallback(buf, exc)


def _fallback(buf, exc: BaseException) -> ParsedMessage:
    raw = bytes(buf[: 64 * 1024 * 1024])
    headers = parse_headers(raw[: 256 * 1024])
    return ParsedMessage(
        **{f: getattr(headers, f) for f in headers.__dataclass_fields__},
        text=raw_text(raw),
        problems=(f"could not read the message structure ({type(exc).__name__}: {exc}); showing the raw message",),
        size=len(buf),
    )


def parse_file(path: str | os.PathLike) -> ParsedMessage:
    """Parse a message file. Large files are memory-mapped rather than read into memory.
    Raises OSError only for a file that cannot be opened."""
    path = Path(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < MMAP_THRESHOLD:
            return parse(fh.read())
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return _parse_buffer(mapped)


def raw_text(raw: bytes) -> str:
    """The raw message as text, safe to print: each line UTF-8 or else Windows-1252, with
    control characters shown as visible symbols instead of reaching the terminal."""
    raw = bytes(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "\n".join(charsets.decode_loose(line) for line in raw.split(b"\n"))
    text = text.replace("\r\n", "\n")
    return _RAW_CONTROL_RE.sub(_visible_control, text)


_RAW_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible_control(m: re.Match) -> str:
    code = ord(m.group(0))
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ ␛ ...
    return "\u2421" if code == 0x7F else "\ufffd"


__all__ = ["parse", "parse_file", "parse_headers", "raw_text", "headers_from_block", "unflow"]
