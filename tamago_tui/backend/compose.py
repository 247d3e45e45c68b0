"""Build outgoing messages: new mail, reply, reply-all and forward.

Replies carry In-Reply-To and References (RFC 5322 §3.6.4) and quote the
original text; forwards attach nothing implicitly but quote the original with
its headers. Bcc recipients go only into the envelope, never into the headers.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path

from .errors import UsageError

MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Draft:
    """What a person composes. Addresses are "Name <addr>" or bare strings."""

    sender: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    attachments: tuple[str, ...] = ()  # paths
    # Attachments already in memory (filename, content type, bytes): kept when editing
    # a message from the outbox, so nothing is lost.
    attached: tuple[tuple[str, str, bytes], ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    extra_headers: dict = field(default_factory=dict, compare=False)

    def recipients(self) -> list[str]:
        """Every envelope recipient (To, Cc and Bcc), bare addresses, no duplicates."""
        seen, result = set(), []
        for _, addr in getaddresses(list(self.to) + list(self.cc) + list(self.bcc)):
            if addr and addr.lower() not in seen:
                seen.add(addr.lower())
                result.append(addr)
        return result


def split_addresses(text: str) -> tuple[str, ...]:
    """"a@x, Bob <b@y>; c@z" -> ("a@x", "Bob <b@y>", "c@z"); keeps display names."""
    pairs = getaddresses([text.replace(";", ",")])
    return tuple(formataddr((n, a)) if n else a for n, a in pairs if a)


def _check_address(value: str) -> None:
    _, addr = parseaddr(value)
    local, _, domain = addr.partition("@")
    if not local or not domain or " " in addr:
        raise UsageError(f"{value!r} is not a valid email address.")


def build(draft: Draft, *, domain: str | None = None) -> EmailMessage:
    """An RFC 5322 message ready to send. Raises UsageError for bad input."""
    if not draft.recipients():
        raise UsageError("Add at least one recipient (To, Cc or Bcc).")
    for value in (draft.sender, *draft.to, *draft.cc, *draft.bcc):
        _check_address(value)
    msg = EmailMessage()
    msg["From"] = draft.sender
    if draft.to:
        msg["To"] = ", ".join(draft.to)
    if draft.cc:
        msg["Cc"] = ", ".join(draft.cc)
    msg["Subject"] = draft.subject
    msg["Date"] = formatdate(localtime=True)
    sender_domain = domain or parseaddr(draft.sender)[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=sender_domain)
    if draft.in_reply_to:
        msg["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        msg["References"] = " ".join(draft.references)
    msg["User-Agent"] = "tamago"
    for name, value in draft.extra_headers.items():
        msg[name] = value
    msg.set_content(draft.body or "")
    for path in draft.attachments:
        _attach(msg, Path(path).expanduser())
    for filename, ctype, data in draft.attached:
        maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg


def _attach(msg: EmailMessage, path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"Attachment {path} does not exist or is not a file.")
    size = path.stat().st_size
    if size > MAX_ATTACHMENT_BYTES:
        raise UsageError(f"Attachment {path.name} is {size // (1024 * 1024)} MB; the limit is 100 MB.")
    ctype, encoding = mimetypes.guess_type(path.name)
    if ctype is None or encoding is not None:
        ctype = "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)


# -- replies and forwards ------------------------------------------------------

@dataclass(frozen=True)
class Original:
    """The parts of a received message that replies and forwards need."""

    message_id: str
    subject: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: str
    text: str
    references: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    # The envelope recipients the receiving servers recorded (ENVELOPE_HEADERS), topmost
    # (last added, the final delivery) first: who the mail came to when To and Cc do not say.
    delivered_to: tuple[str, ...] = ()


# Headers in which servers record the envelope recipient: Dovecot's LMTP and LDA add
# Delivered-To, Postfix X-Original-To and Delivered-To, others X-Delivered-To, Exim Envelope-To.
ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "x-delivered-to", "envelope-to")


def envelope_recipients(headers) -> tuple[str, ...]:
    """The bare addresses named in `headers` ((name, value) pairs, in order) by ENVELOPE_HEADERS."""
    found: list[str] = []
    for name, value in headers:
        if name.strip().lower() in ENVELOPE_HEADERS:
            found += [address.strip() for _, address in getaddresses([value]) if "@" in address]
    return tuple(found)


def _angled(message_id: str) -> str:
    message_id = (message_id or "").strip()
    return message_id if not message_id or message_id.startswith("<") else f"<{message_id}>"


def original_from_parsed(parsed) -> Original:
    """The `Original` of a message read by the mime package (a `mime.ParsedMessage`).

    The mime package strips the angle brackets of Message-IDs; In-Reply-To and
    References need them back.
    """
    from .mime import format_address

    date = parsed.date_raw or (parsed.date.strftime("%a, %d %b %Y %H:%M %z") if parsed.date else "")
    return Original(
        message_id=_angled(parsed.message_id),
        subject=parsed.subject,
        sender=format_address(parsed.sender) if parsed.sender else "",
        to=tuple(format_address(a) for a in parsed.to),
        cc=tuple(format_address(a) for a in parsed.cc),
        date=date.strip(),
        text=parsed.text,
        references=tuple(_angled(r) for r in parsed.references),
        reply_to=tuple(format_address(a) for a in parsed.reply_to),
        delivered_to=envelope_recipients(parsed.headers),
    )


_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def _subject(prefix: str, subject: str) -> str:
    return f"{prefix}: {_PREFIX.sub('', subject or '').strip()}"


def quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in (text or "").splitlines())


def _same(a: str, b: str) -> bool:
    return parseaddr(a)[1].lower() == parseaddr(b)[1].lower()


def addressed_as(original: Original, own) -> str:
    """The first of `own` (bare addresses, the main one first) the message was sent to (To,
    then Cc) or, for a message I sent, sent from; "" when none. A reply goes out from it.

    Mail Bcc'd to an alias, or delivered by a mailing list, names none of them: then the
    envelope headers say where it came to. The first alias named there wins over the main
    address, wherever that is: a server that maps an alias onto the mailbox records the
    mailbox (Delivered-To) as well as the alias (X-Original-To). Addresses that are not
    mine (a list's, a forwarding service's) are passed over."""
    mine = [a.strip().lower() for a in own]
    for value in (*original.to, *original.cc, original.sender):
        address = parseaddr(value)[1].strip().lower()
        if address in mine:
            return address
    delivered = [a.lower() for a in original.delivered_to if a.lower() in mine]
    aliases = [a for a in delivered if a != mine[0]]
    return (aliases or delivered or [""])[0]


def reply(original: Original, me: str, *, reply_all: bool = False, own=()) -> Draft:
    """A reply from `me` ("Name <addr>"). `own`: every address of mine (the account's address
    and its aliases); none of them is ever a recipient of a reply-all."""
    mine = {parseaddr(me)[1].lower()} | {a.strip().lower() for a in own}

    def is_mine(value: str) -> bool:
        return parseaddr(value)[1].lower() in mine

    targets = original.reply_to or (original.sender,)
    if is_mine(targets[0]) and original.to:
        targets = original.to  # replying to my own sent message goes to its recipients
    to = tuple(targets)
    if len(to) > 1:  # never to myself as well as to the others
        to = tuple(a for a in to if not is_mine(a)) or to[:1]
    cc: tuple[str, ...] = ()
    if reply_all:
        others = [a for a in (*original.to, *original.cc) if not is_mine(a)]
        cc = tuple(a for a in others if not any(_same(a, t) for t in to))
    refs = tuple(original.references) + ((original.message_id,) if original.message_id else ())
    intro = f"On {original.date}, {original.sender} wrote:" if original.date else f"{original.sender} wrote:"
    return Draft(
        sender=me,
        to=to,
        cc=cc,
        subject=_subject("Re", original.subject),
        body=f"\n\n{intro}\n{quote(original.text)}\n",
        in_reply_to=original.message_id,
        references=refs[-20:],  # keep the header bounded on very long threads
    )


def forward(original: Original, me: str) -> Draft:
    header = [
        "---------- Forwarded message ----------",
        f"From: {original.sender}",
        f"Date: {original.date}",
        f"Subject: {original.subject}",
        f"To: {', '.join(original.to)}",
    ]
    if original.cc:
        header.append(f"Cc: {', '.join(original.cc)}")
    body = "\n\n" + "\n".join(header) + "\n\n" + (original.text or "")
    refs = tuple(original.references) + ((original.message_id,) if original.message_id else ())
    return Draft(sender=me, subject=_subject("Fwd", original.subject), body=body, references=refs[-20:])
