"""The MIME parser against the real-world corpus in tests/data/mime (see its SOURCES.md).

Expected values were read off the raw files. Where a test notes what Python's
`email` package (policy=default, 3.11) returns instead, that is why the case is here;
only tamago's result is asserted.
"""

from __future__ import annotations

import base64
import hashlib
import random
import struct
import tracemalloc
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tamago_tui.backend import mime
from tamago_tui.backend.errors import NotFound, UsageError
from tamago_tui.backend.mime import charsets, tnef, transfer
from tamago_tui.backend.mime.headers import parse_params
from tamago_tui.backend.models import Address, HeaderSummary

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mime"
ALL_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file())


def load(name: str) -> mime.ParsedMessage:
    return mime.parse((CORPUS / name).read_bytes())


def raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def names(message: mime.ParsedMessage) -> list[str]:
    return [a.filename for a in message.attachments]


# --- every file -----------------------------------------------------------------------------


def test_corpus_is_complete():
    messages = [p for p in ALL_FILES if p.name not in ("SOURCES.md", "COPYING", "README.txt", "ARTISTIC-LICENSE.txt")]
    assert len(messages) == 400


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_parses(path):
    data = path.read_bytes()
    message = mime.parse(data)
    assert isinstance(message, mime.ParsedMessage)
    assert not any("could not read the message structure" in p for p in message.problems)
    assert message.size == len(data)
    assert isinstance(message.text, str)
    for attachment in message.attachments:
        assert attachment.size >= 0
        assert attachment.filename and "/" not in attachment.filename and "\\" not in attachment.filename
        assert attachment.part
    # Control characters never reach a terminal.
    assert not any(ord(c) < 32 and c not in "\t\n" for c in message.text + message.subject)
    assert mime.raw_text(data)
    assert isinstance(mime.parse_headers(data), mime.MessageHeaders)


def test_parse_file_matches_parse_for_a_memory_mapped_file():
    path = CORPUS / "mimekit/tnef/rich-text.eml"  # over 1 MB: parse_file maps it
    assert path.stat().st_size > 1024 * 1024
    from_file = mime.parse_file(path)
    from_bytes = mime.parse(path.read_bytes())
    assert from_file == from_bytes
    assert from_file.subject == "Rich Text"


