"""Every subcommand, fed garbage: exit 2 with a short usage hint, or exit 1 with a message.
Never a traceback. A bug still ends as one line on screen and a traceback in the log."""

from __future__ import annotations

import argparse
import io
import logging
import socket
import subprocess
import sys

import pytest

from tamago_tui import cli
from tamago_tui.backend import log as log_mod
from tamago_tui.backend.log import register_secret

from .conftest import ROOT, assert_clean_failure, run_tamago

# Not UTF-8 (a lone surrogate, as Python decodes such argv bytes), then valid but hostile text.
GARBAGE = ("\x01\udcff garbage;'\"$(x)", "\x01 gar\u202ebage;'\"$(x) \x1b[31m")


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for every runnable subcommand, found by walking argparse."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from leaves(child, path + (name,))


LEAVES = sorted(path for path, _ in leaves(cli.build_parser()) if path)


def parser_for(path):
    return dict(leaves(cli.build_parser()))[path]


def garbage_argv(path, parser, garbage: str) -> list[str]:
    """The subcommand with every positional, and every required option, set to garbage."""
    argv = list(path)
    for action in parser._actions:
        if action.option_strings and action.required:
            argv += [action.option_strings[0], garbage]
    for action in parser._actions:
        if not action.option_strings and action.nargs != 0 and not isinstance(action, argparse._SubParsersAction):
            argv += [garbage] * (action.nargs if isinstance(action.nargs, int) else 1)
    return argv


@pytest.fixture
def offline(monkeypatch):
    """No garbage may reach past loopback: any other connection fails at once."""
    real_connect = socket.socket.connect

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(101, "Network is unreachable (test)")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test)")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(
        OSError(101, "Network is unreachable (test)")))


