"""The log file: secrets masked in every form, libraries kept quiet, never a word on stderr."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys

from tamago_tui.backend import log as log_mod
from tamago_tui.backend.log import REDACTED, redact, redact_secrets, register_secret

from .conftest import ROOT


def test_registered_secrets_are_masked_in_base64_too():
    secret = "Log-Secret-8a7b6c"
    register_secret(secret)
    plain_blob = base64.b64encode(f"\0bob@example.org\0{secret}".encode()).decode()
    xoauth2 = base64.b64encode(f"user=bob@example.org\x01auth=Bearer {secret}\x01\x01".encode()).decode()
    text = (f"raw {secret}; b64 {base64.b64encode(secret.encode()).decode()}; C: AUTH PLAIN {plain_blob}; "
            f"AUTHENTICATE XOAUTH2 {xoauth2}; Authorization: Basic "
            f"{base64.b64encode(f'bob:{secret}'.encode()).decode()}")
    masked = redact_secrets(text)
    assert secret not in masked
    assert plain_blob not in masked and xoauth2 not in masked
    assert masked.count(REDACTED) == 5
    # Ordinary protocol words that merely look like base64 are left alone.
    assert redact_secrets("250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER") == "250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER"


def test_patterns_mask_unregistered_assignments_and_sasl():
    assert "hunter2" not in redact("login with password=hunter2 failed")
    assert "dXNlcgB1c2VyAGh1bnRlcjI=" not in redact("AUTH PLAIN dXNlcgB1c2VyAGh1bnRlcjI=")


def test_libraries_stay_at_info_even_at_debug(tmp_path, monkeypatch):
    monkeypatch.setenv(log_mod.LEVEL_ENV, "debug")
    log_mod.setup(tmp_path / "t.log")
    assert logging.getLogger("tamago").level == logging.DEBUG
    for name in log_mod.LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        assert library.level >= logging.INFO and not library.propagate, name
        assert any(getattr(h, "_tamago", False) for h in library.handlers), name
    logging.getLogger("imapclient.imaplib").debug("> b'A1 LOGIN bob hunter2'")
    logging.getLogger("imapclient.imapclient").warning("a library warning, kept")
    logging.getLogger("tamago.test").debug("a tamago debug line, kept")
    for handler in logging.getLogger("tamago").handlers:
        handler.flush()
    text = (tmp_path / "t.log").read_text()
    assert "hunter2" not in text and "a library warning, kept" in text and "a tamago debug line, kept" in text


def test_level_from_the_environment(monkeypatch):
    monkeypatch.setenv(log_mod.LEVEL_ENV, "warning")
    assert log_mod.level_from_env() == logging.WARNING
    monkeypatch.setenv(log_mod.LEVEL_ENV, "chatty")
    assert log_mod.level_from_env() == logging.INFO


def test_nothing_reaches_stderr_before_or_without_a_log_file(tmp_path):
    code = ("import logging, pathlib, tamago_tui.backend.log as l\n"
            "logging.getLogger('tamago.early').error('before setup')\n"
            "p = pathlib.Path(r'%s'); p.mkdir()\n"
            "l.setup(p)\n"  # a directory: the log cannot be opened
            "logging.getLogger('tamago.late').error('no log file')\n"
            "print('done')\n") % (tmp_path / "log-is-a-directory")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and done.stdout == "done\n"
    assert done.stderr == ""


def test_a_log_that_fails_mid_run_stays_silent(tmp_path, capsys):
    log_mod.setup(tmp_path / "t.log")
    handler = next(h for h in logging.getLogger("tamago").handlers if getattr(h, "_tamago", False))
    handler.stream.close()  # as if the disk went away: every write now fails
    logging.getLogger("tamago.test").error("cannot be written")
    assert getattr(handler, "failed", False)
    assert capsys.readouterr().err == ""
    assert log_mod.log_file_of() == tmp_path / "t.log"
