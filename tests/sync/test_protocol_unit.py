"""Protocol paths the real Dovecot cannot show, against a scripted peer: Gmail's
X-GM-MSGID, a trickling or silent server, an oversized literal; plus response parsing."""

from __future__ import annotations

import pytest

from tamago_tui.backend.errors import NetworkError
from tamago_tui.backend.history import local_history
from tamago_tui.backend.imap import LiteralTooLarge
from tamago_tui.backend.imapwire import Response, parse_sequence_set, uid_ranges
from tamago_tui.backend.index import HeaderIndex
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.store import Store
from tamago_tui.backend.fetchparse import attachments_in, parse_fetch, parse_search
from tamago_tui.backend.sync import AccountSync

from .fake_imap import FakeServer

HEADER = (b"From: =?utf-8?q?Ada_Lovelace?= <ada@partner.test>\r\nTo: me@gmail.example\r\n"
          b"Subject: No Message-ID here\r\nDate: Tue, 2 Apr 2024 10:00:00 -0700\r\n\r\n")


def gmail_fetch(match) -> bytes:
    # Gmail answers X-GM-MSGID first: the parser must not depend on the item order.
    return (b'* 1 FETCH (X-GM-MSGID 1278455344230334865 UID 1 FLAGS (\\Seen) RFC822.SIZE 1234 '
            b'INTERNALDATE "02-Apr-2024 17:00:00 +0000" BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") '
            b'NIL NIL "7bit" 12 1 NIL NIL NIL) BODY[HEADER.FIELDS (FROM TO CC BCC DATE SUBJECT MESSAGE-ID '
            b'IN-REPLY-TO REFERENCES)] {%d}\r\n' % len(HEADER) + HEADER + b")\r\n")


def gmail_status(match) -> bytes:
    return b'* STATUS "%s" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 11 HIGHESTMODSEQ 5)\r\n' % match.group(1).encode()


GMAIL_REPLIES = {
    r'^STATUS "([^"]+)"': gmail_status,
    r"^EXAMINE": [b"* 1 EXISTS\r\n", b"* OK [UIDVALIDITY 11] ok\r\n", b"* OK [UIDNEXT 2] ok\r\n",
                  b"* OK [HIGHESTMODSEQ 5] ok\r\n"],
    r"^UID SEARCH": b"* SEARCH 1\r\n",
    r"^UID FETCH": gmail_fetch,
}


def gmail_account() -> Account:
    return Account(
        name="gmail", email="me@gmail.example", provider="gmail",
        imap=ServerSettings("imap.gmail.example", 993, Security.SSL, "me@gmail.example"),
        smtp=ServerSettings("smtp.gmail.example", 465, Security.SSL, "me@gmail.example"),
        folders=("[Gmail]/All Mail", "[Gmail]/Important"), backfill_days=3650,
    )


def test_gmail_x_gm_msgid_is_fetched_and_one_message_under_two_labels_counts_once():
    server = FakeServer(GMAIL_REPLIES)
    store = Store(memory=True)
    try:
        wire = server.wire(("IMAP4rev1", "X-GM-EXT-1", "CONDSTORE", "UNSELECT"))
        store.ensure_account("gmail", "me@gmail.example")
        report = AccountSync(gmail_account(), wire, HeaderIndex(store)).run()

        assert report.ok and [f.new for f in report.folders] == [1, 1]
        fetches = [c for c in server.commands if b"UID FETCH" in c]
        assert fetches and all(b"X-GM-MSGID" in c and b"BODY.PEEK[HEADER.FIELDS" in c for c in fetches)
        ids = [r[0] for r in store.db.execute("SELECT gm_msgid FROM messages")]
        assert ids == [1278455344230334865, 1278455344230334865]
        rows = local_history(store, ["ada@partner.test"])
        assert len(rows) == 1  # no Message-ID: X-GM-MSGID merged the two labels
        assert rows[0].message_id == "" and rows[0].date == "2024-04-02T17:00:00+00:00"
        assert rows[0].also_in in (("gmail/[Gmail]/All Mail",), ("gmail/[Gmail]/Important",))
    finally:
        server.close()
        store.close()


def test_without_x_gm_ext_1_no_x_gm_msgid_is_asked_for():
    server = FakeServer(GMAIL_REPLIES)
    store = Store(memory=True)
    try:
        store.ensure_account("gmail", "me@gmail.example")
        AccountSync(gmail_account(), server.wire(("IMAP4rev1", "UNSELECT")), HeaderIndex(store)).run()
        fetches = [c for c in server.commands if b"UID FETCH" in c]
        assert fetches and not any(b"X-GM-MSGID" in c for c in fetches)
    finally:
        server.close()
        store.close()


def test_a_trickling_server_hits_the_command_deadline():
    server = FakeServer({r"^NOOP": b"* OK " + b"x" * 400 + b"\r\n"}, trickle=0.05)
    try:
        wire = server.wire(timeout=0.5)
        with pytest.raises(NetworkError) as caught:
            wire.run(b"NOOP")
        assert caught.value.category == "timeout" and wire.broken
    finally:
        server.close()


def test_a_silent_server_times_out():
    server = FakeServer({}, silent=True)
    try:
        wire = server.wire(timeout=0.3)
        with pytest.raises(NetworkError) as caught:
            wire.run(b"NOOP")
        assert caught.value.category == "timeout"
    finally:
        server.close()


