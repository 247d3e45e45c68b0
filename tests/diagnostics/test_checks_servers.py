"""The connection layer and the checklist against the real Dovecot, SMTP and DNS servers."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from tamago_tui.backend import imap, smtp
from tamago_tui.backend.diagnostics import (
    AUTH, CAPABILITIES_TLS, DNS, FAIL, FOLDERS, GREETING, LOGIN, OK, SKIPPED, STARTTLS, TLS, WARN,
    collect, run_imap_checks, run_smtp_checks, send_test_email,
)
from tamago_tui.backend.errors import AuthError, NetworkError
from tamago_tui.backend.models import Account, Security, ServerSettings
from tests.diagnostics.serverhelp import assert_no_login_attempt, imap_login_log_since, leaf_fingerprint, log_size

pytestmark = pytest.mark.servers


def by_name(report) -> dict:
    return {step.name: step for step in report.steps}


def imap_settings(server, user, mode: str = "imaps", **changes) -> ServerSettings:
    if mode == "imaps":
        settings = ServerSettings("localhost", server.ports["imaps"], Security.SSL, user.login)
    else:
        security = Security.STARTTLS if mode == "starttls" else Security.NONE
        settings = ServerSettings("localhost", server.ports["imap"], security, user.login)
    return settings.with_(**changes)


# ----- IMAP checklist -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["imaps", "starttls"])
def test_imap_good_login_in_both_tls_modes(dovecot, test_ca, mode):
    user = dovecot.alice
    report = collect(run_imap_checks(imap_settings(dovecot, user, mode), user.password,
                                     cafile=str(test_ca.cafile), timeout=10))
    steps = by_name(report)
    assert report.ok, [s.to_dict() for s in report.steps if s.status != OK]
    assert steps[TLS].status == OK and "verified" in steps[TLS].detail and "matches: yes" in steps[TLS].detail
    assert steps[TLS].detail.startswith(("TLSv1.2", "TLSv1.3"))
    assert steps[GREETING].detail.startswith("* OK")
    assert steps[LOGIN].status == OK and user.login in steps[LOGIN].detail
    folders = dict(steps[FOLDERS].data["folders"])
    assert "\\Sent" in folders["Sent"] and "\\Junk" in folders["Junk"] and "INBOX" in folders
    assert "\\Sent Sent" in steps[FOLDERS].detail
    if mode == "starttls":
        assert steps[STARTTLS].status == OK and steps[STARTTLS].detail == "offered and used"
        assert steps[CAPABILITIES_TLS].status == OK
        assert "STARTTLS" not in steps[CAPABILITIES_TLS].detail.split()
    else:
        assert steps[STARTTLS].status == SKIPPED


def test_imap_gmail_folders_carry_their_special_use(dovecot, test_ca):
    user = dovecot.gmail
    report = collect(run_imap_checks(imap_settings(dovecot, user), user.password, cafile=str(test_ca.cafile)))
    folders = dict(by_name(report)[FOLDERS].data["folders"])
    assert "\\All" in folders["[Gmail]/All Mail"]
    assert "\\Important" in folders["[Gmail]/Important"]


def test_imap_bad_password_is_invalid_credentials(dovecot, test_ca):
    user = dovecot.alice
    report = collect(run_imap_checks(imap_settings(dovecot, user), user.password + "-wrong",
                                     cafile=str(test_ca.cafile)))
    steps = by_name(report)
    assert steps[LOGIN].status == FAIL
    assert steps[LOGIN].category == "invalid_credentials"
    assert "AUTHENTICATIONFAILED" in steps[LOGIN].detail
    assert steps[FOLDERS].status == SKIPPED
    assert report.category == "invalid_credentials"


def test_imap_without_a_password_stops_before_login(dovecot, test_ca):
    report = collect(run_imap_checks(imap_settings(dovecot, dovecot.alice), None, cafile=str(test_ca.cafile)))
    steps = by_name(report)
    assert report.ok
    assert steps[AUTH].status == OK and "PLAIN" in steps[AUTH].detail
    assert steps[LOGIN].status == SKIPPED and "no password" in steps[LOGIN].detail
    assert steps[FOLDERS].status == SKIPPED


def test_imap_starttls_not_offered_never_sends_the_password(dovecot_factory, test_ca):
    server = dovecot_factory(starttls=False)
    user = server.alice
    offset = log_size(server)
    report = collect(run_imap_checks(imap_settings(server, user, "starttls"), user.password,
                                     cafile=str(test_ca.cafile)))
    steps = by_name(report)
    assert steps[STARTTLS].status == FAIL
    assert steps[STARTTLS].category == "starttls_unavailable"
    assert steps[LOGIN].status == SKIPPED
    # Dovecot logs every client that left without authenticating, and every login.
    assert_no_login_attempt(imap_login_log_since(server, offset))


def test_imap_security_none_is_warned_but_works(dovecot_factory, test_ca):
    server = dovecot_factory(starttls=False)
    user = server.alice
    offset = log_size(server)
    report = collect(run_imap_checks(imap_settings(server, user, "none"), user.password))
    steps = by_name(report)
    assert report.ok
    assert steps[TLS].status == WARN and "clear text" in steps[TLS].detail
    assert steps[LOGIN].status == OK
    # The control for assert_no_login_attempt: a login that did happen shows in the log.
    assert f"Login: user=<{user.login}>" in imap_login_log_since(server, offset)


@pytest.mark.parametrize("variant", ["self_signed", "wrong_host"])
def test_imap_untrusted_certificate_fails_with_its_fingerprint_then_pinning_passes(dovecot_factory, test_ca, variant):
    server = dovecot_factory(cert=variant)
    user = server.alice
    expected = leaf_fingerprint(test_ca, variant)
    settings = imap_settings(server, user)
    report = collect(run_imap_checks(settings, user.password, cafile=str(test_ca.cafile)))
    steps = by_name(report)
    assert steps[TLS].status == FAIL
    assert steps[TLS].category == "certificate_invalid"
    assert expected in steps[TLS].detail
    assert steps[TLS].data["sha256"] == expected
    if variant == "wrong_host":
        assert "matches: NO" in steps[TLS].detail
    assert steps[LOGIN].status == SKIPPED

    pinned = collect(run_imap_checks(settings.with_(pinned_sha256=expected), user.password,
                                     cafile=str(test_ca.cafile)))
    assert pinned.ok, [s.to_dict() for s in pinned.steps if s.status != OK]
    assert "pinned fingerprint" in by_name(pinned)[TLS].detail
    assert by_name(pinned)[LOGIN].status == OK


def test_imap_pin_of_another_certificate_is_refused(dovecot, test_ca):
    user = dovecot.alice
    settings = imap_settings(dovecot, user, "starttls", pinned_sha256="00" * 32)
    report = collect(run_imap_checks(settings, user.password, cafile=str(test_ca.cafile)))
    tls_step = by_name(report)[TLS]
    assert tls_step.status == FAIL and tls_step.category == "certificate_invalid"
    assert "does not match the pinned" in tls_step.detail
    assert tls_step.data["sha256"] == leaf_fingerprint(test_ca, "server")


def test_dns_through_the_loopback_nameserver(dns_server, dovecot, test_ca):
    user = dovecot.alice
    settings = ServerSettings("mail.example.test", dovecot.ports["imaps"], Security.SSL, user.login)
    report = collect(run_imap_checks(settings, user.password, cafile=str(test_ca.cafile),
                                     nameserver=dns_server.nameserver))
    steps = by_name(report)
    assert report.ok
    assert "127.0.0.1" in steps[DNS].detail and dns_server.nameserver in steps[DNS].detail
    assert "hostname mail.example.test matches: yes" in steps[TLS].detail


def test_unresolvable_host_via_the_loopback_nameserver(dns_server):
    settings = ServerSettings("nosuchhost.example.test", 993, Security.SSL, "someone")
    report = collect(run_smtp_checks(settings, "pw-xyz", nameserver=dns_server.nameserver, timeout=5))
    assert report.steps[0].name == DNS and report.steps[0].status == FAIL
    assert report.category == "dns_failure"
    assert "no such host" in report.steps[0].detail


# ----- SMTP checklist -------------------------------------------------------------------------


@pytest.mark.parametrize("listener,security", [("smtps", Security.SSL), ("submission", Security.STARTTLS)])
def test_smtp_good_login_in_both_tls_modes(smtp_server, dovecot, test_ca, listener, security):
    user = dovecot.alice
    settings = ServerSettings("localhost", smtp_server.ports[listener], security, user.login)
    report = collect(run_smtp_checks(settings, user.password, cafile=str(test_ca.cafile)))
    steps = by_name(report)
    assert report.ok, [s.to_dict() for s in report.steps if s.status != OK]
    assert steps[GREETING].detail.startswith("220 ")
    assert steps[LOGIN].status == OK
    assert "PLAIN" in steps[AUTH].data["mechanisms"]
    if security is Security.STARTTLS:
        assert "STARTTLS" in steps["EHLO"].detail and "AUTH" not in steps["EHLO"].data["extensions"]
        assert "AUTH" in steps["EHLO after TLS"].data["extensions"]


def test_smtp_bad_password_is_invalid_credentials(smtp_server, dovecot, test_ca):
    user = dovecot.alice
    settings = ServerSettings("localhost", smtp_server.ports["submission"], Security.STARTTLS, user.login)
    report = collect(run_smtp_checks(settings, "not-" + user.password, cafile=str(test_ca.cafile)))
    assert by_name(report)[LOGIN].status == FAIL
    assert report.category == "invalid_credentials"
    assert "535" in by_name(report)[LOGIN].detail


def test_smtp_starttls_not_offered_never_authenticates(smtp_factory, dovecot, test_ca):
    server = smtp_factory()  # a private server, so its log holds only this test's sessions
    user = dovecot.alice
    settings = ServerSettings("localhost", server.ports["plain"], Security.STARTTLS, user.login)
    report = collect(run_smtp_checks(settings, user.password, cafile=str(test_ca.cafile)))
    steps = by_name(report)
    assert steps[STARTTLS].status == FAIL and steps[STARTTLS].category == "starttls_unavailable"
    assert steps[LOGIN].status == SKIPPED
    log = server.log_tail(500)
    assert ">> b'EHLO" in log  # the server logs each command it receives...
    assert ">> b'AUTH" not in log  # ...and no AUTH ever came


def test_smtp_self_signed_then_pinned(smtp_factory, dovecot, test_ca):
    server = smtp_factory(cert="self_signed")
    user = dovecot.alice
    expected = leaf_fingerprint(test_ca, "self_signed")
    settings = ServerSettings("localhost", server.ports["smtps"], Security.SSL, user.login)
    report = collect(run_smtp_checks(settings, user.password, cafile=str(test_ca.cafile)))
    assert report.category == "certificate_invalid"
    assert by_name(report)[TLS].data["sha256"] == expected
    pinned = collect(run_smtp_checks(settings.with_(pinned_sha256=expected), user.password))
    assert pinned.ok


# ----- imap.connect / smtp.connect (what sync and send use) ---------------------------------


@pytest.mark.parametrize("mode", ["imaps", "starttls"])
def test_imap_connect_logs_in(dovecot, test_ca, mode):
    user = dovecot.alice
    client = imap.connect(imap_settings(dovecot, user, mode), user.password, cafile=str(test_ca.cafile), timeout=10)
    try:
        assert isinstance(client.socket(), ssl.SSLSocket)
        assert client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"] > 0
    finally:
        client.logout()


def test_imap_connect_errors_are_categorised(dovecot, dovecot_factory, test_ca):
    user = dovecot.alice
    with pytest.raises(AuthError) as bad:
        imap.connect(imap_settings(dovecot, user), "wrong", cafile=str(test_ca.cafile))
    assert bad.value.category == "invalid_credentials"
    with pytest.raises(NetworkError) as untrusted:
        imap.connect(imap_settings(dovecot, user), user.password)  # the test CA is not trusted
    assert untrusted.value.category == "certificate_invalid"
    assert untrusted.value.fingerprint == leaf_fingerprint(test_ca, "server")

    plain = dovecot_factory(starttls=False)
    offset = log_size(plain)
    with pytest.raises(NetworkError) as no_tls:
        imap.connect(imap_settings(plain, plain.alice, "starttls"), plain.alice.password, cafile=str(test_ca.cafile))
    assert no_tls.value.category == "starttls_unavailable"
    assert_no_login_attempt(imap_login_log_since(plain, offset))


def test_imap_connect_with_a_pin(dovecot_factory, test_ca):
    server = dovecot_factory(cert="wrong_host")
    user = server.alice
    settings = imap_settings(server, user, pinned_sha256=leaf_fingerprint(test_ca, "wrong_host"))
    client = imap.connect(settings, user.password, timeout=10)
    try:
        assert client.list_folders()
    finally:
        client.logout()


def test_imap_literal_cap_refuses_big_literals(dovecot, imap_user, test_ca):
    body = b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n"
    dovecot.append(imap_user, "INBOX", body)
    client = imap.connect(imap_settings(dovecot, imap_user), imap_user.password, cafile=str(test_ca.cafile),
                          max_literal_bytes=1000)
    client.select_folder("INBOX", readonly=True)
    with pytest.raises(imap.LiteralTooLarge):
        client.fetch("1:*", ["BODY.PEEK[]"])


def test_smtp_connect_and_errors(smtp_server, dovecot, test_ca):
    user = dovecot.alice

    async def scenario():
        good = await smtp.connect(ServerSettings("localhost", smtp_server.ports["submission"], Security.STARTTLS,
                                                 user.login), user.password, cafile=str(test_ca.cafile), timeout=10)
        assert good.get_transport_info("sslcontext") is not None
        assert "auth" in good.esmtp_extensions
        await good.quit()
        failures = {}
        for name, settings, password, cafile in (
            ("plain", ServerSettings("localhost", smtp_server.ports["plain"], Security.STARTTLS, user.login),
             user.password, str(test_ca.cafile)),
            ("bad", ServerSettings("localhost", smtp_server.ports["smtps"], Security.SSL, user.login),
             "wrong", str(test_ca.cafile)),
            ("untrusted", ServerSettings("localhost", smtp_server.ports["smtps"], Security.SSL, user.login),
             user.password, ""),
        ):
            with pytest.raises(NetworkError) as caught:
                await smtp.connect(settings, password, cafile=cafile, timeout=10)
            failures[name] = caught.value
        return failures

    failures = asyncio.run(scenario())
    assert failures["plain"].category == "starttls_unavailable"
    assert failures["bad"].category == "invalid_credentials"
    assert failures["untrusted"].category == "certificate_invalid"
    assert failures["untrusted"].fingerprint == leaf_fingerprint(test_ca, "server")


def test_send_test_email_reaches_the_inbox(smtp_server, dovecot, imap_user, test_ca):
    account = Account(
        name="t", email=imap_user.address,
        imap=imap_settings(dovecot, imap_user),
        smtp=ServerSettings("localhost", smtp_server.ports["submission"], Security.STARTTLS, imap_user.login),
        cafile=str(test_ca.cafile),
    )
    message_id = send_test_email(account, imap_user.password, timeout=10)
    dovecot.wait_for_message(imap_user, "INBOX")
    received = smtp_server.messages()[-1]
    assert received.rcpt_tos == [imap_user.address]
    assert received.auth_user == imap_user.login and received.tls
    assert b"Subject: tamago test message" in received.data
    assert message_id.encode() in received.data
