"""The results of parsing: frozen dataclasses, safe to cache and to pass between threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..models import Address, HeaderSummary
from .addresses import format_address


@dataclass(frozen=True)
class MessageHeaders:
    """What the header block of a message says, decoded."""

    subject: str = ""
    sender: Address | None = None  # the first From address
    from_: tuple[Address, ...] = ()  # every From address (rarely more than one)
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None  # timezone-aware; None when missing or unreadable
    date_raw: str = ""
    message_id: str = ""  # without angle brackets
    in_reply_to: str = ""  # the first id, without angle brackets
    references: tuple[str, ...] = ()
    content_type: str = ""  # of the top-level entity, lower case, e.g. "multipart/mixed"

    def summary(
        self,
        *,
        account: str,
        folder: str,
        uid: int,
        size: int = 0,
        flags: tuple[str, ...] = (),
        has_attachments: bool = False,
    ) -> HeaderSummary:
        """A row for the header index (dates as ISO 8601, addresses as 'Name <addr>')."""
        return HeaderSummary(
            account=account,
            folder=folder,
            uid=uid,
            message_id=self.message_id,
            date=self.date.isoformat() if self.date else "",
            sender=format_address(self.sender) if self.sender else "",
            to=tuple(format_address(a) for a in self.to),
            cc=tuple(format_address(a) for a in self.cc),
            subject=self.subject,
            size=size,
            flags=tuple(flags),
            has_attachments=has_attachments,
        )


@dataclass(frozen=True)
class Attachment:
    """A part a reader may save: a file, an inline image, an attached message, or a
    file found inside a text body (uuencode, yEnc) or a winmail.dat (TNEF)."""

    filename: str  # decoded and stripped of directories; generated when the part has none
    content_type: str
    size: int  # decoded bytes
    part: str  # "1.2" for MIME parts; "1#uu1", "2#tnef1", "1#yenc1" for files found inside one
    inline: bool = False  # meant to be shown in the body (Content-Disposition inline, or in multipart/related)
    content_id: str = ""  # without angle brackets
    is_message: bool = False  # an attached message/rfc822
    disposition: str = ""  # as declared: "attachment", "inline" or ""
    named: bool = True  # False when `filename` was generated
    source: str = "mime"  # "mime", "uuencode", "yenc" or "tnef"
    message: "ParsedMessage | None" = field(default=None, compare=False, repr=False)

    @property
    def embedded(self) -> bool:
        """Part of the body's layout (an inline image referenced by Content-ID), not a file sent along."""
        return self.inline and bool(self.content_id)

    @property
    def is_signature(self) -> bool:
        return self.content_type in SIGNATURE_TYPES


SIGNATURE_TYPES = frozenset(
    {
        "application/pgp-signature",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-keys",
    }
)


@dataclass(frozen=True)
class ParsedMessage(MessageHeaders):
    """A whole message: headers, readable text, attachments, and what was repaired."""

    text: str = ""  # readable text: text/plain preferred, else HTML rendered to text
    html: str = ""  # the HTML body when there is one (for a viewer that renders HTML)
    attachments: tuple[Attachment, ...] = ()
    problems: tuple[str, ...] = ()  # what was wrong and how it was read
    headers: tuple[tuple[str, str], ...] = ()  # every header field, decoded, in order
    size: int = 0  # raw bytes

    @property
    def inline_parts(self) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.inline)

    @property
    def messages(self) -> tuple["ParsedMessage", ...]:
        """Attached messages (message/rfc822), parsed."""
        return tuple(a.message for a in self.attachments if a.message is not None)

    @property
    def has_attachments(self) -> bool:
        """Whether a paperclip is due: files sent along, not inline layout images or signatures."""
        return any(not a.embedded and not a.is_signature for a in self.attachments)

    def attachment(self, part: str) -> Attachment | None:
        for a in self.attachments:
            if a.part == part:
                return a
        return None
