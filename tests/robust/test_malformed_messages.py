"""`tamago show` on whatever a server or a customer hands over: a clear error or a best-effort
parse, never a traceback, and never terminal control sequences on the screen."""

from __future__ import annotations

import json
import os
import random

import pytest

from tamago_tui.backend import mime

from .conftest import assert_clean_failure, run_tamago

HEADERS = b"From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: malformed\r\n"


def samples() -> dict[str, bytes]:
    rng = random.Random(4711)
    truncated = (HEADERS + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n"
                 b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--zz\r\n"
                 b"Content-Type: application/pdf; name=\"cut.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                 b"JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0Zp")  # stops mid-part, no end
    return {
        "random-bytes": bytes(rng.randrange(256) for _ in range(50000)),
        "nul-bytes": HEADERS + b"\r\n" + b"\0" * 5000 + b"text after NULs\r\n",
        "truncated-multipart": truncated,
        "headers-only-no-newline": b"Subject: nothing else",
        "bad-encodings": (HEADERS.replace(b"malformed", b"=?utf-8?B?not base64!?= =?x-unknown?Q?abc?=")
                          + b"Date: Mon, 99 Foo 20222 99:99:99 +9999\r\nContent-Type: text/plain; charset=x-bogus\r\n"
                          b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n\xff\xfe broken =E2=82\r\n"),
        "nested-boundaries": HEADERS + b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
                             + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 200 + b"--a--\r\n",
        "terminal-escapes": (b"Subject: hi \x1b]0;owned\x07 \x1b[2J\r\nFrom: \"\x1b[31mred\" <r@example.org>\r\n\r\n"
                             b"body \x1b[31mred\x1b[0m \x9b31m \x07 bell\r\n"),
        "long-header-line": b"Subject: " + b"a" * 2_000_000 + b"\r\n\r\nbody\r\n",
    }


@pytest.mark.parametrize("name", sorted(samples()))
def test_best_effort_parse(name, tmp_path, tamago_home):
    path = tmp_path / f"{name}.eml"
    path.write_bytes(samples()[name])
    for args in ([], ["--json"], ["--raw"]):
        done = run_tamago("show", str(path), *args, home=tamago_home)
        assert done.returncode == 0, (name, args, done.stderr)
        assert "Traceback" not in done.stderr
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout  # nothing the terminal would obey
        if args == ["--json"]:
            data = json.loads(done.stdout)
            assert isinstance(data["text"], str) and isinstance(data["attachments"], list)


def test_truncated_attachment_is_listed_and_saved_as_far_as_it_goes(tmp_path, tamago_home):
    path = tmp_path / "cut.eml"
    path.write_bytes(samples()["truncated-multipart"])
    data = json.loads(run_tamago("show", str(path), "--json", home=tamago_home).stdout)
    assert [a["filename"] for a in data["attachments"]] == ["cut.pdf"]
    dest = tmp_path / "cut.pdf"
    saved = run_tamago("show", str(path), "--save-attachment", "1", "--to", str(dest), home=tamago_home)
    assert saved.returncode == 0, saved.stderr
    assert dest.read_bytes().startswith(b"%PDF-1.4")


def test_an_empty_file_is_a_clear_error(tmp_path, tamago_home):
    path = tmp_path / "empty.eml"
    path.write_bytes(b"")
    for args in ([], ["--json"], ["--raw"]):
        done = run_tamago("show", str(path), *args, home=tamago_home)
        assert_clean_failure(done)
        assert "is empty (0 bytes)" in done.stderr


def test_things_that_are_not_message_files(tmp_path, tamago_home):
    fifo = tmp_path / "fifo.eml"
    os.mkfifo(fifo)
    for target, code, words in ((tmp_path, 2, "not a regular file"), (fifo, 2, "not a regular file"),
                                (tmp_path / "missing.eml", 1, "No such file")):
        done = run_tamago("show", str(target), home=tamago_home)
        assert_clean_failure(done, code)
        assert words in done.stderr


def test_an_unreadable_file(tmp_path, tamago_home, monkeypatch, capsys):
    from tamago_tui import cli

    path = tmp_path / "locked.eml"
    path.write_bytes(HEADERS + b"\r\nbody\r\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(mime, "parse_file", denied)  # root reads anything: inject the refusal
    assert cli.main(["show", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Cannot read" in err and "Permission denied" in err and "Traceback" not in err