def test_a_literal_over_the_cap_is_refused_before_it_is_read():
    server = FakeServer({r"^UID FETCH": b"* 1 FETCH (UID 1 BODY[] {734003200}\r\n"})
    try:
        wire = server.wire(max_literal=1024 * 1024)
        with pytest.raises(LiteralTooLarge, match="700.0 MB"):
            wire.run(b"UID FETCH 1 (BODY.PEEK[])")
        assert wire.broken
        with pytest.raises(NetworkError):
            wire.run(b"NOOP")  # the stream is out of step: the connection is not reused
    finally:
        server.close()


def test_pipelined_commands_are_one_round_trip():
    server = FakeServer({r'^STATUS "([^"]+)"': gmail_status})
    try:
        wire = server.wire()
        results = wire.pipeline([b'STATUS "A" (MESSAGES)', b'STATUS "B" (MESSAGES)', b'STATUS "C" (MESSAGES)'])
        assert [r.status for r in results] == ["OK"] * 3
        assert [r.untagged[0].text[9:12] for r in results] == [b"\"A\"", b"\"B\"", b"\"C\""]
        assert wire.round_trips == 1 and wire.commands == 3
    finally:
        server.close()


def test_fetch_response_with_a_literal_inside_bodystructure():
    response = Response(
        pieces=[b'* 3 FETCH (UID 9 FLAGS () RFC822.SIZE 10 INTERNALDATE "01-Jan-2024 00:00:00 +0000" '
                b'BODYSTRUCTURE (("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL)("application" "pdf" ("name" ',
                b') NIL NIL "base64" 5 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL) BODY[HEADER.FIELDS (FROM)] ', b")"],
        literals=[b"r\xc3\xa9sum\xc3\xa9.pdf", b"From: a@b.example\r\n\r\n"],
    )
    header = parse_fetch(response)
    assert header.uid == 9 and header.sender == ("", "a@b.example") and header.has_attachments


def test_recent_is_not_stored_as_a_flag():
    response = Response(
        pieces=[b'* 1 FETCH (UID 4 FLAGS (\\Seen \\Recent $Label1) RFC822.SIZE 10 INTERNALDATE '
                b'"01-Jan-2024 00:00:00 +0000" BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL) '
                b"BODY[HEADER.FIELDS (FROM)] ", b")"],
        literals=[b"From: a@b.example\r\n\r\n"],
    )
    assert parse_fetch(response).flags == "\\Seen $Label1"


@pytest.mark.parametrize("structure, expected", [
    (b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL NIL NIL NIL)', False),
    (b'(("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL)("text" "html" NIL NIL NIL "7bit" 1 1 NIL NIL NIL)'
     b' "alternative" NIL NIL NIL NIL)', False),
    (b'(("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL)("application" "pdf" ("name" "a.pdf") NIL NIL '
     b'"base64" 5 NIL ("attachment" ("filename" "a.pdf")) NIL NIL) "mixed" NIL NIL NIL NIL)', True),
    # A signature is not an attachment.
    (b'(("text" "plain" NIL NIL NIL "7bit" 1 1 NIL NIL NIL)("application" "pgp-signature" ("name" '
     b'"signature.asc") NIL NIL "7bit" 5 NIL ("attachment" ("filename" "signature.asc")) NIL NIL) "signed" '
     b'NIL NIL NIL NIL)', False),
    # An inline image referenced by Content-ID is layout, not a file.
    (b'(("text" "html" NIL NIL NIL "7bit" 1 1 NIL NIL NIL)("image" "png" ("name" "logo.png") "<logo@x>" NIL '
     b'"base64" 5 NIL ("inline" NIL) NIL NIL) "related" NIL NIL NIL NIL)', False),
    # An unnamed non-text part still counts.
    (b'("application" "octet-stream" NIL NIL NIL "base64" 100 NIL NIL NIL NIL)', True),
])
def test_attachment_flag_agrees_with_the_mime_rules(structure, expected):
    from imapclient.response_parser import parse_response

    from tamago_tui.backend.mime import has_attachments_from_bodystructure

    text = b"* 1 FETCH (UID 1 BODYSTRUCTURE " + structure + b" BODY[HEADER.FIELDS (FROM)] )"
    assert attachments_in(text) is expected
    parsed = parse_response([b"(BODYSTRUCTURE " + structure + b")"])[0][1]
    from imapclient.response_types import BodyData

    assert has_attachments_from_bodystructure(BodyData.create(parsed)) is expected


def test_search_results_plain_and_esearch():
    plain = Response(pieces=[b"* SEARCH 5 3 9"])
    extended = Response(pieces=[b'* ESEARCH (TAG "tg4") UID ALL 1:3,7,10:11'])
    empty = Response(pieces=[b'* ESEARCH (TAG "tg5") UID'])
    assert parse_search([plain]) == [3, 5, 9]
    assert parse_search([extended]) == [1, 2, 3, 7, 10, 11]
    assert parse_search([empty]) == []


def test_uid_ranges_are_compact_and_round_trip():
    uids = [1, 2, 3, 7, 9, 10, 11, 20]
    assert uid_ranges(uids) == b"1:3,7,9:11,20"
    assert parse_sequence_set(uid_ranges(uids)) == uids
    many = list(range(1, 100_000, 2))  # the worst case: no neighbours at all
    assert len(uid_ranges(many[:2000])) < 16_000  # a chunk stays far below Dovecot's 64 KB line
