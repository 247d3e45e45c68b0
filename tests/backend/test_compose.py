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
