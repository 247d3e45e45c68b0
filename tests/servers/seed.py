"""Messages to seed the test mailboxes with: generated ones and real ones from tests/data/mime.

Generated messages are deterministic for a given seed: realistic From/To/Cc/Date/
Subject/Message-ID headers, plain and multipart/alternative bodies, attachments
(some with non-ASCII file names), non-ASCII display names and reply threads.

The real corpus is tests/data/mime (attribution in tests/data/mime/SOURCES.md).
IMAP transfers messages with CRLF line ends, so `corpus_message` converts bare
LFs by default; a converted message comes back from Dovecot byte-identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "mime"
_NOT_MESSAGES = re.compile(r"(^|/)(SOURCES\.md|README\.txt|ARTISTIC-LICENSE\.txt|COPYING)$")
BASE_DATE = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Person:
    name: str
    address: str

    def header(self) -> str:
        return formataddr((self.name, self.address))


PEOPLE = (
    Person("Alice Example", "alice@example.test"),
    Person("Bob Builder", "bob@example.test"),
    Person("Carol Jones", "carol@partner.test"),
    Person("Dave O'Neill", "dave@partner.test"),
    Person("Zoë Ångström", "zoe@example.org"),
    Person("Łukasz Wiśniewski", "lukasz@example.net"),
    Person("山田 太郎", "taro@example.com"),
    Person("Support Team", "support@vendor.test"),
    Person("", "noreply@newsletter.test"),
)
SUBJECTS = (
    "Quarterly report", "Lunch on Friday?", "Invoice {n}", "Re: project kickoff",
    "Photos from the trip", "Meeting notes {n}", "Your order has shipped",
    "Café rendez-vous ☕", "Draft contract, please review", "Welcome aboard!",
)
SENTENCES = (
    "Thanks for the quick reply.", "Please find the details below.",
    "Let me know if Tuesday works for you.", "I have attached the latest version.",
    "The numbers look good this quarter.", "Can we move the call to 3 pm?",
    "Ça marche pour moi, à demain.", "Grüße aus Berlin!",
)
ATTACHMENTS = (
    ("report.pdf", "application", "pdf", b"%PDF-1.4\n% tamago test attachment\n%%EOF\n"),
    ("notes.txt", "text", "plain", "plain text attachment\r\n".encode()),
    ("photo.png", "image", "png", bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d4944415478da63f8cfc0f01f0005000201a5f1f4a90000000049454e44ae426082")),
    ("Résumé 2024.txt", "text", "plain", "curriculum vitae\r\n".encode()),
    ("data.csv", "text", "csv", b"name,count\r\nalpha,1\r\nbeta,2\r\n"),
)


@dataclass(frozen=True)
class GeneratedMessage:
    data: bytes
    message_id: str
    subject: str
    sender: Person
    to: tuple[Person, ...]
    cc: tuple[Person, ...]
    date: dt.datetime
    attachments: tuple[str, ...] = ()
    in_reply_to: str | None = None
    flags: tuple[str, ...] = field(default=())


def make_message(*, sender: Person, to: tuple[Person, ...], subject: str, body: str,
                 cc: tuple[Person, ...] = (), date: dt.datetime = BASE_DATE,
                 message_id: str | None = None, html: str | None = None,
                 attachments: tuple[tuple[str, str, str, bytes], ...] = (),
                 in_reply_to: str | None = None, references: tuple[str, ...] = ()) -> bytes:
    """One RFC 5322 message with CRLF line ends. attachments: (filename, maintype, subtype, data)."""
    message = EmailMessage()
    message["From"] = sender.header()
    message["To"] = ", ".join(person.header() for person in to)
    if cc:
        message["Cc"] = ", ".join(person.header() for person in cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id or make_msgid(domain="example.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join((*references, in_reply_to))
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, maintype, subtype, data in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # The email package draws MIME boundaries at random; derive them from the
    # Message-ID so a given seed always gives the same bytes.
    digest = hashlib.sha1(message["Message-ID"].encode()).hexdigest()[:20]
    for number, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_tamago_{digest}_{number}")
    return message.as_bytes(policy=SMTP)


def generate_messages(count: int, *, seed: int = 0, recipient: Person = PEOPLE[0],
                      start: dt.datetime = BASE_DATE, domain: str = "example.test"
                      ) -> list[GeneratedMessage]:
    """`count` varied messages to `recipient`, oldest first, one every 7 hours from `start`.

    About a third carry attachments, a quarter are multipart/alternative, one in
    five replies to an earlier message, and roughly half are marked \\Seen.
    """
    rng = random.Random(seed)
    others = [person for person in PEOPLE if person.address != recipient.address]
    messages: list[GeneratedMessage] = []
    for n in range(1, count + 1):
        sender = rng.choice(others)
        cc = tuple(rng.sample(others, rng.choice((0, 0, 1, 2))))
        cc = tuple(person for person in cc if person != sender)
        date = start + dt.timedelta(hours=7 * (n - 1), minutes=rng.randrange(60))
        message_id = f"<seed{seed}.{n}.{rng.getrandbits(32):08x}@{domain}>"
        parent = rng.choice(messages) if messages and rng.random() < 0.2 else None
        subject = ("Re: " + parent.subject) if parent else \
            rng.choice(SUBJECTS).format(n=1000 + n)
        body = "\n".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 6)))
        body = f"Hello {recipient.name or recipient.address},\n\n{body}\n\n-- \n{sender.name}\n"
        html = (f"<html><body><p>{body.replace(chr(10), '<br>')}</p></body></html>"
                if rng.random() < 0.25 else None)
        attached = tuple(rng.sample(ATTACHMENTS, rng.choice((1, 2)))) \
            if rng.random() < 0.33 else ()
        data = make_message(
            sender=sender, to=(recipient,), cc=cc, subject=subject, body=body, date=date,
            message_id=message_id, html=html, attachments=attached,
            in_reply_to=parent.message_id if parent else None)
        messages.append(GeneratedMessage(
            data=data, message_id=message_id, subject=subject, sender=sender, to=(recipient,),
            cc=cc, date=date, attachments=tuple(name for name, *_ in attached),
            in_reply_to=parent.message_id if parent else None,
            flags=("\\Seen",) if rng.random() < 0.5 else ()))
    return messages


def corpus_files() -> list[Path]:
    """Every message file of the real corpus, sorted (licence and notes files left out)."""
    return sorted(path for path in CORPUS_DIR.rglob("*")
                  if path.is_file()
                  and not _NOT_MESSAGES.search(path.relative_to(CORPUS_DIR).as_posix()))


def to_crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


def corpus_message(relative: str | Path, *, crlf: bool = True) -> bytes:
    """A corpus message by its path under tests/data/mime, e.g. "flanker/multipart.eml"."""
    data = (CORPUS_DIR / relative).read_bytes()
    return to_crlf(data) if crlf else data