def run_main(argv, capsys, monkeypatch, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def test_the_walk_finds_the_subcommands():
    assert {("accounts", "add"), ("doctor",), ("show",), ("contacts", "import"), ("explain",)} <= set(LEAVES)


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_unknown_option_is_a_short_usage_error(path, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main([*path, "--definitely-not-an-option"], capsys, monkeypatch)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"tamago {' '.join(path)}: error: ")
    assert lines[1] == f"Run `tamago {' '.join(path)} --help` for usage."


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_garbage_arguments_never_crash(path, capsys, monkeypatch, tmp_path, offline):
    monkeypatch.chdir(tmp_path)  # `contacts export GARBAGE` may write a file: here
    for argv in ([*path], *(garbage_argv(path, parser_for(path), g) for g in GARBAGE)):
        code, out, err = run_main(argv, capsys, monkeypatch)
        assert code in (0, 1, 2), (argv, code, err)
        assert "Traceback" not in err + out, (argv, err)
        assert "unexpected error" not in err, (argv, err)  # every failure is a diagnosed one
        if code:
            assert err.strip(), (argv, "a failure must say why")


def test_an_unexpected_error_is_one_line_and_a_logged_traceback(capsys, monkeypatch, tamago_home):
    from tamago_tui.cli import explain

    register_secret("Sekrit-Registered-123")

    def broken(args, services):
        raise RuntimeError("boom: password=Sekrit-Assigned-456 and Sekrit-Registered-123")

    monkeypatch.setattr(explain, "run", broken)
    code, out, err = run_main(["explain", "anything"], capsys, monkeypatch)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    log_file = tamago_home / "tamago.log"
    assert "unexpected error (RuntimeError: boom" in lines[0] and str(log_file) in lines[0]
    assert "Sekrit" not in err
    logged = log_file.read_text()
    assert "Traceback" in logged and "RuntimeError: boom" in logged and "def broken" not in logged
    assert "Sekrit" not in logged


def test_a_crash_before_the_services_exist_is_logged_too(capsys, monkeypatch, tamago_home):
    from tamago_tui.backend.services import Services

    for handler in list(logging.getLogger("tamago").handlers):  # as in a fresh process
        if getattr(handler, "_tamago", False):
            logging.getLogger("tamago").removeHandler(handler)
    monkeypatch.setattr(Services, "from_home", classmethod(lambda cls, home=None: 1 / 0))
    code, out, err = run_main(["contacts", "list"], capsys, monkeypatch)
    assert code == 1 and "ZeroDivisionError" in err and "Traceback" not in err
    assert "ZeroDivisionError" in (tamago_home / "tamago.log").read_text()
    assert log_mod.log_file_of() == tamago_home / "tamago.log"


def test_an_unexpected_error_in_a_real_process(tamago_home):
    code = ("import sys, tamago_tui.cli.explain as e\n"
            "def broken(args, services):\n    raise KeyError('no such thing')\n"
            "e.run = broken\n"
            "from tamago_tui.cli import main\nsys.exit(main(['explain', 'x']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "unexpected error (KeyError" in result.stderr and "tamago.log" in result.stderr
    assert "Traceback" in (tamago_home / "tamago.log").read_text()


def test_arguments_that_are_not_utf8(tamago_home):
    for argv in (["show", b"\xff\xfe-missing.eml"], ["contacts", "add", b"N\xe9e", "--email", b"n\xe9e@example.org"],
                 ["lookup", b"\xff.example"], ["explain", b"\xff\xfe auth failed"]):
        result = subprocess.run([sys.executable, "-m", "tamago_tui", *argv], capture_output=True, cwd=ROOT,
                                timeout=120, env={**__import__("os").environ, "PYTHONIOENCODING": "utf-8"})
        stderr = result.stderr.decode("utf-8", "replace")
        assert result.returncode in (0, 1, 2), (argv, stderr)
        assert "Traceback" not in stderr, (argv, stderr)


def test_a_closed_pipe_ends_quietly(tmp_path, tamago_home):
    big = tmp_path / "big.eml"
    big.write_bytes(b"From: a@example.org\r\nSubject: long\r\n\r\n" + b"line of text\r\n" * 400000)
    proc = subprocess.Popen([sys.executable, "-m", "tamago_tui", "show", str(big)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout.read(100)
    proc.stdout.close()  # like `| head`
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert stderr == ""


def test_an_unwritable_log_does_not_get_in_the_way(tamago_home):
    (tamago_home / "tamago.log").mkdir(parents=True)  # a directory where the log file should be
    result = run_tamago("contacts", "add", "Ada", "--email", "ada@example.org", home=tamago_home)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    missing = run_tamago("contacts", "show", "nobody@example.org", home=tamago_home)
    assert_clean_failure(missing)


def test_stdin_that_is_not_utf8(tamago_home):
    env = {**__import__("os").environ, "PYTHONIOENCODING": "utf-8"}  # strict decoding, as in a UTF-8 locale

    def run(*args: str, stdin: bytes) -> tuple[int, str, str]:
        done = subprocess.run([sys.executable, "-m", "tamago_tui", *args], input=stdin, capture_output=True,
                              cwd=ROOT, timeout=120, env=env)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    code, out, err = run("explain", "-", "--json", stdin=b"\xff\xfe a001 NO [AUTHENTICATIONFAILED] failed")
    assert code == 0 and "Traceback" not in err
    assert __import__("json").loads(out)["category"] == "invalid_credentials"
    code, out, err = run("doctor", "a@example.test", "--imap-host", "127.0.0.1", "--imap-port", "1",
                         "--only", "imap", "--password-stdin", stdin=b"pass\xffword\n")
    assert code == 2 and "not UTF-8" in err and "Traceback" not in err


def test_nothing_printed_can_drive_the_terminal(tmp_path, tamago_home):
    """Names from an imported file (or subjects from a server) are shown, never obeyed."""
    import os
    import pty

    evil = "\x1b[2J\x1b]0;owned\x07Eve\x9b31m"
    vcf = tmp_path / "evil.vcf"
    vcf.write_text(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{evil}\r\nEMAIL:eve@example.org\r\nNOTE:{evil}\r\n"
                   "END:VCARD\r\n", encoding="utf-8")
    assert run_tamago("contacts", "import", str(vcf), home=tamago_home).returncode == 0

    def on_a_terminal(*args: str) -> str:
        master, slave = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "tamago_tui", *args], stdin=subprocess.DEVNULL,
                                stdout=slave, stderr=slave, cwd=ROOT, env={**os.environ, "TAMAGO_HOME": str(tamago_home)})
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=120)
        os.close(master)
        return b"".join(chunks).decode("utf-8", "replace")

    listing = on_a_terminal("contacts", "list")
    shown = on_a_terminal("contacts", "show", "eve@example.org")
    missing = on_a_terminal("contacts", "show", "\x1b[31mnobody")
    for text in (listing, shown, missing):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, ascii(text)
    assert "\\x1b[2J\\x1b]0;owned\\x07Eve\\x9b31m" in listing
    assert "\\x1b[31mnobody" in missing
