"""Messages for the benchmark mailbox, generated fast and deterministically.

The mailbox looks like a busy person's: about 2,000 correspondents with a
long-tailed share of the mail (one of them, `heavy@`, has 10% of it), display
names with and without RFC 2047 encoding, threads with In-Reply-To and
References, 15% of messages with an attachment, and a Sent folder (15%).
Dates spread over the last two years; run.py writes them as Maildir files
whose mtime is the INTERNALDATE.
"""

from __future__ import annotations

import base64
import random
import time

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


def generate(messages: int = 100_000, *, seed: int = 5, correspondents: int = 2000, span_days: int = 730,
             heavy_share: float = 0.10, sent_share: float = 0.15, attachment_share: float = 0.15):
    """Yield (folder, unix time, message bytes), oldest first; folder is "INBOX" or "Sent".

    Exactly `heavy_share` of the messages (10,000 of 100,000) involve heavy@example.com.
    """
    rng = random.Random(seed)
    people = _people(rng, correspondents - 1)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(people))]
    heavy_ids = set(rng.sample(range(messages), round(messages * heavy_share)))
    now = time.time()
    start = now - span_days * 86400
    stamps = sorted(start + rng.random() * (now - start - 3600) for _ in range(messages))
    recent_ids: list[str] = []
    attachment_blob = base64.encodebytes(rng.randbytes(6000)).decode()
    body_words = " ".join(rng.choice(WORDS) for _ in range(400))
    for n, stamp in enumerate(stamps):
        other = HEAVY if n in heavy_ids else rng.choices(people, weights)[0]
        sent = rng.random() < sent_share
        sender, rcpt = (ME, other) if sent else (other, ME)
        cc = [rng.choice(people) for _ in range(rng.choice((0, 0, 0, 1, 2)))]
        subject = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 7))).capitalize()
        if rng.random() < 0.1:
            subject = encode_word(f"{rng.choice(SUBJECT_UNICODE)} {subject}")
        mid = f"<{n}.{rng.getrandbits(40):x}@{sender[1].split('@')[1]}>"
        when = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(stamp))
        headers = [
            "Return-Path: <" + sender[1] + ">",
            f"Received: from mx.example.net (mx.example.net [192.0.2.7]) by mail.example.org "
            f"with ESMTPS id {rng.getrandbits(48):x}; {when}",
            "Date: " + when,
            "From: " + _addr(sender, rng),
            "To: " + _addr(rcpt, rng),
        ]
        if cc:
            headers.append("Cc: " + ",\r\n ".join(_addr(p, rng) for p in cc))
        if sent and rng.random() < 0.05:
            headers.append("Bcc: " + _addr(rng.choice(people), rng))
        headers += ["Subject: " + subject, "Message-ID: " + mid, "MIME-Version: 1.0"]
        if recent_ids and rng.random() < 0.4:
            parent = rng.choice(recent_ids[-50:])
            headers += ["In-Reply-To: " + parent, "References: " + parent]
        recent_ids.append(mid)
        text = body_words[: rng.randrange(300, 2400)]
        if rng.random() < attachment_share:
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
        yield ("Sent" if sent else "INBOX"), stamp, raw
