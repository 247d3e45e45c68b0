"""The classifier on failures produced by the real test servers (Dovecot, the SMTP
submission server, dnsmasq): the wording, codes and exceptions are the real ones."""

from __future__ import annotations

import asyncio
import ssl

import aiosmtplib
import dns.resolver
import pytest
from imapclient import IMAPClient

from tamago_tui.backend.troubleshoot import classify, diagnose

pytestmark = pytest.mark.servers


def raised(call) -> BaseException:
    with pytest.raises(BaseException) as info:
        call()
    return info.value


def smtp_failure(server, listener: str, action=None, **options) -> BaseException:
    async def attempt():
        context = ssl.create_default_context(cafile=str(server.cafile))
        client = aiosmtplib.SMTP(hostname="localhost", port=server.ports[listener], timeout=10,
                                 tls_context=context, **options)
        await client.connect()
        try:
            if action:
                await action(client)
        finally:
            client.close()

    return raised(lambda: asyncio.run(attempt()))


def test_dovecot_wrong_password(dovecot):
    client = dovecot.connect(mode="imaps")
    error = raised(lambda: client.login(dovecot.alice.login, "not-the-password"))
    client.shutdown()
    assert "AUTHENTICATIONFAILED" in str(error)
    explanation = diagnose(error)
    assert explanation.category == "invalid_credentials"
    assert explanation.confidence >= 0.5


def test_tls_client_on_dovecot_starttls_port(dovecot, test_ca):
    error = raised(lambda: IMAPClient("localhost", port=dovecot.ports["imap"], ssl=True,
                                      ssl_context=test_ca.client_context(), timeout=10))
    assert isinstance(error, ssl.SSLError)
    assert classify(error, protocol="imap", port=143, security="ssl").category == "tls_mismatch"


@pytest.mark.parametrize("variant", ["expired", "wrong_host", "self_signed"])
def test_dovecot_with_a_bad_certificate(dovecot_factory, test_ca, variant):
    server = dovecot_factory(cert=variant)
    error = raised(lambda: IMAPClient("localhost", port=server.ports["imaps"], ssl=True,
                                      ssl_context=test_ca.client_context(), timeout=10))
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert classify(error).category == "certificate_invalid"


def test_dovecot_without_starttls(dovecot_factory):
    server = dovecot_factory(starttls=False)
    client = IMAPClient("localhost", port=server.ports["imap"], ssl=False, timeout=10)
    error = raised(client.starttls)
    client.shutdown()
    assert classify(error, protocol="imap", security="starttls").category == "starttls_unavailable"


async def _login(client, password: str = "not-the-password"):
    await client.login("alice@example.test", password)


async def _send(client):
    await client.sendmail("alice@example.test", ["bob@example.test"], b"Subject: hi\r\n\r\nhello\r\n")


def test_submission_login_before_starttls(smtp_server):
    error = smtp_failure(smtp_server, "submission", _login, start_tls=False)
    assert classify(error, protocol="smtp", port=587, security="none").category == "tls_required"


def test_submission_wrong_password(smtp_server):
    error = smtp_failure(smtp_server, "submission", _login, start_tls=True)
    assert classify(error, protocol="smtp").category == "invalid_credentials"


def test_submission_mail_without_login(smtp_server):
    error = smtp_failure(smtp_server, "submission", _send, start_tls=True)
    assert classify(error, protocol="smtp").category == "auth_required"


def test_plain_listener_offers_no_starttls(smtp_server):
    error = smtp_failure(smtp_server, "plain", start_tls=True)
    assert classify(error, protocol="smtp", security="starttls").category == "starttls_unavailable"


def test_temporary_failure_after_data(smtp_server, dovecot):
    smtp_server.configure(tempfail=1)

    async def login_and_send(client):
        await client.login(dovecot.alice.login, dovecot.alice.password)
        await _send(client)

    error = smtp_failure(smtp_server, "submission", login_and_send, start_tls=True)
    assert classify(error, protocol="smtp").category == "server_unavailable"


def test_unknown_name_in_discovery(dns_server):
    resolver = dns_server.resolver()
    error = raised(lambda: resolver.resolve("nosuch.example.test", "MX"))
    assert isinstance(error, dns.resolver.NXDOMAIN)
    assert classify(error).category == "dns_failure"