def test_truncated_and_mangled_corpus_messages_never_raise():
    rng = random.Random(5)
    samples = rng.sample(ALL_FILES, 40)
    for path in samples:
        data = path.read_bytes()
        for cut in (1, len(data) // 3, len(data) // 2, len(data) - 1):
            assert isinstance(mime.parse(data[:cut]), mime.ParsedMessage)
        mangled = bytearray(data)
        for _ in range(20):
            if mangled:
                mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        assert isinstance(mime.parse(bytes(mangled)), mime.ParsedMessage)


def test_catastrophic_failure_returns_headers_and_raw_text(monkeypatch):
    from tamago_tui.backend.mime import message as message_mod

    def explode(*_args, **_kwargs):
        raise RecursionError("boom")

    monkeypatch.setattr(message_mod, "parse_tree", explode)
    parsed = mime.parse(b"Subject: still here\r\nFrom: A <a@example.com>\r\n\r\nbody \x1b[31mred\r\n")
    assert parsed.subject == "still here"
    assert parsed.sender == Address("a@example.com", "A")
    assert "body" in parsed.text and "\x1b" not in parsed.text
    assert parsed.problems and "RecursionError" in parsed.problems[0]


def test_empty_and_binary_input():
    assert mime.parse(b"").text == ""
    assert mime.parse(b"\x00\xff\xfe" * 100).problems
    deep = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" * 3000
    assert isinstance(mime.parse(deep), mime.ParsedMessage)


def test_deeply_nested_message_is_cut_not_crashed():
    parsed = load("mimekit/messages/stack-overflow.txt")
    assert parsed.subject == "Message Subject"
    assert parsed.text == "Message Body"


# --- charsets -------------------------------------------------------------------------------


def test_text_labelled_us_ascii_that_is_utf8():
    parsed = load("enmime/low-quality/incorrect-charset.raw")
    assert "∮ E⋅da = Q,  n → ∞, ∑ f(i) = ∏ g(i)" in parsed.text
    assert any("was UTF-8" in p for p in parsed.problems)


def test_unknown_charset_names_fall_back():
    # Python: get_content() raises LookupError: unknown encoding: fakescii
    parsed = load("enmime/low-quality/unk-charset-part.raw")
    assert parsed.text == "A text section"
    # Python: LookupError for charset="charset=us-askey"
    parsed = load("enmime/mail/html-mime-bad-unknown-charset-inline.raw")
    assert parsed.text == "Test of text section"


def test_charset_alias_python_does_not_know():
    # Python: "���� '��� �� ����': Invoice 02722027" (iso-8859-8-i is unknown to it).
    parsed = load("php-mime-mail-parser/issue149")
    assert parsed.subject == "מענה 'אני לא נמצא': Invoice 02722027"


def test_iso_2022_jp_with_microsoft_extensions():
    # Python leaves the encoded word as is: NEC row 13 ('№') is not in its iso-2022-jp codecs.
    parsed = load("php-mime-mail-parser/issue116")
    assert parsed.subject == "ЖД№41 от 28.09.2016"


def test_korean_ks_c_5601_body():
    assert load("mikel-mail/multi_charset/ks_c_5601-1987.eml").text == "스티해"


def test_japanese_iso_2022_and_shift_jis():
    assert load("mikel-mail/multi_charset/japanese_iso_2022.eml").text == "すみません。"
    parsed = load("mikel-mail/multi_charset/japanese_shift_jis.eml")
    assert parsed.text.startswith("あいうえお\n\nこのメールはテスト用のメールです。")


@pytest.mark.parametrize(
    "label, codec",
    [
        ("windows-874", "cp874"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("unicode-1-1-utf-7", "utf-7"),
        ("x-mac-cyrillic", "mac-cyrillic"),
        ("ks_c_5601-1987", "cp949"),
        ("iso-8859-1", "cp1252"),
        ('"windows-1251"', "cp1251"),
        ("3Dutf-8", "utf-8"),
        ("x-unknown", None),
        ("unknown-8bit", None),
        ("base64", None),
        ("", None),
    ],
)
def test_charset_lookup(label, codec):
    assert charsets.lookup(label) == codec


def test_decode_fallback_order():
    assert charsets.decode("Grüße".encode("utf-8"), "iso-8859-1") == ("Grüße", "text labelled 'iso-8859-1' was UTF-8")
    assert charsets.decode("Grüße".encode("cp1252"), None)[0] == "Grüße"
    assert charsets.decode("Grüße".encode("cp1252"), "utf-8")[0] == "Grüße"
    assert charsets.decode("ทดสอบ".encode("cp874"), "windows-874") == ("ทดสอบ", None)
    assert charsets.decode(b"Hi Mom -+Jjo--!", "unicode-1-1-utf-7") == ("Hi Mom -☺-!", None)
    assert charsets.decode(b"caf\xe9 \x81", "x-unknown")[0] == "caf\xe9 \x81"  # cp1252 with Latin-1 for the gap
    # A UTF-8 name cut in the middle of its last character keeps its UTF-8 part.
    assert charsets.decode_loose("Привет".encode("utf-8")[:-1]) == "ПривеÑ"


# --- headers: RFC 2047, 8-bit, garbage ------------------------------------------------------


def test_adjacent_encoded_words_split_inside_a_character():
    # Python: 'ФГУП "СибНИА им.С.А.Чаплы гина""' (a space inserted between the two words).
    parsed = load("php-mime-mail-parser/m0124")
    assert parsed.sender == Address("user@domain.ru", 'ФГУП "СибНИА им.С.А.Чаплыгина""')


def test_encoded_words_split_mid_word():
    # Python: 'MySurvey .com & C arol Ada ms'
    parsed = load("mikel-mail/error_emails/bad_subject.eml")
    assert parsed.sender == Address("carol@mysurvey.com", "MySurvey.com & Carol Adams")


def test_encoded_word_inside_quoted_display_name():
    parsed = load("flanker/enclosed.eml")
    assert parsed.to == (Address("bob@example.com", "Александр Клижентас☯"),)
    assert load("enmime/mail/qp-utf8-header.raw").to == (Address("marczak@inbucket.com", "Mirosław Marczak"),)


def test_8bit_latin1_display_name():
    # Python: 'Ingo L\udcfctkebohle'
    assert load("flanker/from-encoding.eml").sender == Address("ingo@blank.pages.de", "Ingo Lütkebohle")


def test_8bit_subject_in_windows_1252():
    # Python: 'Forma��o FrenetikPolis: Mega Campanha Final Ver�o | Cursos de Setembro'
    parsed = load("mikel-mail/error_emails/invalid_subject_characters.eml")
    assert parsed.subject == "Formação FrenetikPolis: Mega Campanha Final Verão | Cursos de Setembro"
    # Python: 'Forget Asking For A Link Exchange�'
    assert load("flanker/spam/broken-headers.eml").subject == "Forget Asking For A Link Exchange…"


def test_utf8_headers_rfc6532():
    parsed = load("mikel-mail/rfc6532/utf8_headers.eml")
    assert parsed.subject == "Säying Hello"
    assert parsed.sender == Address("jdöe@mächine.example", "Jöhn Doe")


def test_garbage_header_line_is_skipped():
    # Python: subject and sender both missing (the garbage line ends its header block).
    parsed = load("mikel-mail/plain_emails/raw_email_incorrect_header.eml")
    assert parsed.subject == "Stop adware/spyware once and for all."
    assert parsed.sender == Address("xxx@xxx.xxx", "xxx xxx")
    assert parsed.text.startswith("You are infected with:")
    assert any("garbage header line" in p for p in parsed.problems)


def test_obsolete_header_syntax():
    # Python: no subject (the folded blank line and the spaces before ':').
    parsed = load("james-mime4j/testmsgs/obsolete.msg")
    assert parsed.subject == "The obsolete syntax allow spaces before the colon and also empty lines in folding."
    assert parsed.date is None and parsed.date_raw == "Malformed Date."
    assert parsed.text == "body"


def test_indented_first_header_line():
    # Python: From is missing (FirstHeaderLineIsContinuationDefect).
    parsed = load("enmime/low-quality/bad-header-start.raw")
    assert parsed.sender == Address("james@makita.skynet", "James Hillyerd")
    assert parsed.subject == "plain text"


def test_byte_order_mark_before_the_headers():
    # Python: no headers at all; everything is body.
    parsed = load("mimekit/messages/feedback-report.txt")
    assert parsed.subject == "FW: Earn money"
    assert parsed.sender == Address("abusedesk@example.com")


def test_display_name_with_at_sign():
    # Python: addr_spec 'jang.abcdef@xyzlinu' (the display name taken as the address).
    parsed = load("mimekit/messages/issue358.txt")
    assert parsed.sender == Address("jang.abcdef@xyzlinux12345678.it", "jang.abcdef@xyzlinu")
    assert mime.format_address(parsed.sender) == '"jang.abcdef@xyzlinu" <jang.abcdef@xyzlinux12345678.it>'


def test_two_mailboxes_without_a_comma():
    # Python: only the first one.
    parsed = load("enmime/mail/malformed-multiple-address-header-values.raw")
    assert parsed.from_ == (Address("bob@extern", "Bob Dunite"), Address("bobby@extern", "Bobby Dunite"))


def test_whitespace_only_line_ends_headers_when_body_follows():
    parsed = load("james-mime4j/mimetools-testmsgs/hdr-fakeout.msg")
    assert parsed.subject == "test message 1"
    assert parsed.text.startswith('The header is not properly terminated; the "blank line"')


def test_no_blank_line_before_body():
    parsed = load("cpython/msg_35.txt")
    assert parsed.subject == "here's something interesting"
    assert parsed.text == "counter to RFC 2822, there's no separating newline here"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=?utf-8?Q?caf=C3=A9?=", "café"),
        ("=?utf-8?B?Y2Fmw6k?=", "café"),  # missing padding
        ("=?utf-8?B?Y2Fm?= =?utf-8?B?w6k=?=", "café"),  # whitespace between words is dropped
        ("=?utf-8?B?Y2Fmw6k=?==?utf-8?Q?_au_lait?=", "café au lait"),  # touching words
        ("x=?utf-8?Q?y?=z", "xyz"),  # a word inside a word
        ("=?utf-8*en?Q?hello?=", "hello"),  # RFC 2231 language tag
        ('"=?utf-8?Q?Jos=C3=A9?=" <j@x>', '"José" <j@x>'),  # inside a quoted string
        ("=?iso-8859-1?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"),  # labelled Latin-1, really UTF-8
        ("=?x-unknown?Q?caf=E9?=", "café"),  # unknown label: UTF-8, then Windows-1252
        ("=?utf-8?Q?a_b?= plain =?utf-8?Q?c?=", "a b plain c"),
        ("=?broken", "=?broken"),
        (b"Caf\xe9 au lait", "Café au lait"),
        (b"line\r\n folded", "line folded"),
        (None, ""),
    ],
)
def test_decode_header_value(value, expected):
    assert mime.decode_header_value(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("a@b.c", [Address("a@b.c")]),
        ("Anne <a@b.c>, b@b.c", [Address("a@b.c", "Anne"), Address("b@b.c")]),
        ('"Doe, John" <j@x.y>', [Address("j@x.y", "Doe, John")]),
        ("=?utf-8?Q?Doe,_John?= <j@x.y>", [Address("j@x.y", "Doe, John")]),
        ("j@x.y (John Doe)", [Address("j@x.y", "John Doe")]),
        ("undisclosed-recipients:;", []),
        ("Team: a@x.y, b@x.y;, c@x.y", [Address("a@x.y"), Address("b@x.y"), Address("c@x.y")]),
        ("a@x.y; b@x.y", [Address("a@x.y"), Address("b@x.y")]),
        (", a@x.y,, ", [Address("a@x.y")]),
        ("<mailto:a@x.y>", [Address("a@x.y")]),
        ("'a@x.y' <a@x.y>", [Address("a@x.y")]),
        ('"Quote \\"Me\\"" <q@x.y>', [Address("q@x.y", 'Quote "Me"')]),
        ("Broken <a@x.y", [Address("a@x.y", "Broken")]),
        (b"J\xf6rn <j@x.y>", [Address("j@x.y", "Jörn")]),
        ("", []),
    ],
)
def test_parse_address_list(value, expected):
    assert mime.parse_address_list(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Thu, 18 Oct 2012 22:48:39 -0700", datetime(2012, 10, 18, 22, 48, 39, tzinfo=timezone(timedelta(hours=-7)))),
        ("18 Oct 2012 22:48:39 +0200", datetime(2012, 10, 18, 22, 48, 39, tzinfo=timezone(timedelta(hours=2)))),
        ("Thu, 18 Oct 12 22:48 GMT", datetime(2012, 10, 18, 22, 48, tzinfo=timezone.utc)),
        ("Thu, 18 Oct 2012 22:48:39 -0700 (PDT)", datetime(2012, 10, 18, 22, 48, 39, tzinfo=timezone(timedelta(hours=-7)))),
        ("Thu, 18 Oct 2012 22:48:39 GMT+0200", datetime(2012, 10, 18, 22, 48, 39, tzinfo=timezone(timedelta(hours=2)))),
        ("Thu, 18 Oct 2012 22:48:39", datetime(2012, 10, 18, 22, 48, 39, tzinfo=timezone.utc)),
        ("Thu, 18 Oct 2012 22:48:39 XYZ", datetime(2012, 10, 18, 22, 48, 39, tzinfo=timezone.utc)),
        ("2012-10-18T22:48:39Z", datetime(2012, 10, 18, 22, 48, 39, tzinfo=timezone.utc)),
        ("Thu, 31 Feb 2012 10:00:00 +0000", datetime(2012, 2, 29, 10, 0, tzinfo=timezone.utc)),
        ("Malformed Date.", None),
        ("", None),
    ],
)
def test_parse_date(value, expected):
    assert mime.parse_date(value) == expected


