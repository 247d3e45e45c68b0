"""`tamago show PATH.eml`: JSON contract, human output, raw view, saving attachments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tamago_tui.cli import main

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mime"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def show_json(capsys, path: Path) -> dict:
    code, out, _ = run(capsys, "show", str(path), "--json")
    assert code == 0
    return json.loads(out)


def test_json_contract(capsys):
    data = show_json(capsys, CORPUS / "stalwart-mail-parser/thirdparty/019.eml")
    for key in ("subject", "from", "to", "cc", "date", "text", "attachments"):
        assert key in data
    assert data["subject"] == "30 plaintext + (HTML + embedded image) + attachment"
    assert data["from"] == "test@example.com"
    assert data["to"] == ["test@example.com"]
    assert data["cc"] == []
    assert data["date"] == "2017-12-30T20:50:01+01:00"
    assert data["text"] == "Search for hähä"
    assert [{k: a[k] for k in ("filename", "content_type", "size")} for a in data["attachments"]] == [
        {"filename": "kigaaldcbanejcbi.png", "content_type": "image/png", "size": 242},
        {"filename": "attach2.png", "content_type": "image/png", "size": 158},
    ]
    assert isinstance(data["problems"], list)


def test_json_names_and_lists(capsys):
    data = show_json(capsys, CORPUS / "enmime/mail/qp-utf8-header.raw")
    assert data["from"] == "James Hillyerd <jamehi03@jamehi03lx.noa.com>"
    assert data["to"] == ["Mirosław Marczak <marczak@inbucket.com>"]
    data = show_json(capsys, CORPUS / "flanker/encoded-header.eml")
    assert data["from"] == '"Foo, Bar" <foo.bar@example.com>'


def test_json_attached_messages_and_unreadable_date(capsys):
    data = show_json(capsys, CORPUS / "mimekit/messages/simple-embedded-message.eml")
    assert data["attachments"][0]["content_type"] == "message/rfc822"
    assert data["messages"][0]["text"] == "This is the embedded message body."
    data = show_json(capsys, CORPUS / "james-mime4j/testmsgs/obsolete.msg")
    assert data["date"] is None and data["date_raw"] == "Malformed Date."


def test_human_output(capsys):
    code, out, _ = run(capsys, "show", str(CORPUS / "php-mime-mail-parser/m0018"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "From:     name@company.com"
    assert "Subject:  [Korea] Name" in lines
    assert "My traveling companions!" in lines
    assert "Attachments (2):" in lines
    assert "  1. 사진.JPG  image/jpeg  174 B  [part 2]" in lines


def test_human_output_lists_repairs(capsys):
    code, out, _ = run(capsys, "show", str(CORPUS / "mikel-mail/plain_emails/raw_email_incorrect_header.eml"))
    assert code == 0
    assert "Subject:  Stop adware/spyware once and for all." in out
    assert "Repaired while reading (1):" in out


def test_raw_view_is_safe(capsys, tmp_path):
    path = tmp_path / "evil.eml"
    path.write_bytes(b"Subject: hi\r\n\r\n\x1b]0;pwned\x07 caf\xe9\r\n")
    code, out, _ = run(capsys, "show", str(path), "--raw")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert out.startswith("Subject: hi\n\n␛]0;pwned␇ café")


def test_terminal_escapes_in_a_message_never_reach_stdout(capsys, tmp_path):
    path = tmp_path / "evil.eml"
    path.write_bytes(b"Subject: =?utf-8?Q?a=1B[2Jb?=\r\n\r\nx\x1b[31my\r\n")
    data = show_json(capsys, path)
    assert data["subject"] == "a [2Jb"
    assert data["text"] == "x[31my"


def test_save_attachment_by_number_and_part(capsys, tmp_path):
    source = CORPUS / "james-mime4j/mimetools-testmsgs/uu-zeegee.msg"
    tmp_path = tmp_path / "saved"
    tmp_path.mkdir()
    code, out, _ = run(capsys, "show", str(source), "--save-attachment", "2", "--to", str(tmp_path))
    assert code == 0
    saved = tmp_path / "zeegee.gif"
    assert saved.read_bytes().startswith(b"GIF87a") and saved.stat().st_size == 4834
    assert out.startswith("Saved zeegee.gif (4.7 KB) to ")
    # The same name again: refused without --force (a diagnosed failure, exit 1).
    code, _, err = run(capsys, "show", str(source), "--save-attachment", "2", "--to", str(tmp_path))
    assert code == 1 and "already exists" in err
    code, _, _ = run(capsys, "show", str(source), "--save-attachment", "1#uu2", "--to", str(saved), "--force")
    assert code == 0 and saved.stat().st_size == 4834
    code, out, _ = run(capsys, "show", str(source), "--save-attachment", "1", "--to", str(tmp_path / "up.gif"), "--json")
    assert code == 0 and json.loads(out) == {"saved": str(tmp_path / "up.gif"), "size": 110, "filename": "up.gif", "part": "1#uu1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["up.gif", "zeegee.gif"]


def test_save_never_uses_directories_from_the_message(capsys, tmp_path):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    source = tmp_path / "m.eml"
    shutil.copy(CORPUS / "php-mime-mail-parser/m0027", source)  # name="1234/../../1234.txt"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, _ = run(capsys, "show", str(source), "--save-attachment", "1", "--to", str(out_dir))
    assert code == 0
    assert [p.name for p in out_dir.iterdir()] == ["1234.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.eml", "out"]


def test_save_errors(capsys, tmp_path):
    source = str(CORPUS / "cpython/msg_07.txt")
    code, _, err = run(capsys, "show", source, "--save-attachment", "5", "--to", str(tmp_path))
    assert code == 1 and "has 1 attachment" in err
    with pytest.raises(SystemExit) as exc:
        main(["show", source, "--save-attachment", "1"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["show", source, "--raw", "--json"])
    assert exc.value.code == 2


def test_message_id_not_in_the_index(capsys):
    # A Message-ID is looked up in the header index, then cached (tests/sync/test_cli_sync.py).
    code, out, err = run(capsys, "show", "<1234@example.com>")
    assert code == 1 and out == ""
    assert "<1234@example.com> is not in the local index" in err


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "show", str(tmp_path / "nothere.eml"))
    assert code == 1 and "No such file" in err
    code, _, err = run(capsys, "show", str(tmp_path))
    assert code == 2 and "not a regular file" in err
