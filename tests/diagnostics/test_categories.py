"""The first failure's category: fixed by the step, or read from the server's words for a refused login."""

from __future__ import annotations

import socket

from tamago_tui.backend.diagnostics import LOGIN, collect, run_imap_checks, run_smtp_checks
from tamago_tui.backend.diagnostics.steps import StepFailed, category_for
from tamago_tui.backend.models import Security, ServerSettings


def imap_refusing(reply: bytes):
    """Plain-text IMAP that answers LOGIN with `reply` (security 'none' keeps it simple)."""

    def handler(client: socket.socket, listener) -> None:
        client.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
        while True:
            line = listener.recv_line(client)
            if not line:
                return
            tag = line.split(b" ", 1)[0]
            if b" LOGIN " in line.upper():
                client.sendall(tag + b" " + reply + b"\r\n")
            else:
                client.sendall(tag + b" OK done\r\n")

    return handler


def smtp_refusing(reply: bytes):
    def handler(client: socket.socket, listener) -> None:
        client.sendall(b"220 fake ESMTP\r\n")
        while True:
            line = listener.recv_line(client)
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                client.sendall(b"250-fake\r\n250 AUTH PLAIN LOGIN\r\n")
            elif verb == b"AUTH":
                client.sendall(reply + b"\r\n")
            else:
                client.sendall(b"221 bye\r\n")
                return

    return handler


def login_category(report) -> str:
    step = next(s for s in report.steps if s.name == LOGIN)
    assert step.status == "fail"
    return step.category


def test_gmail_app_password_refusal_over_imap(listen):
    listener = listen(imap_refusing(b"NO [ALERT] Application-specific password required: "
                                    b"https://support.google.com/accounts/answer/185833 (Failure)"))
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "someone@gmail.com")
    report = collect(run_imap_checks(settings, "pw-1234", provider="gmail", timeout=3))
    assert login_category(report) == "app_password_required"
    assert report.category == "app_password_required"


def test_plain_wrong_password_stays_invalid_credentials(listen):
    listener = listen(imap_refusing(b"NO [AUTHENTICATIONFAILED] Authentication failed."))
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "someone@example.test")
    assert login_category(collect(run_imap_checks(settings, "pw-1234", timeout=3))) == "invalid_credentials"


def test_office365_basic_auth_disabled_over_smtp(listen):
    listener = listen(smtp_refusing(b"535 5.7.139 Authentication unsuccessful, basic authentication is disabled."))
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "someone@contoso.example")
    report = collect(run_smtp_checks(settings, "pw-1234", provider="office365", timeout=3))
    assert login_category(report) == "basic_auth_disabled"


def test_temporary_failure_is_server_unavailable(listen):
    listener = listen(imap_refusing(b"NO [UNAVAILABLE] Temporary authentication failure"))
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "someone@example.test")
    assert login_category(collect(run_imap_checks(settings, "pw-1234", timeout=3))) == "server_unavailable"


def test_a_category_fixed_by_its_step_is_kept_whatever_the_wording():
    exc = StepFailed("the server does not offer STARTTLS; login refused: wrong password", category="starttls_unavailable")
    assert category_for(exc, protocol="imap", port=143, security="starttls") == "starttls_unavailable"