def test_dates_are_aware_and_raw_is_kept():
    parsed = load("mikel-mail/error_emails/content_transfer_encoding_with_8bits.eml")
    assert parsed.date_raw == "Tue, 04 Dec 2001 17:11:25 -0459"
    assert parsed.date == datetime(2001, 12, 4, 17, 11, 25, tzinfo=timezone(-timedelta(hours=4, minutes=59)))


def test_message_ids_and_references():
    parsed = mime.parse(
        b"Message-ID:  <abc@x.y> \r\nIn-Reply-To: <p@x.y> (comment)\r\n"
        b"References: <r1@x.y>\r\n <r2@x.y> <r1@x.y>\r\n\r\nhi"
    )
    assert parsed.message_id == "abc@x.y"
    assert parsed.in_reply_to == "p@x.y"
    assert parsed.references == ("r1@x.y", "r2@x.y")


# --- parameters and file names --------------------------------------------------------------


def test_rfc2231_charset_and_language():
    parsed = load("james-mime4j/mimetools-testmsgs/attachment-filename-encoding-Latin1.msg")
    assert names(parsed) == ["attachment.äöü"]
    parsed = load("mikel-mail/attachment_emails/attachment_with_quoted_filename.eml")
    assert names(parsed) == ["Eelanalüüsi päring.jpg"]


