"""Pure pieces of the connection test: parsers, the step model, the report shape."""

from __future__ import annotations

import pytest

from tamago_tui.backend.diagnostics import (
    FAIL, OK, SKIPPED, WARN, Report, Step, format_report, format_step, planned_steps,
)
from tamago_tui.backend.diagnostics.imap_checks import Literal, astring, parse_list_line, special_use
from tamago_tui.backend.diagnostics.smtp_checks import parse_ehlo


@pytest.mark.parametrize(
    "line,name,flags,delimiter",
    [
        (b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n', "Sent", ("\\HasNoChildren", "\\Sent"), "/"),
        (b'* LIST (\\HasChildren) "." "Other Users"\r\n', "Other Users", ("\\HasChildren",), "."),
        (b'* LIST (\\Noselect) NIL ""\r\n', "", ("\\Noselect",), ""),
        (b'* LIST (\\All \\HasNoChildren) "/" "[Gmail]/All Mail"\r\n', "[Gmail]/All Mail",
         ("\\All", "\\HasNoChildren"), "/"),
        (b'* LIST () "/" {9}\r\nSay "hi"!\r\n', 'Say "hi"!', (), "/"),
        (b'* LIST () "/" "Entw&APw-rfe"\r\n', "Entwürfe", (), "/"),
        (b'* LIST () "/" "back\\\\slash \\"q\\""\r\n', 'back\\slash "q"', (), "/"),
        (b'* XLIST (\\Inbox) "/" "Inbox"\r\n', "Inbox", ("\\Inbox",), "/"),
    ],
)
def test_list_lines(line, name, flags, delimiter):
    folder = parse_list_line(line)
    assert folder == {"name": name, "flags": flags, "delimiter": delimiter}


def test_not_a_list_line():
    assert parse_list_line(b"* STATUS INBOX (MESSAGES 3)\r\n") is None


def test_special_use_is_case_insensitive_and_ignores_other_flags():
    folder = {"name": "x", "flags": ("\\HasNoChildren", "\\sent", "\\Junk"), "delimiter": "/"}
    assert special_use(folder) == ["\\Sent", "\\Junk"]


def test_astring_quotes_or_uses_a_literal():
    assert astring('a"b\\c') == b'"a\\"b\\\\c"'
    literal = astring("pässword")
    assert isinstance(literal, Literal) and literal.data == "pässword".encode()
    assert isinstance(astring(""), Literal)  # an empty quoted string would also do; a literal is safe


def test_ehlo_extensions():
    lines = ["mail.test greets you", "PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN", "AUTH=CRAM-MD5", "8BITMIME"]
    ext = parse_ehlo(lines)
    assert ext["SIZE"] == "10240000"
    assert ext["AUTH"].split() == ["PLAIN", "LOGIN", "CRAM-MD5"]
    assert "PIPELINING" in ext and "8BITMIME" in ext


def test_step_json_has_exactly_the_contract_keys():
    ok = Step("imap", "Login", OK, "logged in", data={"x": 1})
    failed = Step("smtp", "TCP connect", FAIL, "refused", "connection_refused")
    assert ok.to_dict() == {"protocol": "imap", "name": "Login", "status": "ok", "detail": "logged in"}
    assert failed.to_dict() == {"protocol": "smtp", "name": "TCP connect", "status": "fail", "detail": "refused",
                                "category": "connection_refused"}


def test_report_category_is_the_first_failure():
    report = Report((
        Step("imap", "DNS resolution", OK, "a"),
        Step("imap", "TLS handshake", FAIL, "b", "certificate_invalid"),
        Step("imap", "Login", SKIPPED, "c"),
        Step("smtp", "TCP connect", FAIL, "d", "connection_refused"),
    ))
    data = report.to_dict()
    assert data["ok"] is False and data["category"] == "certificate_invalid"
    assert [s["status"] for s in data["steps"]] == ["ok", "fail", "skipped", "fail"]
    assert set(data) == {"ok", "category", "steps"}
    assert Report((Step("imap", "x", WARN, ""),)).to_dict() == {
        "ok": True, "category": None, "steps": [{"protocol": "imap", "name": "x", "status": "warn", "detail": ""}]}


def test_checklist_lines():
    assert format_step(Step("imap", "TLS handshake", OK, "TLSv1.3")) == "[ ok ] IMAP TLS handshake  TLSv1.3"
    line = format_step(Step("smtp", "Login", FAIL, "refused", "invalid_credentials"))
    assert line == "[FAIL] SMTP Login  refused  (category: invalid_credentials)"
    text = format_report(Report((Step("smtp", "Login", FAIL, "refused", "invalid_credentials"),)))
    assert "failed at 'Login'" in text


def test_plans_put_starttls_before_the_handshake_and_login_last():
    plan = planned_steps("imap", "starttls")
    assert plan.index("STARTTLS") < plan.index("TLS handshake") < plan.index("Login") < plan.index("Folders")
    plan = planned_steps("smtp", "ssl")
    assert plan.index("TLS handshake") < plan.index("Greeting") and plan[-1] == "Login"
    assert "Folders" not in plan
