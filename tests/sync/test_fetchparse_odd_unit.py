"""The header sync's fast paths on odd server answers: every shortcut (one-literal
responses, remembered addresses and flag sets, the line-count check of a header
block, whole-hour zones, the JSON of address lists) must give what the general
path gives."""

from __future__ import annotations

import json
import random
import re

import pytest

from tamago_tui.backend import headers as h
from tamago_tui.backend.fetchparse import parse_fetch
from tamago_tui.backend.imapwire import Response
from tamago_tui.backend.index import json_list

ITEMS = (b'RFC822.SIZE 321 INTERNALDATE "02-Apr-2024 17:00:00 +0000" BODYSTRUCTURE ("text" "plain" '
         b'("charset" "utf-8") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)')
FIELDS = b"BODY[HEADER.FIELDS (FROM TO CC BCC DATE SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES)]"


def fetch(block: bytes | None, *, flags: bytes = b"\\Seen", uid: int = 7, after: bytes = b")") -> Response:
    """A FETCH response as the wire reader hands it over; block None: the server sent NIL."""
    head = b"* 1 FETCH (UID %d FLAGS (%s) " % (uid, flags) + ITEMS + b" " + FIELDS
    if block is None:
        return Response(pieces=[head + b" NIL" + after])
    return Response(pieces=[head + b" ", after], literals=[block])


def test_nil_header_block_falls_back_to_internaldate():
    header = parse_fetch(fetch(None))
    assert header.uid == 7 and header.sender is None and header.subject == ""
    assert header.date == "2024-04-02T17:00:00+00:00" and header.size == 321


def test_empty_header_block_and_missing_headers():
    for block in (b"", b"\r\n", b"Subject: only this\r\n\r\n"):
        header = parse_fetch(fetch(block))
        assert header.sender is None and header.to == () and header.message_id == ""
        assert header.date == "2024-04-02T17:00:00+00:00"  # no Date: the INTERNALDATE
    assert parse_fetch(fetch(b"Subject: only this\r\n\r\n")).subject == "only this"


def test_items_after_the_literal_are_still_read():
    # Gmail-style: an item after the header literal, and the BODYSTRUCTURE there too.
    head = b'* 1 FETCH (UID 8 FLAGS () RFC822.SIZE 5 INTERNALDATE "02-Apr-2024 17:00:00 +0000" ' + FIELDS + b" "
    tail = (b' X-GM-MSGID 42 BODYSTRUCTURE ("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 5 NIL '
            b'("attachment" ("filename" "a.pdf")) NIL NIL))')
    header = parse_fetch(Response(pieces=[head, tail], literals=[b"From: a@b.example\r\n\r\n"]))
    assert header.uid == 8 and header.gm_msgid == 42 and header.has_attachments
    assert header.sender == ("", "a@b.example")


def test_eight_bit_and_encoded_headers():
    utf8 = "From: Jürgen Müller <j@example.org>\r\nSubject: Grüße\r\n\r\n".encode()
    latin1 = b"From: Ren\xe9 <rene@example.org>\r\nSubject: caf\xe9\r\n\r\n"  # not UTF-8: the mime parser
    encoded = (b"From: =?iso-8859-1?q?Ren=E9?= <rene@example.org>\r\n"
               b"Subject: =?utf-8?q?caf=C3?= =?utf-8?q?=A9?= ok\r\n\r\n")
    assert parse_fetch(fetch(utf8)).sender == ("Jürgen Müller", "j@example.org")
    assert parse_fetch(fetch(utf8)).subject == "Grüße"
    assert (parse_fetch(fetch(latin1)).sender, parse_fetch(fetch(latin1)).subject) == (
        ("René", "rene@example.org"), "café")
    assert (parse_fetch(fetch(encoded)).sender, parse_fetch(fetch(encoded)).subject) == (
        ("René", "rene@example.org"), "café ok")


def test_folded_repeated_and_oddly_cased_fields():
    block = (b"FROM: Ada <ada@example.org>\r\nto: a@example.org,\r\n\tb@example.org\r\n"
             b"Cc: c@example.org\r\nCC: d@example.org\r\nmessage-id: <x@example.org>\r\n\r\n")
    header = parse_fetch(fetch(block))
    assert header.sender == ("Ada", "ada@example.org")
    assert header.to == (("", "a@example.org"), ("", "b@example.org"))
    assert header.cc == (("", "c@example.org"), ("", "d@example.org"))  # repeated address fields add up
    assert header.message_id == "x@example.org"


def test_flag_sets_are_remembered_without_recent():
    for flags, stored in ((b"\\Seen \\Recent", "\\Seen"), (b"\\Recent", ""), (b"", ""),
                          (b"\\Recent \\Answered $Work", "\\Answered $Work"), (b"\\Seen \\Recent", "\\Seen")):
        assert parse_fetch(fetch(b"From: a@b.example\r\n\r\n", flags=flags)).flags == stored


# -- the well-formed check of a header block ---------------------------------------

WELL_FORMED = re.compile(r"(?:[!-9;-~]+:[^\n]*\n)*(?:\r?\n)?")  # the definition the line count stands for