def test_rfc2231_continuations():
    parsed = load("mikel-mail/multi_charset/japanese_attachment_long_name.eml")
    assert names(parsed) == ["かきくけこかきくけこかきくけこかきくけこかきくけこ.txt"]


def test_encoded_word_in_unquoted_filename():
    # Python: get_filename() is None.
    parsed = load("james-mime4j/mimetools-testmsgs/russian.msg")
    assert names(parsed) == ["Список.doc"]
    parsed = load("mikel-mail/attachment_emails/attachment_with_base64_encoded_name.eml")
    assert names(parsed) == ["This is a test.pdf"]
    assert parsed.attachments[0].content_type == "application/pdf"


def test_unquoted_filename_with_spaces():
    # Python: 'This'
    assert names(load("mikel-mail/attachment_emails/attachment_with_unquoted_name.eml")) == ["This is a test.txt"]


def test_encoded_words_inside_a_filename_and_no_directories():
    # Python: '/evil/because:ofpath3d-=?ISO-8859-1?Q?=63?=om=?US-ASCII*EN?Q?pr?=ess.gif'
    parsed = load("james-mime4j/mimetools-testmsgs/multi-2evil.msg")
    assert names(parsed)[0] == "because:ofpath3d-compress.gif"
    # Python: '1234/../../1234.txt'
    assert names(load("php-mime-mail-parser/m0027")) == ["1234.txt"]


def test_filename_in_a_header_charset_python_cannot_decode():
    # Python: encoded word ks_c_5601-1987 decodes only as EUC-KR; here it is CP949 text.
    parsed = load("php-mime-mail-parser/m0018")
    assert names(parsed) == ["사진.JPG", "ATT00001.txt"]


def test_raw_8bit_filename():
    assert names(load("enmime/mail/mime-bad-8bit-filename.raw")) == ["管理.doc"]


def test_empty_disposition_keeps_its_filename():
    # Python: no filename ('Content-Disposition: ;' then a folded filename).
    assert names(load("stalwart-mail-parser/malformed/017.eml")) == ["image001.png"]


def test_filename_with_a_newline_inside_an_encoded_word():
    assert names(load("php-mime-mail-parser/issue250")) == ["Kontoutskrift for 1506.14.90466 Bedriftskonto.pdf"]


def test_content_type_guessed_when_missing():
    parsed = load("flanker/spam/broken-ctype.eml")
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("facejj.jpg", "image/jpeg")]


@pytest.mark.parametrize(
    "value, expected",
    [
        ('text/plain; charset="utf-8"; format=flowed', ("text/plain", {"charset": "utf-8", "format": "flowed"})),
        ("text/plain charset=utf-8", ("text/plain", {"charset": "utf-8"})),
        ("application/pdf; name=Invoice (1).pdf", ("application/pdf", {"name": "Invoice (1).pdf"})),
        ("a/b; name=\"x\"; name=\"y\"", ("a/b", {"name": "x"})),
        ("a/b; filename*0=\"long \"; filename*1=\"name.txt\"", ("a/b", {"filename": "long name.txt"})),
        ("a/b; filename*=UTF-8''%E2%82%AC%20rates.pdf", ("a/b", {"filename": "€ rates.pdf"})),
        ("a/b; filename=\"plain.pdf\"; filename*=utf-8''%C3%A9.pdf", ("a/b", {"filename": "é.pdf"})),
        ("a/b; name==?utf-8?Q?x;y.txt?=", ("a/b", {"name": "x;y.txt"})),
        ("a/b;;; junk; boundary=\"q\\\"b\"", ("a/b", {"boundary": 'q"b'})),
    ],
)
def test_parse_params(value, expected):
    assert parse_params(value) == expected


# --- structure: boundaries ------------------------------------------------------------------


def test_missing_final_boundary():
    parsed = load("flanker/missing-final-boundary.eml")
    assert parsed.text == "Some body"
    assert "the closing boundary is missing" in parsed.problems
    parsed = load("enmime/low-quality/bad-final-boundary.raw")
    assert names(parsed) == ["foo_9E5D72.zip"]


def test_folded_boundary_with_spaces():
    # Python: not multipart at all (StartBoundaryNotFoundDefect), no text body.
    parsed = load("james-mime4j/mimetools-testmsgs/badbound.msg")
    assert parsed.text.startswith("This Message was undeliverable due to the following reason:")
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]
    assert parsed.messages[0].subject == "HOWTO (Was: unsubscribe)"


