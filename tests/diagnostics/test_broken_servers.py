"""The checklist against servers that misbehave, stood in for by loopback listeners."""

from __future__ import annotations

import pytest

from tamago_tui.backend.diagnostics import (
    DNS, FAIL, GREETING, LOGIN, OK, SKIPPED, STARTTLS, TCP, TLS, collect, planned_steps, run_imap_checks,
    run_smtp_checks,
)
from tamago_tui.backend.models import Security, ServerSettings

PASSWORD = "pw-never-on-the-wire-4711"


def _by_name(report):
    return {step.name: step for step in report.steps}


def test_server_that_never_greets_fails_at_greeting_with_timeout(listen, fakes):
    listener = listen(fakes.silent)
    settings = ServerSettings("127.0.0.1", listener.port, Security.STARTTLS, "user")
    report = collect(run_imap_checks(settings, PASSWORD, timeout=0.5))
    steps = _by_name(report)
    assert steps[DNS].status == OK
    assert steps[TCP].status == OK
    assert steps[GREETING].status == FAIL
    assert steps[GREETING].category == "timeout"
    assert report.category == "timeout"
    assert steps[LOGIN].status == SKIPPED
    assert PASSWORD.encode() not in bytes(listener.received)


def test_implicit_tls_to_a_silent_server_times_out_in_the_handshake(listen, fakes):
    listener = listen(fakes.silent)
    settings = ServerSettings("127.0.0.1", listener.port, Security.SSL, "user")
    report = collect(run_smtp_checks(settings, PASSWORD, timeout=0.5))
    failure = report.first_failure
    assert failure is not None and failure.name == TLS
    assert failure.category == "timeout"


def test_trickling_server_fails_by_the_step_deadline(listen, fakes):
    # Each byte arrives well within any per-read timeout; only the step deadline stops it.
    listener = listen(fakes.trickle(b"* OK still saying hello"))
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "user")
    report = collect(run_imap_checks(settings, None, timeout=0.6))
    failure = report.first_failure
    assert failure is not None and failure.name == GREETING
    assert failure.category == "timeout"


def test_closed_port_is_connection_refused(closed_port):
    settings = ServerSettings("127.0.0.1", closed_port, Security.SSL, "user")
    report = collect(run_imap_checks(settings, PASSWORD, timeout=2))
    steps = _by_name(report)
    assert steps[TCP].status == FAIL
    assert steps[TCP].category == "connection_refused"
    assert str(closed_port) in steps[TCP].detail
    assert all(steps[name].status == SKIPPED for name in (TLS, GREETING, LOGIN))
    assert report.to_dict()["category"] == "connection_refused"


def test_imap_starttls_missing_never_sends_the_password(listen, fakes):
    listener = listen(fakes.imap_without_starttls)
    settings = ServerSettings("127.0.0.1", listener.port, Security.STARTTLS, "user")
    report = collect(run_imap_checks(settings, PASSWORD, timeout=3))
    steps = _by_name(report)
    assert steps[STARTTLS].status == FAIL
    assert steps[STARTTLS].category == "starttls_unavailable"
    assert steps[LOGIN].status == SKIPPED
    received = bytes(listener.received)
    assert b"CAPABILITY" in received.upper()  # the listener did hear the client...
    assert PASSWORD.encode() not in received  # ...but never the password
    assert b"LOGIN" not in received.upper() and b"AUTHENTICATE" not in received.upper()


def test_smtp_starttls_missing_never_sends_the_password(listen, fakes):
    listener = listen(fakes.smtp_without_starttls)
    settings = ServerSettings("127.0.0.1", listener.port, Security.STARTTLS, "user")
    report = collect(run_smtp_checks(settings, PASSWORD, timeout=3))
    steps = _by_name(report)
    assert steps[STARTTLS].status == FAIL
    assert steps[STARTTLS].category == "starttls_unavailable"
    received = bytes(listener.received)
    assert b"EHLO" in received
    assert b"AUTH" not in received.upper()
    assert PASSWORD.encode() not in received


def test_unresolvable_host_is_a_dns_failure(nxdomain_server):
    settings = ServerSettings("no-such-host.example", 993, Security.SSL, "user")
    report = collect(run_imap_checks(settings, None, timeout=3, nameserver=nxdomain_server))
    assert report.steps[0].name == DNS
    assert report.steps[0].status == FAIL
    assert "no such host" in report.steps[0].detail
    assert report.category == "dns_failure"
    assert all(step.status == SKIPPED for step in report.steps[1:])


def test_silent_nameserver_is_a_dns_failure(silent_udp):
    settings = ServerSettings("mail.example", 993, Security.SSL, "user")
    report = collect(run_smtp_checks(settings, None, timeout=0.5, nameserver=silent_udp))
    assert report.steps[0].status == FAIL
    assert report.category == "dns_failure"
    assert "timed out" in report.steps[0].detail


def test_implicit_tls_against_a_plain_text_server_is_a_tls_mismatch(listen, fakes):
    listener = listen(fakes.imap_without_starttls)  # greets in plain text at once
    settings = ServerSettings("127.0.0.1", listener.port, Security.SSL, "user")
    report = collect(run_imap_checks(settings, PASSWORD, timeout=3))
    failure = report.first_failure
    assert failure is not None and failure.name == TLS
    assert failure.category == "tls_mismatch"
    assert "change the security setting" in failure.detail
    assert PASSWORD.encode() not in bytes(listener.received)


@pytest.mark.parametrize("protocol,run", [("imap", run_imap_checks), ("smtp", run_smtp_checks)])
@pytest.mark.parametrize("security", list(Security))
def test_a_run_yields_exactly_the_planned_steps(closed_port, protocol, run, security):
    settings = ServerSettings("127.0.0.1", closed_port, security, "user")
    names = [step.name for step in run(settings, None, timeout=2)]
    assert names == planned_steps(protocol, security)
