"""Write a large Maildir quickly: files straight to disk, no IMAP APPEND.

The mailbox looks like a busy person's: about 2,000 correspondents with a
long-tailed share of the mail (one of them, `heavy@`, has 10% of it), display
names with and without RFC 2047 encoding, threads with In-Reply-To and
References, 15% of messages with an attachment, and a Sent folder. Each file's
mtime is its INTERNALDATE, spread over the last two years.
"""

from __future__ import annotations

import base64
import os
import random
import socket
import time
from dataclasses import dataclass
from pathlib import Path

FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "John",
         "Radia", "Edsger", "Hedy", "Donald", "Sophie", "Tim", "Katherine", "Niklaus", "Annie", "Guido",
         "Zoë", "Jürgen", "François", "Søren", "Łukasz", "Chloé", "José", "Björn", "Renée", "Ignác"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
        "Allen", "McCarthy", "Perlman", "Dijkstra", "Lamarr", "Knuth", "Wilson", "Berners-Lee",
        "Johnson", "Wirth", "Easley", "van Rossum", "Müller", "Øster", "Dvořák", "Núñez", "Straße"]
DOMAINS = ["example.org", "example.com", "example.net", "mail.example", "corp.example", "lab.example"]
WORDS = ("invoice meeting agenda report draft quarterly budget review proposal contract update "
         "schedule release notes minutes design feedback question follow-up shipment order "
         "planning offsite lunch travel expenses kickoff roadmap retro hiring interview").split()
SUBJECT_UNICODE = ["Réunion", "Überprüfung", "Año nuevo", "Предложение", "会議の議題", "Grüße"]
ME = ("Jane Doe", "jane@example.org")
HEAVY = ("Heavy Correspondent", "heavy@example.com")


@dataclass(frozen=True)
class Mailbox:
    inbox: int
    sent: int
    heavy: int
    with_attachments: int


def encode_word(text: str) -> str:
    if text.isascii():
        return text
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    people = set()
    while len(people) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}{rng.randrange(1000)}".lower().encode("ascii", "ignore").decode()
        local = local.replace(" ", "").replace("-", "") or "x"
        people.add((f"{first} {last}", f"{local}@{rng.choice(DOMAINS)}"))
    return sorted(people)


def _addr(person: tuple[str, str], rng: random.Random) -> str:
    name, email = person
    roll = rng.random()
    if roll < 0.1:
        return email
    if roll < 0.2:
        return f'"{encode_word(name)}" <{email}>' if not name.isascii() else f'"{name}" <{email}>'
    return f"{encode_word(name)} <{email}>"


def write_maildir(root: Path, messages: int = 100_000, *, seed: int = 5, uid: int | None = None,
                  gid: int | None = None, correspondents: int = 2000, span_days: int = 730) -> Mailbox:
    """Create `root` (a Maildir with INBOX and .Sent) holding `messages` messages."""
    rng = random.Random(seed)
    people = _people(rng, correspondents - 1) + [HEAVY]
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(people) - 1)]
    heavy_share = 0.10
    folders = {"": root, "Sent": root / ".Sent"}
    for folder in folders.values():
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0] or "bench"
    now = time.time()
    start = now - span_days * 86400
    stamps = sorted(start + rng.random() * (now - start) for _ in range(messages))
    recent_ids: list[str] = []
    counts = {"inbox": 0, "sent": 0, "heavy": 0, "att": 0}
    attachment_blob = base64.encodebytes(rng.randbytes(6000)).decode()
    body_words = " ".join(rng.choice(WORDS) for _ in range(400))
    for n, stamp in enumerate(stamps):
        heavy = rng.random() < heavy_share
        other = HEAVY if heavy else rng.choices(people[:-1], weights)[0]
        sent = rng.random() < 0.15
        counts["heavy"] += heavy
        sender, rcpt = (ME, other) if sent else (other, ME)
        cc = [rng.choice(people[:-1]) for _ in range(rng.choice((0, 0, 0, 1, 2)))]
        subject = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 7))).capitalize()
        if rng.random() < 0.1:
            subject = encode_word(f"{rng.choice(SUBJECT_UNICODE)} {subject}")
        mid = f"<{n}.{rng.getrandbits(40):x}@{sender[1].split('@')[1]}>"
        headers = [
            "Return-Path: <" + sender[1] + ">",
            "Received: from mx.example.net (mx.example.net [192.0.2.7]) by mail.example.org "
            f"with ESMTPS id {rng.getrandbits(48):x}; " + time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(stamp)),
            "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(stamp)),
            "From: " + _addr(sender, rng),
            "To: " + _addr(rcpt, rng),
        ]
        if cc:
            headers.append("Cc: " + ",\r\n ".join(_addr(p, rng) for p in cc))
        if sent and rng.random() < 0.05:
            headers.append("Bcc: " + _addr(rng.choice(people[:-1]), rng))
        headers += ["Subject: " + subject, "Message-ID: " + mid, "MIME-Version: 1.0"]
        if recent_ids and rng.random() < 0.4:
            parent = rng.choice(recent_ids[-50:])
            headers += ["In-Reply-To: " + parent, "References: " + parent]
        recent_ids.append(mid)
        text = body_words[: rng.randrange(300, 2400)]
        if rng.random() < 0.15:
            counts["att"] += 1
            boundary = f"b{n:x}"
            headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
            body = (
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                f"--{boundary}\r\nContent-Type: application/pdf; name=\"report-{n}.pdf\"\r\n"
                f"Content-Disposition: attachment; filename=\"report-{n}.pdf\"\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n"
                f"{attachment_blob[: rng.randrange(1000, len(attachment_blob))]}\r\n--{boundary}--\r\n"
            )
        else:
            headers.append("Content-Type: text/plain; charset=utf-8")
            body = text + "\r\n"
        raw = ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
        folder = folders["Sent" if sent else ""]
        counts["sent" if sent else "inbox"] += 1
        name = f"{int(stamp)}.M{n}P{os.getpid()}.{host},S={len(raw)}:2,S"
        path = folder / "cur" / name
        with open(path, "wb") as handle:
            handle.write(raw)
        os.utime(path, (stamp, stamp))
        if uid is not None:
            os.chown(path, uid, gid if gid is not None else uid)
    if uid is not None:
        for dirpath, dirnames, _ in os.walk(root):
            os.chown(dirpath, uid, gid if gid is not None else uid)
    return Mailbox(counts["inbox"], counts["sent"], counts["heavy"], counts["att"])


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    t0 = time.perf_counter()
    box = write_maildir(target, count, uid=8, gid=8)
    print(box, f"{time.perf_counter() - t0:.1f}s")