def test_boundary_other_than_declared():
    # Python: StartBoundaryNotFoundDefect; the whole body is one part.
    parsed = load("cpython/msg_31.txt")
    assert parsed.text == "message 1\n\nmessage 2"


def test_multipart_without_boundary_parameter():
    # Python: NoBoundaryInMultipartDefect; the parts are not found.
    parsed = load("cpython/msg_25.txt")
    assert parsed.text.startswith("The original message was received at Fri, 6 Apr 2001 09:23:03 -0800")
    assert [a.content_type for a in parsed.attachments] == ["message/delivery-status", "text/rfc822-headers"]


def test_boundary_that_prefixes_another():
    parsed = load("james-mime4j/testmsgs/boundary-name-clash.msg")
    assert parsed.text == "Please see attachment for report Daily_Stats-2022-05-12-0700"
    assert names(parsed) == ["Daily_Stats-2022-05-12-0700.pdf"]
    assert parsed.attachments[0].size == 31


def test_doubled_boundaries():
    parsed = load("james-mime4j/mimetools-testmsgs/double-bound.msg")
    assert names(parsed) == ["3d-eye.gif"]
    assert parsed.attachments[0].size == 357
    assert parsed.text.startswith("This message contains double boundaries all over the place.")


def test_boundary_lines_with_trailing_text_and_spaces():
    parsed = load("james-mime4j/testmsgs/weird-boundary.msg")
    assert parsed.text.startswith("Text body\n\nThe above line is similar to the boundary but miss a final space")


def test_text_html_with_a_multipart_body():
    parsed = load("nodemailer-mailparser/spam.eml")
    assert parsed.text.startswith("Im Jahre 2007 wurde er als „asozialer Penner“ beschimpft!")


def test_reused_boundary_in_a_nested_multipart_loses_nothing():
    boundary = b"same"
    data = (
        b"Subject: reuse\r\nContent-Type: multipart/mixed; boundary=same\r\n\r\n"
        b"--same\r\nContent-Type: multipart/alternative; boundary=same\r\n\r\n"
        b"--same\r\nContent-Type: text/plain\r\n\r\nplain body\r\n"
        b"--same\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--same--\r\n"
    )
    assert boundary in data
    parsed = mime.parse(data)
    assert parsed.text == "plain body"
    assert names(parsed) == ["a.pdf"]
    assert any("reuses its parent's boundary" in p for p in parsed.problems)


# --- bodies: transfer encodings, HTML, flowed -----------------------------------------------


def test_base64_with_garbage_and_bad_padding():
    payload = b"hello, world!!"
    encoded = base64.b64encode(payload)
    assert transfer.decode_base64(b"!!" + encoded[:8] + b"\r\n$$" + encoded[8:] + b"\r\n") == payload
    assert transfer.decode_base64(encoded.rstrip(b"=")) == payload
    assert transfer.decode_base64(encoded + b"\r\n-- \r\nsignature") == payload
    per_line = b"\r\n".join(base64.b64encode(chunk) for chunk in (b"ab", b"cd", b"ef"))
    assert transfer.decode_base64(per_line) == b"abcdef"


def test_quoted_printable_errors():
    assert transfer.decode_qp(b"caf=C3=a9 =\r\nsoft= \r\nbreak =ZZ end=") == b"caf\xc3\xa9 softbreak =ZZ end"
    assert transfer.normalize_cte("quoted printable") == "quoted-printable"
    assert transfer.normalize_cte(" BASE64;") == "base64"
    assert transfer.normalize_cte("7-bit") == "identity"
    assert transfer.normalize_cte("x-gzip64") == "unknown:x-gzip64"


def test_quoted_printable_written_with_a_space():
    parsed = load("mikel-mail/error_emails/content_transfer_encoding_qp_with_space.eml")
    assert parsed.text.startswith("If you're in need of a good RX site for online purchases, we are your answer.\n\n")
    assert "=3D" not in parsed.text and "=\n" not in parsed.text


def test_chunked_decoding_matches_whole_decoding():
    payload = bytes(range(256)) * 9000  # about 2.3 MB: several chunks
    encoded = base64.encodebytes(payload)
    assert transfer.decoded_size(encoded, 0, len(encoded), "base64") == len(payload)
    assert b"".join(transfer.iter_decoded(encoded, 0, len(encoded), "base64")) == payload
    import quopri

    qp = quopri.encodestring(payload)
    assert b"".join(transfer.iter_decoded(qp, 0, len(qp), "quoted-printable")) == payload


def test_html_only_message_is_rendered():
    parsed = load("enmime/mail/html-only-inline.raw")
    assert parsed.text == "Test of HTML section"
    assert parsed.html.lstrip().lower().startswith("<html")


def test_plain_text_is_preferred_over_html():
    parsed = load("stalwart-mail-parser/thirdparty/017.eml")
    assert parsed.text == "Search for hähä"
    assert "<" in parsed.html


def test_html_to_text():
    html = (
        "<html><head><title>t</title><style>p{color:red}</style><script>x()</script></head><body>"
        "<h1>Hi &amp; welcome</h1><p>See <a href='https://e.x/a'>the page</a> or "
        "<a href='https://e.x/b'>https://e.x/b</a>.</p><p>one<br>two<br><br>three</p>"
        "<ul><li>apple</li><li>pear<ol><li>x</li></ol></li></ul>"
        "<blockquote><p>quoted</p></blockquote><pre>  keep\n   spaces</pre>"
        "<table><tr><td>a</td><td>b</td></tr></table><img src=x alt='Logo'>&eacute;&#8364;</body></html>"
    )
    assert mime.html_to_text(html) == (
        "Hi & welcome\n\n"
        "See the page (https://e.x/a) or https://e.x/b.\n\n"
        "one\ntwo\n\nthree\n\n"
        "- apple\n- pear\n  1. x\n\n"
        "> quoted\n\n"
        "  keep\n   spaces\n\n"
        "a  b\n\n"
        "[Logo]é€"
    )


