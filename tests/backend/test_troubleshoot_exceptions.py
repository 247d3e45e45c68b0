"""Real exceptions, raised by the real client libraries over loopback, classified.

Nothing here is constructed by hand except the TamagoError cases: the SSL,
socket, imapclient, imaplib and aiosmtplib errors come from actual connection
attempts against scripted servers or aiosmtpd on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import aiosmtplib
import imapclient
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tamago_tui.backend.errors import AuthError, NetworkError
from tamago_tui.backend.troubleshoot import classify, diagnose

from .scripted_servers import ScriptedServer, closed_port, imap_script

DOVECOT_GREETING = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready."


def raised(call) -> BaseException:
    with pytest.raises(BaseException) as info:
        call()
    return info.value


def imap(port: int, *, ssl_on: bool = False, timeout: float = 3, context: ssl.SSLContext | None = None):
    return imapclient.IMAPClient("127.0.0.1", port=port, ssl=ssl_on, timeout=timeout, ssl_context=context)


def smtp_failure(port: int, action=None, **options) -> BaseException:
    async def attempt():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=3, **options)
        await client.connect()
        try:
            if action:
                await action(client)
        finally:
            client.close()

    return raised(lambda: asyncio.run(attempt()))


# --- network and TLS ---------------------------------------------------------------
def test_tls_client_on_a_plain_port_is_a_tls_mismatch():
    with ScriptedServer(DOVECOT_GREETING) as server:
        error = raised(lambda: imap(server.port, ssl_on=True))
    assert isinstance(error, ssl.SSLError)
    loose = classify(error)
    assert loose.category == "tls_mismatch"
    with_context = classify(error, protocol="imap", port=143, security="ssl")
    assert with_context.category == "tls_mismatch"
    assert with_context.confidence >= loose.confidence
    assert any("port 143" in reason for reason in with_context.evidence)
    assert not any("port" in reason for reason in loose.evidence)


def test_plain_client_on_an_implicit_tls_port_times_out_and_context_calls_it_a_mismatch():
    with ScriptedServer(greeting="") as server:  # a TLS port says nothing until the client speaks TLS
        error = raised(lambda: imap(server.port, timeout=0.5))
    assert isinstance(error, TimeoutError)
    assert classify(error).category == "timeout"
    assert classify(error, protocol="imap", port=993, security="starttls").category == "tls_mismatch"


def test_untrusted_certificate():
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    with ScriptedServer(DOVECOT_GREETING, tls=server_context) as server:
        error = raised(lambda: imap(server.port, ssl_on=True, context=ssl.create_default_context()))
    assert isinstance(error, ssl.SSLCertVerificationError)
    diagnosis = classify(error)
    assert diagnosis.category == "certificate_invalid"
    assert diagnosis.confidence >= 0.8


def test_unresolvable_name_is_a_dns_failure():
    # AI_NUMERICHOST makes getaddrinfo fail locally: a real gaierror, no DNS traffic.
    error = raised(lambda: socket.getaddrinfo("imap example invalid", 993, flags=socket.AI_NUMERICHOST))
    assert isinstance(error, socket.gaierror)
    assert classify(error).category == "dns_failure"


def test_closed_port_is_connection_refused_for_both_libraries():
    port = closed_port()
    imap_error = raised(lambda: imap(port))
    assert isinstance(imap_error, ConnectionRefusedError)
    assert classify(imap_error).category == "connection_refused"
    smtp_error = smtp_failure(port, start_tls=False)
    assert isinstance(smtp_error, aiosmtplib.SMTPConnectError)
    assert classify(smtp_error).category == "connection_refused"


# --- other protocols on the port -------------------------------------------------------
def test_pop3_server_on_the_imap_port():
    with ScriptedServer("+OK Dovecot (Debian) ready.") as server:
        error = raised(lambda: imap(server.port))
    assert classify(error).category == "pop3_only"


@pytest.mark.parametrize(
    "greeting",
    ["220 mail.example.com ESMTP Postfix (Debian/GNU)", "HTTP/1.1 400 Bad Request", "SSH-2.0-OpenSSH_9.2p1 Debian-2"],
)
def test_other_services_on_the_imap_port(greeting):
    with ScriptedServer(greeting) as server:
        error = raised(lambda: imap(server.port))
    assert classify(error).category == "wrong_service"


def test_imap_server_on_the_smtp_port():
    with ScriptedServer(DOVECOT_GREETING) as server:
        error = smtp_failure(server.port, start_tls=False)
    assert isinstance(error, aiosmtplib.SMTPResponseException)
    assert classify(error).category == "wrong_service"


def test_pop3_server_on_the_smtp_port():
    with ScriptedServer("+OK POP3 server ready <1896.697170952@mail.example.com>") as server:
        error = smtp_failure(server.port, start_tls=False)
    assert classify(error).category == "pop3_only"


# --- IMAP login answers (imapclient) ----------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "category"),
    [
        ("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.", "invalid_credentials"),
        ("{tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.",
         "tls_required"),
        ("{tag} NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)",
         "app_password_required"),
        ("{tag} NO [ALERT] Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable "
         "your account for IMAP access. (Failure)", "imap_disabled"),
        ("{tag} NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)",
         "too_many_connections"),
    ],
)
def test_imap_login_failures(reply, category):
    with ScriptedServer(DOVECOT_GREETING, imap_script(LOGIN=reply)) as server:
        client = imap(server.port)
        error = raised(lambda: client.login("jane@example.com", "not-the-password"))
    assert isinstance(error, imapclient.exceptions.LoginError)
    assert classify(error, protocol="imap").category == category


def test_office365_authenticate_failed_means_basic_auth_is_off_or_the_token_is_wrong():
    greeting = "* OK The Microsoft Exchange IMAP4 service is ready."
    with ScriptedServer(greeting, imap_script(LOGIN="{tag} NO LOGIN failed.")) as server:
        client = imap(server.port)
        error = raised(lambda: client.login("jane@example.com", "secret"))
    assert classify(error).category == "invalid_credentials"
    assert classify(error, provider="office365", protocol="imap").category == "basic_auth_disabled"
    assert classify(error, provider="office365", protocol="imap", auth="oauth2").category == "oauth_misconfigured"


def test_starttls_not_offered_by_the_imap_server():
    with ScriptedServer(DOVECOT_GREETING.replace("SASL-IR", "SASL-IR"), imap_script()) as server:
        client = imap(server.port)
        error = raised(client.starttls)
    assert classify(error, protocol="imap", security="starttls").category == "starttls_unavailable"


# --- SMTP against a real SMTP server (aiosmtpd) -----------------------------------------
class _Accept:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def _deny(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


@pytest.fixture
def smtpd():
    controllers = []

    def start(**options):
        port = closed_port()
        controller = Controller(_Accept(), hostname="127.0.0.1", port=port, authenticator=_deny, **options)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


async def _login(client):
    await client.login("jane@example.com", "not-the-password")


async def _send(client):
    await client.sendmail("jane@example.com", ["bob@example.org"], "Subject: hi\r\n\r\nhello\r\n")


def test_smtp_wrong_password(smtpd):
    error = smtp_failure(smtpd(auth_require_tls=False), _login, start_tls=False)
    assert isinstance(error, aiosmtplib.SMTPAuthenticationError)
    assert classify(error).category == "invalid_credentials"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_mail_without_login(smtpd):
    error = smtp_failure(smtpd(auth_require_tls=False, auth_required=True), _send, start_tls=False)
    assert isinstance(error, aiosmtplib.SMTPSenderRefused)
    assert classify(error).category == "auth_required"


def test_smtp_server_requires_starttls(smtpd):
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    port = smtpd(tls_context=context, require_starttls=True)
    login_error = smtp_failure(port, _login, start_tls=False)
    assert classify(login_error).category == "tls_required"
    send_error = smtp_failure(port, _send, start_tls=False)
    assert classify(send_error).category == "tls_required"
    untrusted = smtp_failure(port, start_tls=True)
    assert classify(untrusted).category == "certificate_invalid"


def test_smtp_starttls_not_offered(smtpd):
    error = smtp_failure(smtpd(auth_require_tls=False), start_tls=True)
    assert classify(error, protocol="smtp", security="starttls").category == "starttls_unavailable"


def test_smtp_implicit_tls_on_a_plain_port(smtpd):
    error = smtp_failure(smtpd(auth_require_tls=False), use_tls=True)
    assert isinstance(error, aiosmtplib.SMTPConnectError)
    assert classify(error, protocol="smtp", port=587, security="ssl").category == "tls_mismatch"


# --- tamago's own errors ---------------------------------------------------------------
def test_a_tamago_error_keeps_its_category():
    assert classify(NetworkError("lookup failed", category="dns_failure")).category == "dns_failure"
    assert classify(AuthError("login refused")).category == "invalid_credentials"


def test_an_uncategorised_tamago_error_is_classified_from_its_cause():
    try:
        try:
            socket.create_connection(("127.0.0.1", closed_port()), timeout=2)
        except OSError as exc:
            raise NetworkError("could not connect") from exc
    except NetworkError as wrapped:
        explanation = diagnose(wrapped)
    assert explanation.category == "connection_refused"
    assert explanation.steps
