"""A broken or unsafe config.toml: a clear error naming the line, never a traceback."""

from __future__ import annotations

import errno
import os
import resource

import pytest

from tamago_tui.backend import config as config_mod
from tamago_tui.backend import fsutil
from tamago_tui.backend.errors import ConfigError, TamagoError

from .conftest import assert_clean_failure, run_tamago

ACCOUNT = """\
[settings]
timeout = 20

[accounts."alice@example.test"]
email = "alice@example.test"

[accounts."alice@example.test".imap]
host = "imap.example.test"
port = 993
security = "ssl"
username = "alice@example.test"
"""


def load(tmp_path, text: str | bytes):
    path = tmp_path / "config.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return config_mod.load(path)


@pytest.mark.parametrize("text, line, words", [
    ('[settings]\ntimeout = 20\nnameserver = "unterminated\n', 3, "not valid TOML"),
    ('[settings]\n\ntimeout = "soon"\n', 3, "must be a number"),
    ('[settings]\nmax_literal_mb = 1.5\n', 2, "whole number"),
    (ACCOUNT.replace("port = 993", 'port = "imaps"'), 9, "not a port number"),
    (ACCOUNT.replace('security = "ssl"', 'security = "tls"'), 10, "ssl, starttls, none"),
    ('[accounts]\nwork = 3\n', 2, "must be a table"),
    ('[accounts.work]\nname = "no email"\n', 1, "no email entry"),
    (b'[settings]\ntimeout = 20\n# caf\xe9\n', 3, "not UTF-8"),
])
def test_broken_config_names_the_line(tmp_path, text, line, words):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert f"line {line}" in message, message
    assert words in message
    assert "config.toml" in message


@pytest.mark.parametrize("text, line", [
    (ACCOUNT.replace('username = "alice@example.test"\n', 'username = "alice@example.test"\npassword = "hunter2"\n'),
     12),
    ('[accounts.work]\nemail = "w@example.test"\ntoken = "ya29.abc"\n', 3),
    ('[accounts.work]\nemail = "w@example.test"\nsmtp = { host = "h", passwd = "hunter2" }\n', 3),
    ('[settings]\nmaster_password = "hunter2"\n', 2),
])
def test_config_with_a_secret_is_refused(tmp_path, text, line):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "Secrets never go in config" in message and f"line {line}" in message
    assert "hunter2" not in message and "ya29" not in message  # the refusal does not repeat the secret


def test_commands_and_known_settings_are_not_secrets(tmp_path):
    config = load(tmp_path, '[settings]\nsecret_backend = "encrypted"\nmaster_password_command = "pass tamago"\n'
                            '[accounts.work]\nemail = "w@example.test"\npassword_command = "pass mail/work"\n'
                            '[oauth.mine]\nclient_id = "id"\nclient_secret = "public-for-installed-apps"\n')
    assert config.settings.secret_backend == "encrypted"
    assert config.accounts["work"].password_command == "pass mail/work"


def test_cli_reports_a_broken_config_without_a_traceback(tamago_home):
    tamago_home.mkdir(parents=True, exist_ok=True)
    (tamago_home / "config.toml").write_text("[settings\ntimeout = 20\n")
    result = run_tamago("accounts", "list", home=tamago_home)
    assert_clean_failure(result)
    assert "line 1" in result.stderr and "config.toml" in result.stderr


def test_cli_refuses_a_config_with_a_password(tamago_home):
    tamago_home.mkdir(parents=True, exist_ok=True)
    (tamago_home / "config.toml").write_text(ACCOUNT + 'password = "Plain-Text-Pw-99"\n')
    result = run_tamago("accounts", "list", "--json", home=tamago_home)
    assert_clean_failure(result)
    assert "Secrets never go in config" in result.stderr and "line 12" in result.stderr
    assert "Plain-Text-Pw-99" not in result.stderr + result.stdout


def test_cli_with_an_unusable_home(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the home directory should be")
    result = run_tamago("contacts", "list", home=blocker / "home")
    assert_clean_failure(result)
    assert "Cannot create tamago's directories" in result.stderr


# -- the atomic writer, with faults injected ------------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_atomic_write_failures_keep_the_old_file(tmp_path, monkeypatch, code):
    target = tmp_path / "file.txt"
    target.write_text("old")

    def failing(fd, data):
        os.write(fd, data[:3])  # a partial write, then the disk gives out
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fsutil, "write_all", failing)
    with pytest.raises(TamagoError) as caught:
        fsutil.atomic_write(target, "new contents", what="the test file")
    assert str(caught.value).startswith("The disk is full: could not save the test file")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_atomic_write_other_errors_say_what_happened(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(ConfigError) as caught:
        fsutil.atomic_write(tmp_path / "a-file" / "config.toml", "x", error_class=ConfigError)
    assert not str(caught.value).startswith("The disk is full")
    assert "Could not save" in str(caught.value) and "a-file is not a directory" in str(caught.value)
    assert "nothing was written" in str(caught.value)


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # EFBIG past 4 KiB (Python ignores SIGXFSZ)


def test_file_size_limit_in_a_real_process(tmp_path):
    """RLIMIT_FSIZE makes real writes fail with EFBIG: the saved attachment leaves the old file."""
    import subprocess
    import sys

    from .conftest import ROOT
    from .test_disk_full import MESSAGE

    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)  # its attachment decodes to ~21 KB
    target = tmp_path / "blob.bin"
    target.write_bytes(b"previous file")
    result = subprocess.run(
        [sys.executable, "-m", "tamago_tui", "show", str(message), "--save-attachment", "1", "--to", str(target),
         "--force"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "TAMAGO_HOME": str(tmp_path / "home")}, preexec_fn=_limit_file_size)
    assert_clean_failure(result)
    assert "The disk is full: " in result.stderr and "File too large" in result.stderr
    assert target.read_bytes() == b"previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob.bin", "home", "message.eml"]