def test_format_flowed_is_joined():
    data = (
        b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
        b"This is a long \r\nparagraph.\r\n> quoted soft \r\n> line\r\n-- \r\nsig\r\n"
    )
    assert mime.parse(data).text == "This is a long paragraph.\n> quoted soft line\n-- \nsig"


def test_format_flowed_delsp_keeps_a_flowed_last_line():
    # MimeKit issue 1130: with delsp=yes the soft-break spaces go, and the last line,
    # though it ends in a space, must not be lost.
    parsed = load("mimekit/messages/issue1130.txt")
    assert parsed.text == (
        "We should have access, and apparently did a few months ago, but now there isa "
        '"You do not currently have access to this content." at the bottom of therecord\n\n'
        "The URL in question URL:\nhttps://example.com/"
    )


# --- attachments, inline parts, nested messages ---------------------------------------------


def test_attachments_inline_parts_and_content_ids():
    parsed = load("stalwart-mail-parser/thirdparty/019.eml")
    assert [(a.filename, a.part, a.inline, a.content_type) for a in parsed.attachments] == [
        ("kigaaldcbanejcbi.png", "1.2.2", True, "image/png"),
        ("attach2.png", "2", False, "image/png"),
    ]
    inline = parsed.inline_parts
    assert len(inline) == 1 and inline[0].content_id and inline[0].embedded
    assert parsed.has_attachments


def test_only_embedded_images_do_not_count_as_attachments():
    parsed = load("stalwart-mail-parser/thirdparty/016.eml")
    assert parsed.attachments and not parsed.has_attachments


def test_signature_does_not_count_as_attachment():
    parsed = load("cpython/msg_45.txt")
    assert names(parsed) == ["signature.asc"]
    assert not parsed.has_attachments


def test_attached_message_is_parsed():
    parsed = load("mimekit/messages/simple-embedded-message.eml")
    attachment = parsed.attachments[0]
    assert attachment.is_message and attachment.content_type == "message/rfc822"
    assert attachment.filename == "embedded message.eml"
    nested = parsed.messages[0]
    assert nested.subject == "embedded message"
    assert nested.text == "This is the embedded message body."


def test_base64_encoded_attached_message():
    parsed = load("james-mime4j/testmsgs/base64encoded-rfc822message.msg")
    assert parsed.messages[0].text == "Text body"


def test_part_paths_follow_imap_section_numbers():
    parsed = load("mimekit/messages/rfc2060.txt")
    assert [a.part for a in parsed.attachments] == ["2", "3", "4.1", "4.2"]
    nested = parsed.messages[1]
    # 4.2.2 is an alternative of text/plain and text/richtext: plain wins.
    assert nested.text == "This part specifier should be: 4.2.1\n\nThis part specifier should be: 4.2.2.1"


def test_inline_text_parts_are_shown_and_listed():
    parsed = load("cpython/msg_04.txt")
    assert parsed.text == "a simple kind of mirror\nto reflect upon our own\n\na simple kind of mirror\nto reflect upon our own"
    assert names(parsed) == ["msg.txt", "msg.txt"]


def test_message_of_only_named_text_parts_still_shows_text():
    parsed = load("james-mime4j/mimetools-testmsgs/multi-badnames.msg")
    # The first named part ("/foo/bar") is empty; the next one is shown.
    assert parsed.text == "This is explicitly typed plain ASCII text.\nIt DOES end with a linebreak."
    assert names(parsed) == ["bar", "foo bar", "foobar"]


def test_related_root_follows_the_type_parameter():
    parsed = load("mimekit/messages/multipart-related-mhtml.txt")
    assert [(a.content_type, a.inline) for a in parsed.attachments] == [("image/png", True)]


# --- uuencode, yEnc, TNEF -------------------------------------------------------------------


def test_uuencoded_files_in_a_text_body():
    # Python: no attachments; the uuencoded lines are part of the text.
    data = raw("james-mime4j/mimetools-testmsgs/uu-zeegee.msg")
    parsed = mime.parse(data)
    assert [(a.filename, a.content_type, a.size, a.part, a.source) for a in parsed.attachments] == [
        ("up.gif", "image/gif", 110, "1#uu1", "uuencode"),
        ("zeegee.gif", "image/gif", 4834, "1#uu2", "uuencode"),
    ]
    assert parsed.text == "I've uuencoded the ZeeGee logo and another GIF file below."
    gif = mime.read_attachment(data, "1#uu2")
    assert gif.startswith(b"GIF87a") and gif.endswith(b";") and len(gif) == 4834


def test_uuencoded_signature_and_unnamed_file():
    parsed = load("james-mime4j/mimetools-testmsgs/sig-uu.msg")
    assert [(a.filename, a.size) for a in parsed.attachments] == [(".signature", 276), ("part-1-uu2.bin", 236)]
    assert "begin 644" not in parsed.text
    assert parsed.text.endswith("Done!")


