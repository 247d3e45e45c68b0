"""The header index's fast parser: the common shapes, and agreement with the mime module."""

from __future__ import annotations

import pytest

from tamago_tui.backend import headers as h
from tamago_tui.backend import mime
from tests.servers.seed import corpus_files, corpus_message


def test_common_block():
    block = (b"From: =?utf-8?b?SsO8cmdlbiBNw7xsbGVy?= <J.Mueller@Example.org>\r\n"
             b"To: Jane Doe <jane@example.org>, bob@example.org\r\n"
             b"Cc: Carol <carol@example.org>,\r\n Dave <dave@example.org>\r\n"
             b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Berlin\r\n"
             b"Date: Tue, 2 Apr 2024 10:00:00 -0700\r\n"
             b"Message-ID: <abc@example.org>\r\nIn-Reply-To: <parent@example.org>\r\n"
             b"References: <root@example.org> <parent@example.org>\r\n\r\n")
    got = h.index_headers(block)
    assert got.sender == ("Jürgen Müller", "J.Mueller@Example.org")
    assert got.to == (("Jane Doe", "jane@example.org"), ("", "bob@example.org"))
    assert got.cc == (("Carol", "carol@example.org"), ("Dave", "dave@example.org"))
    assert got.subject == "Grüße aus Berlin"
    assert got.date == "2024-04-02T17:00:00+00:00"
    assert (got.message_id, got.in_reply_to) == ("abc@example.org", "parent@example.org")
    assert got.refs == "root@example.org parent@example.org"


@pytest.mark.parametrize("value, expected", [
    ('"Doe, Jane" <jane@example.org>', [("Doe, Jane", "jane@example.org")]),
    ("undisclosed-recipients:;", []),
    ("Team: a@example.org, b@example.org;", [("", "a@example.org"), ("", "b@example.org")]),
    ("jane@example.org (Jane Doe)", [("Jane Doe", "jane@example.org")]),
])
def test_unusual_address_lists_go_to_the_mime_parser(value, expected):
    assert h.parse_addresses(value) == expected


def test_a_character_split_across_two_encoded_words_survives():
    # "é" is C3 A9 in UTF-8; some mailers cut between the two bytes.
    assert h.decode_words("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=") == "café"


@pytest.mark.parametrize("value, expected", [
    ("Mon, 21 Aug 95 13:30:57 -600", "1995-08-21T19:30:57+00:00"),  # odd zone: the mime parser
    ("21 Aug 2023 13:30 GMT", "2023-08-21T13:30:00+00:00"),
    ("Thu, 01 Feb 2024 23:30:00 -0100 (CET)", "2024-02-02T00:30:00+00:00"),
    ("not a date", ""),
])
def test_dates(value, expected):
    assert h.parse_date(value) == expected


def test_non_utf8_and_garbage_blocks_fall_back_to_the_mime_parser():
    block = b"From: Ren\xe9 <rene@example.org>\r\ngarbage line without a colon\r\nSubject: caf\xe9\r\n\r\n"
    assert h.split_fields(block) is None
    got = h.index_headers(block)
    assert got.sender == ("René", "rene@example.org") and got.subject == "café"


def _mime_view(block: bytes) -> h.IndexHeaders:
    parsed = mime.parse_headers(block)
    pairs = lambda items: tuple((a.name, a.email) for a in items if a.email)  # noqa: E731
    senders = pairs(parsed.from_)
    return h.IndexHeaders(
        sender=senders[0] if senders else None, to=pairs(parsed.to), cc=pairs(parsed.cc), bcc=pairs(parsed.bcc),
        subject=parsed.subject, date=h._iso(parsed.date.timestamp()) if parsed.date else "",
        message_id=parsed.message_id, in_reply_to=parsed.in_reply_to, refs=" ".join(parsed.references),
    )


def test_the_fast_path_agrees_with_the_mime_parser_on_the_whole_corpus():
    """The index and the message viewer must never disagree about who sent what."""
    files = corpus_files()
    assert len(files) > 300
    differences = []
    for path in files:
        raw = corpus_message(path)
        end = raw.find(b"\r\n\r\n")
        block = raw[: end + 4] if end >= 0 else raw
        if h.index_headers(block) != _mime_view(block):
            differences.append(str(path))
    assert differences == []
