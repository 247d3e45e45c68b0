import email
from email import policy

import pytest

from tamago_tui.backend.compose import Draft, Original, build, forward, quote, reply, split_addresses
from tamago_tui.backend.errors import UsageError

ORIGINAL = Original(
    message_id="<abc@example.org>",
    subject="Re: Quarterly numbers",
    sender="Jane Doe <jane@example.org>",
    to=("Me <me@example.com>", "bob@example.net"),
    cc=("Carol <carol@example.net>",),
    date="Mon, 2 Nov 2026 10:00:00 +0000",
    text="Hello\n\nHere they are.",
    references=("<root@example.org>",),
)


def test_build_keeps_bcc_out_of_headers_but_in_envelope(tmp_path):
    attachment = tmp_path / "report.pdf"
    attachment.write_bytes(b"%PDF-1.4 fake")
    draft = Draft(sender="Me <me@example.com>", to=("a@example.org",), bcc=("secret@example.org",),
                  subject="Hi", body="Body", attachments=(str(attachment),))
    msg = build(draft)
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert "Bcc" not in parsed and "secret@example.org" not in msg.as_string()
    assert draft.recipients() == ["a@example.org", "secret@example.org"]
    assert parsed["Message-ID"].endswith("@example.com>")
    names = [p.get_filename() for p in parsed.iter_attachments()]
    assert names == ["report.pdf"]


def test_build_rejects_bad_input(tmp_path):
    with pytest.raises(UsageError, match="recipient"):
        build(Draft(sender="me@example.com"))
    with pytest.raises(UsageError, match="not a valid"):
        build(Draft(sender="me@example.com", to=("not an address",)))
    with pytest.raises(UsageError, match="does not exist"):
        build(Draft(sender="me@example.com", to=("a@b.org",), attachments=(str(tmp_path / "nope"),)))


def test_reply_threads_and_quotes():
    draft = reply(ORIGINAL, "Me <me@example.com>")
    assert draft.to == ("Jane Doe <jane@example.org>",)
    assert draft.cc == ()
    assert draft.subject == "Re: Quarterly numbers"
    assert draft.in_reply_to == "<abc@example.org>"
    assert draft.references == ("<root@example.org>", "<abc@example.org>")
    assert "> Here they are." in draft.body and "jane@example.org> wrote:" in draft.body
    msg = build(draft)
    assert msg["In-Reply-To"] == "<abc@example.org>"
    assert msg["References"] == "<root@example.org> <abc@example.org>"


def test_reply_all_excludes_me_and_keeps_others():
    draft = reply(ORIGINAL, "me@EXAMPLE.com", reply_all=True)
    assert draft.to == ("Jane Doe <jane@example.org>",)
    assert draft.cc == ("bob@example.net", "Carol <carol@example.net>")


def test_forward_quotes_original_headers():
    draft = forward(ORIGINAL, "me@example.com")
    assert draft.subject == "Fwd: Quarterly numbers"
    assert draft.to == ()
    assert "From: Jane Doe <jane@example.org>" in draft.body and "Here they are." in draft.body


def test_helpers():
    assert split_addresses("a@x.org, Bob <b@y.org>; c@z.org") == ("a@x.org", "Bob <b@y.org>", "c@z.org")
    assert quote("a\n\nb") == "> a\n>\n> b"


def test_reply_and_forward_from_a_parsed_message():
    from tamago_tui.backend import mime
    from tamago_tui.backend.compose import original_from_parsed

    raw = (
        b"From: Ada Lovelace <ada@example.org>\r\n"
        b"To: Jane <jane@example.org>, Alan <alan@example.org>\r\n"
        b"Cc: grace@example.org\r\n"
        b"Reply-To: engines@example.org\r\n"
        b"Subject: =?utf-8?q?Re=3A_Notes_on_the_Engine_=E2=9C=93?=\r\n"
        b"Date: Mon, 5 Jan 2026 09:30:00 +0000\r\n"
        b"Message-ID: <second@example.org>\r\n"
        b"In-Reply-To: <first@example.org>\r\n"
        b"References: <first@example.org>\r\n"
        b"\r\n"
        b"The engine weaves algebraic patterns.\r\n"
    )
    original = original_from_parsed(mime.parse(raw))
    assert original.message_id == "<second@example.org>"
    assert original.references == ("<first@example.org>",)
    assert original.subject == "Re: Notes on the Engine ✓"

    answer = reply(original, "Jane <jane@example.org>", reply_all=True)
    assert answer.to == ("engines@example.org",)
    # Reply-To wins over From; everyone else but me is copied.
    assert answer.cc == ("Alan <alan@example.org>", "grace@example.org")
    assert answer.subject == "Re: Notes on the Engine ✓"
    assert answer.in_reply_to == "<second@example.org>"
    assert answer.references == ("<first@example.org>", "<second@example.org>")
    assert "On Mon, 5 Jan 2026 09:30:00 +0000, Ada Lovelace <ada@example.org> wrote:" in answer.body
    assert "> The engine weaves algebraic patterns." in answer.body
    msg = build(answer)
    assert msg["In-Reply-To"] == "<second@example.org>"
    assert msg["References"] == "<first@example.org> <second@example.org>"

    onward = forward(original, "jane@example.org")
    assert onward.subject == "Fwd: Notes on the Engine ✓"
    assert onward.to == () and onward.in_reply_to == ""
    assert "From: Ada Lovelace <ada@example.org>" in onward.body
    assert "The engine weaves algebraic patterns." in onward.body