def test_yenc_file():
    data = raw("mimekit/yenc/simple.msg")
    parsed = mime.parse(data)
    assert [(a.filename, a.size, a.part, a.source) for a in parsed.attachments] == [("testfile.txt", 584, "1#yenc1", "yenc")]
    # The =yend line announces crc32=ded29f4f.
    assert zlib.crc32(mime.read_attachment(data, "1#yenc1")) == 0xDED29F4F
    assert "=ybegin" not in parsed.text


def test_tnef_winmail_dat_files_are_listed():
    # Python: one attachment, 'winmail.dat'.
    data = raw("mimekit/tnef/rich-text.eml")
    parsed = mime.parse(data)
    assert [(a.filename, a.content_type, a.size, a.part) for a in parsed.attachments] == [
        ("kitten-playing-with-a-christmas-tree.jpg", "image/jpeg", 375081, "2#tnef1"),
        ("Build a train table", "application/ms-tnef", 6508, "2#tnef2"),
        ("Christmas Celebration!", "application/ms-tnef", 385301, "2#tnef3"),
    ]
    jpeg = mime.read_attachment(data, "2#tnef1")
    assert jpeg[:3] == b"\xff\xd8\xff" and jpeg[-2:] == b"\xff\xd9"


def test_tnef_without_files_keeps_winmail_dat():
    parsed = load("mimekit/tnef/ukr.eml")
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("winmail.dat", "application/ms-tnef")]
    assert parsed.text.startswith("шостий")


def _tnef_attr(level: int, attr_id: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def _mapi_unicode(prop_id: int, text: str) -> bytes:
    value = text.encode("utf-16-le") + b"\x00\x00"
    return struct.pack("<HHII", 0x001F, prop_id, 1, len(value)) + value + b"\x00" * (-len(value) % 4)


def test_tnef_reader_on_a_built_stream():
    props = struct.pack("<I", 2) + _mapi_unicode(0x3707, "Überweisung März.pdf") + struct.pack("<HHI", 0x0003, 0x0E20, 7)
    stream = (
        struct.pack("<IH", tnef.SIGNATURE, 1)
        + _tnef_attr(1, 0x00089006, b"\x00\x00\x01\x00")
        + _tnef_attr(2, tnef.ATT_ATTACH_RENDDATA, b"\x01\x00" + b"\x00" * 12)
        + _tnef_attr(2, tnef.ATT_ATTACH_TITLE, b"UBERWE~1.PDF\x00")
        + _tnef_attr(2, tnef.ATT_ATTACH_DATA, b"%PDF-1.")
        + _tnef_attr(2, tnef.ATT_ATTACHMENT, props)
        + _tnef_attr(2, tnef.ATT_ATTACH_RENDDATA, b"\x01\x00" + b"\x00" * 12)
        + _tnef_attr(2, tnef.ATT_ATTACH_TITLE, b"notes.txt\x00")
        + _tnef_attr(2, tnef.ATT_ATTACH_DATA, b"hello")
    )
    content = tnef.read(stream)
    assert [(f.filename, f.data) for f in content.files] == [("Überweisung März.pdf", b"%PDF-1."), ("notes.txt", b"hello")]
    truncated = tnef.read(stream[:-9])
    assert truncated.problem and truncated.files[0].filename == "Überweisung März.pdf"
    assert tnef.read(b"not tnef at all").files == []

    message = (
        b"Subject: tnef\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
        b"--x\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(stream)
        + b"--x--\r\n"
    )
    parsed = mime.parse(message)
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("Überweisung März.pdf", "application/pdf", 7),
        ("notes.txt", "text/plain", 5),
    ]
    assert mime.read_attachment(message, "2#tnef2") == b"hello"


# --- saving ---------------------------------------------------------------------------------


def test_save_attachment_from_a_file(tmp_path):
    source = CORPUS / "mikel-mail/attachment_emails/attachment_pdf.eml"
    parsed = mime.parse_file(source)
    pdf = parsed.attachments[0]
    dest = tmp_path / "out.pdf"
    written = mime.save_attachment(source, pdf.part, dest)
    assert written == pdf.size == dest.stat().st_size
    assert dest.read_bytes().startswith(b"%PDF")
    with pytest.raises(UsageError):
        mime.save_attachment(source, pdf.part, dest)
    dest.write_bytes(b"old")
    assert mime.save_attachment(source, pdf.part, dest, overwrite=True) == pdf.size
    assert dest.read_bytes().startswith(b"%PDF")
    with pytest.raises(UsageError):
        mime.save_attachment(source, pdf.part, tmp_path)  # a directory
    with pytest.raises(NotFound):
        mime.save_attachment(source, "9.9", tmp_path / "nothing.bin")
    assert not (tmp_path / "nothing.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pdf"]


def test_save_attached_message_and_derived_files(tmp_path):
    data = raw("mimekit/messages/simple-embedded-message.eml")
    dest = tmp_path / "inner.eml"
    mime.save_attachment(data, "2", dest)
    assert mime.parse(dest.read_bytes()).subject == "embedded message"
    dest2 = tmp_path / "up.gif"
    mime.save_attachment(CORPUS / "james-mime4j/mimetools-testmsgs/uu-zeegee.msg", "1#uu1", dest2)
    assert dest2.read_bytes().startswith(b"GIF87a") and dest2.stat().st_size == 110
    with pytest.raises(NotFound):
        mime.save_attachment(data, "1#uu7", tmp_path / "x")