@pytest.mark.parametrize("block, well_formed", [
    (b"From: a@b.example\r\n\r\n", True),
    (b"From: a@b.example\r\n", True),
    (b"\r\n", True),
    (b"From: a@b.example\r\ngarbage without a colon\r\n\r\n", False),
    (b"From: a@b.example\r\n\r\nTo: after a blank@b.example\r\n", False),
    (b"From: a@b.example", False),  # the last line cut short
    (b"Subject : a blank before the colon\r\n\r\n", False),
    (b"From: a@b.example\r\n\r\n\r\n", False),
])
def test_well_formed_blocks_take_the_fast_path_and_the_rest_the_mime_parser(block, well_formed):
    assert (h.split_fields(block) is not None) is well_formed
    fields = h.index_headers(block)  # either way, an answer
    if b"a@b.example" in block.split(b"\r\n")[0]:
        assert fields.sender == ("", "a@b.example")


def test_the_line_count_check_matches_the_definition_on_random_blocks():
    rng = random.Random(11)
    lines = ["From: a", "To: b", "x", "", "\r", " y", "\tz", "Sub ject: q", "A:", ":", "B: c\r", "\r\r"]
    for _ in range(20_000):
        text = "".join(rng.choice(lines) + rng.choice(("\n", "\r\n")) for _ in range(rng.randrange(5)))
        if text and rng.random() < 0.2:
            text = text[:-1]
        pairs = h._FIELD_LINE.findall(text)
        assert h._every_line_a_field(text, len(pairs)) == bool(WELL_FORMED.fullmatch(text)), repr(text)


# -- remembered addresses ------------------------------------------------------------


def test_remembered_addresses_give_the_same_answers_and_stay_bounded(monkeypatch):
    monkeypatch.setattr(h, "_ADDRESS_CACHE_SIZE", 3)
    values = ['"Doe, Jane" <jane@example.org>', "Ada <ada@example.org>, bob@example.org",
              "undisclosed-recipients:;", "=?utf-8?q?J=C3=BCrgen?= <j@example.org>", "a@b.example (A)",
              "Ada <ada@example.org>, <broken", "Ada <ada@example.org>, bob@example.org"]
    fresh = [tuple(h.parse_addresses(v)) for v in values]
    for _ in range(3):
        assert [h.address_tuple(v) for v in values] == fresh
    assert len(h._ADDRESS_CACHE) <= 3 and len(h._ITEM_CACHE) <= 3


@pytest.mark.parametrize("value", [
    "ada@example.org, Bob",  # "Bob" alone is not an address
    "ada@example.org, (comment) c@example.org",
    "Ada <ada@example.org>, <broken",
])
def test_an_odd_item_sends_the_whole_list_to_the_mime_parser_every_time(value):
    from tamago_tui.backend.mime import parse_address_list

    by_mime = tuple((a.name, a.email) for a in parse_address_list(value) if a.email)
    for _ in range(2):  # the second time with every item remembered
        assert h.address_tuple(value) == by_mime


# -- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("Tue, 2 Apr 2024 10:00:00 -0700", "2024-04-02T17:00:00+00:00"),
    ("Tue, 2 Apr 2024 23:59:59 -0100", "2024-04-03T00:59:59+00:00"),  # the next UTC day
    ("Mon, 1 Jan 2024 00:30 +0100", "2023-12-31T23:30:00+00:00"),  # the year before, no seconds
    ("Thu, 29 Feb 2024 12:00:00 +0530", "2024-02-29T06:30:00+00:00"),  # a half-hour zone
    ("Sat, 31 Dec 2016 23:59:60 +0000", "2017-01-01T00:00:00+00:00"),  # a leap second rolls over
])
def test_dates_in_whole_hour_zones_and_others(value, expected):
    for _ in range(2):  # the second time from the remembered hour
        assert h.parse_date(value) == expected


@pytest.mark.parametrize("value", ["Fri, 30 Feb 2024 12:00:00 +0000", "Tue, 2 Apr 2024 24:00:00 +0000"])
def test_impossible_dates_get_the_mime_parsers_reading(value):
    from tamago_tui.backend.mime import parse_date as mime_date

    parsed = mime_date(value)
    for _ in range(2):
        assert h.parse_date(value) == (h._iso(parsed.timestamp()) if parsed else "")


# -- JSON of address lists --------------------------------------------------------------


def test_json_of_address_lists_is_exactly_what_json_dumps_gives():
    rng = random.Random(5)
    chars = ["a", "é", '"', "\\", "\x00", "\x1f", "\x7f", " ", ",", "\u2028", "😀"]
    for _ in range(5_000):
        pairs = tuple(("".join(rng.choice(chars) for _ in range(rng.randrange(3))),
                       "".join(rng.choice(chars) for _ in range(1, 4))) for _ in range(rng.randrange(4)))
        expected = json.dumps([f"{n} <{a}>" if n else a for n, a in pairs], ensure_ascii=False) if pairs else "[]"
        assert json_list(pairs) == expected