def test_large_message_from_disk_is_not_held_in_memory(tmp_path):
    payload = hashlib.sha256(b"seed").digest() * (12 * 1024 * 1024 // 32)  # 12 MiB
    path = tmp_path / "big.eml"
    with open(path, "wb") as fh:
        fh.write(
            b"Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
            b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
            b"Content-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        fh.write(base64.encodebytes(payload))
        fh.write(b"--b--\r\n")
    tracemalloc.start()
    try:
        parsed = mime.parse_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed.text == "see attached"
    assert [(a.filename, a.size) for a in parsed.attachments] == [("big.bin", len(payload))]
    assert peak < 4 * 1024 * 1024  # the encoded file is 16 MB and the payload 12 MiB
    dest = tmp_path / "big.bin"
    tracemalloc.start()
    try:
        mime.save_attachment(path, "2", dest)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(payload).digest()
    assert peak < 4 * 1024 * 1024


# --- raw view, header fast path, BODYSTRUCTURE ----------------------------------------------


def test_raw_text_is_safe_to_print():
    text = mime.raw_text(b"Subject: x\r\n\r\ncaf\xe9 \x1b[2J \x00 \xe2\x82\xac")
    # Mostly Windows-1252 with one real UTF-8 character: each stays what it was.
    assert text == "Subject: x\n\ncafé ␛[2J ␀ €"
    assert mime.raw_text("naïve €".encode("utf-8")) == "naïve €"


def test_parse_headers_fast_path_and_summary():
    block = raw("mikel-mail/error_emails/bad_subject.eml").split(b"\r\n\r\n")[0]
    headers = mime.parse_headers(block)
    assert headers.sender == Address("carol@mysurvey.com", "MySurvey.com & Carol Adams")
    assert headers.to == (Address("someone@aol.com"),)
    summary = headers.summary(account="work", folder="INBOX", uid=7, size=1234, flags=("\\Seen",), has_attachments=False)
    assert isinstance(summary, HeaderSummary)
    assert summary.sender == "MySurvey.com & Carol Adams <carol@mysurvey.com>"
    assert summary.to == ("someone@aol.com",)
    assert summary.date == "2010-12-15T12:21:20-05:00"
    assert summary.uid == 7 and summary.folder == "INBOX" and summary.size == 1234


def test_parse_headers_uses_the_body_charset_for_8bit_headers():
    block = "Subject: Привет\r\nContent-Type: text/plain; charset=koi8-r\r\n".encode("koi8-r")
    assert mime.parse_headers(block).subject == "Привет"
    assert mime.parse_headers(b"\xff\xfe garbage").subject == ""


def _bodystructure(text: bytes):
    from imapclient.response_parser import parse_fetch_response

    return parse_fetch_response([b"1 (BODYSTRUCTURE " + text + b")"])[1][b"BODYSTRUCTURE"]


PLAIN = b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)'
HTML = b'("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 40 2 NIL NIL NIL NIL)'
PDF = b'("APPLICATION" "PDF" ("NAME" "a.pdf") NIL NIL "BASE64" 4000 NIL ("ATTACHMENT" ("FILENAME" "a.pdf")) NIL NIL)'
CID_IMAGE = b'("IMAGE" "PNG" ("NAME" "logo.png") "<logo@x>" NIL "BASE64" 900 NIL ("INLINE" ("FILENAME" "logo.png")) NIL NIL)'
SIG = b'("APPLICATION" "PGP-SIGNATURE" ("NAME" "signature.asc") NIL NIL "7BIT" 300 NIL NIL NIL NIL)'


@pytest.mark.parametrize(
    "structure, expected",
    [
        (PLAIN, False),
        (b"(" + PLAIN + HTML + b' "ALTERNATIVE" ("BOUNDARY" "b1") NIL NIL NIL)', False),
        (b"(" + PLAIN + PDF + b' "MIXED" ("BOUNDARY" "b1") NIL NIL NIL)', True),
        (b"((" + HTML + CID_IMAGE + b' "RELATED" ("BOUNDARY" "b2") NIL NIL NIL) "MIXED" ("BOUNDARY" "b1") NIL NIL NIL)', False),
        (b"(" + PLAIN + SIG + b' "SIGNED" ("BOUNDARY" "b1" "PROTOCOL" "application/pgp-signature") NIL NIL NIL)', False),
        (
            b"(" + PLAIN + b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 300 ("Mon, 1 Jan 2024 00:00:00 +0000" "hi" NIL NIL NIL NIL NIL NIL NIL NIL) '
            + PLAIN + b' 10 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "b1") NIL NIL NIL)',
            True,
        ),
        (b'("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 100 NIL NIL NIL NIL)', True),
        (b'("TEXT" "PLAIN" ("CHARSET" "us-ascii" "NAME" "notes.txt") NIL NIL "7BIT" 12 1 NIL ("ATTACHMENT" NIL) NIL NIL)', True),
    ],
)
def test_has_attachments_from_bodystructure(structure, expected):
    assert mime.has_attachments_from_bodystructure(_bodystructure(structure)) is expected


def test_bodystructure_agrees_with_the_parser_on_the_same_message():
    # The RFC 3501 example (mimekit/messages/rfc2060.txt has this shape): attachments present.
    parsed = load("stalwart-mail-parser/thirdparty/016.eml")
    structure = _bodystructure(b"(" + HTML + CID_IMAGE + b' "RELATED" ("BOUNDARY" "b") NIL NIL NIL)')
    assert mime.has_attachments_from_bodystructure(structure) is parsed.has_attachments is False
    assert mime.has_attachments_from_bodystructure(None) is False
    assert mime.has_attachments_from_bodystructure(("junk", None, None)) in (True, False)  # never raises
