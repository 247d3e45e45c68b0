"""Real XOAUTH2 and OAUTHBEARER logins: Dovecot's oauth2 passdb and the SMTP test server
check every token against the loopback IdP's introspection endpoint (RFC 7662)."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest

from tamago_tui.backend import oauth, sasl
from tamago_tui.backend.errors import AuthError, OAuthError
from tamago_tui.backend.models import Security, ServerSettings
from tests.oauth_helpers import facade, make_account, sign_in_with_device

pytestmark = pytest.mark.servers

IDP_OPTIONS = {}  # device codes are polled at once (the tests play the person in-line)


def imap_login(dovecot, mechanism, user, token):
    client = dovecot.connect(mode="imaps")
    try:
        sasl.imap_login(client, mechanism, user, token, host=dovecot.hostname, port=dovecot.ports["imaps"])
        return sorted(name for _flags, _sep, name in client.list_folders())
    finally:
        client.shutdown()


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_imap_login_with_a_token_from_the_device_flow(oauth_dovecot, idp, mechanism):
    o = facade(idp)
    account = make_account(oauth_mechanism=mechanism)
    sign_in_with_device(idp, o, account)
    source = o.token_source(account)
    folders = oauth.call_with_token(
        source, lambda token: imap_login(oauth_dovecot, mechanism, account.email, token))
    assert "INBOX" in folders and "Sent" in folders
    assert idp.calls[("introspect", "")] >= 1  # Dovecot asked the IdP


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_imap_refuses_a_token_for_someone_else_or_an_unknown_token(oauth_dovecot, idp, mechanism):
    o = facade(idp)
    tokens = sign_in_with_device(idp, o, make_account())
    with pytest.raises(AuthError) as err:
        imap_login(oauth_dovecot, mechanism, "bob@example.test", tokens.access_token)
    assert "AUTHENTICATIONFAILED" in str(err.value) and err.value.category == "invalid_credentials"
    assert tokens.access_token not in str(err.value)
    with pytest.raises(AuthError):
        imap_login(oauth_dovecot, mechanism, "alice@example.test", "at-made-up")


def test_passwords_still_work_next_to_oauth(oauth_dovecot):
    with oauth_dovecot.connect(oauth_dovecot.alice) as client:
        assert client.list_folders()


def test_expired_access_token_is_refreshed_once_and_the_login_retried(oauth_dovecot, idp):
    o = facade(idp)
    account = make_account()
    sign_in_with_device(idp, o, account)
    idp.expire_access_tokens()  # the server says expired; tamago's clock does not know yet
    attempts = []

    def login(token):
        attempts.append(token)
        return imap_login(oauth_dovecot, "XOAUTH2", account.email, token)

    assert "INBOX" in oauth.call_with_token(o.token_source(account), login)
    assert len(attempts) == 2 and idp.token_calls("refresh_token") == 1


def test_revoked_grant_means_sign_in_again_not_a_loop(oauth_dovecot, idp):
    o = facade(idp)
    account = make_account()
    sign_in_with_device(idp, o, account)
    idp.revoke_user(account.email)
    source = o.token_source(account)
    for _ in range(3):
        with pytest.raises(OAuthError) as err:
            oauth.call_with_token(source, lambda t: imap_login(oauth_dovecot, "XOAUTH2", account.email, t))
        assert err.value.needs_sign_in
    assert idp.token_calls("refresh_token") == 1


def test_token_command_feeds_a_real_login(oauth_dovecot, idp, tmp_path):
    token = idp._issue("alice@example.test", "tamago-test-client", "mail")["access_token"]
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    account = make_account(token_command=f"cat {token_file}", oauth_mechanism="OAUTHBEARER")
    source = oauth.OAuth(facade(idp).config, oauth.MemoryVault()).token_source(account)
    folders = oauth.call_with_token(
        source, lambda t: imap_login(oauth_dovecot, account.oauth_mechanism, account.email, t))
    assert "INBOX" in folders
    assert idp.token_calls() == 0


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
async def test_smtp_login_and_send(oauth_smtp, oauth_dovecot, idp, test_ca, mechanism):
    o = facade(idp)
    account = make_account(oauth_mechanism=mechanism)
    sign_in_with_device(idp, o, account)
    idp.expire_access_tokens()  # forces the one retry through SMTP's 334 error challenge

    async def send(token):
        smtp = aiosmtplib.SMTP(hostname=oauth_smtp.hostname, port=oauth_smtp.ports["smtps"], use_tls=True,
                               tls_context=test_ca.client_context(), timeout=10)
        await smtp.connect()
        try:
            await sasl.smtp_login(smtp, mechanism, account.email, token,
                                  host=oauth_smtp.hostname, port=oauth_smtp.ports["smtps"])
            message = (f"From: {account.email}\r\nTo: bob@example.test\r\n"
                       f"Subject: sent with {mechanism}\r\n\r\nHello.\r\n").encode()
            await smtp.sendmail(account.email, ["bob@example.test"], message)
        finally:
            await smtp.quit()

    await oauth.acall_with_token(o.token_source(account), send)
    received = oauth_smtp.wait_for_messages(1)
    assert received[-1].auth_user == account.email
    assert f"sent with {mechanism}".encode() in received[-1].data
    assert idp.token_calls("refresh_token") == 1


async def test_smtp_refusal_is_an_auth_error_with_the_servers_reason(oauth_smtp, test_ca):
    smtp = aiosmtplib.SMTP(hostname=oauth_smtp.hostname, port=oauth_smtp.ports["smtps"], use_tls=True,
                           tls_context=test_ca.client_context(), timeout=10)
    await smtp.connect()
    try:
        with pytest.raises(AuthError) as err:
            await sasl.smtp_login(smtp, "OAUTHBEARER", "alice@example.test", "at-made-up")
    finally:
        await smtp.quit()
    assert "535" in str(err.value) and "status=invalid_token" in str(err.value)


def real_account(dovecot, smtp, test_ca, **changes):
    from tamago_tui.backend.models import Security, ServerSettings

    return make_account(
        imap=ServerSettings("localhost", dovecot.ports["imaps"], Security.SSL, username="alice@example.test"),
        smtp=ServerSettings("localhost", smtp.ports["smtps"], Security.SSL, username="alice@example.test"),
        cafile=str(test_ca.cafile), **changes)


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
async def test_connection_layer_logs_in_with_a_refreshed_token(oauth_dovecot, oauth_smtp, idp, test_ca, mechanism):
    o = facade(idp)
    account = real_account(oauth_dovecot, oauth_smtp, test_ca, oauth_mechanism=mechanism)
    sign_in_with_device(idp, o, account)
    idp.expire_access_tokens()
    client = await asyncio.to_thread(o.connect_imap, account, timeout=10)
    try:
        assert await asyncio.to_thread(client.select_folder, "INBOX")
    finally:
        await asyncio.to_thread(client.logout)
    smtp = await o.connect_smtp(account, timeout=10)
    await smtp.quit()
    # IMAP was refused once and refreshed; SMTP then used the fresh token at once.
    assert idp.token_calls("refresh_token") == 1


def test_sender_sends_and_files_the_sent_copy_with_oauth(oauth_dovecot, oauth_smtp, idp, test_ca, services,
                                                         monkeypatch):
    from tamago_tui.backend.compose import Draft
    from tamago_tui.backend.sending import Sender

    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "master-passphrase-for-tests")
    account = real_account(oauth_dovecot, oauth_smtp, test_ca)
    services.save_config(facade(idp).config.with_account(account))
    sign_in_with_device(idp, oauth.for_services(services), account)
    oauth._cache.clear()  # a new process: only the stored refresh token is left
    sender = Sender(services)
    queued = sender.queue(account, Draft(sender=account.email, to=("bob@example.test",), subject="via OAuth",
                                         body="Hi"))

    item = sender.deliver(queued.id)

    assert (item.status, item.sent_copy) == ("sent", "saved")
    assert oauth_smtp.wait_for_messages(1)[-1].auth_user == "alice@example.test"
    with oauth_dovecot.connect(oauth_dovecot.alice) as client:
        client.select_folder("Sent", readonly=True)
        found = client.search(["HEADER", "Message-ID", item.message_id])
    assert len(found) == 1
    assert idp.token_calls("refresh_token") == 1  # one refresh served both SMTP and IMAP


def test_a_temporary_failure_of_the_servers_auth_backend_is_retried_once(oauth_dovecot, idp, monkeypatch):
    """The IdP fails one introspection (HTTP 500): Dovecot answers NO [UNAVAILABLE] Temporary
    authentication failure, a login that the next second works. tamago's login and its
    connection test try once more (RFC 5530: the client MAY retry) instead of reporting it."""
    from tamago_tui.backend import diagnostics, imap

    monkeypatch.setattr(imap, "TEMPORARY_RETRY_SECONDS", 0.2)
    o = facade(idp)
    account = make_account(imap=ServerSettings("localhost", oauth_dovecot.ports["imaps"], Security.SSL,
                                               "alice@example.test"),
                           cafile=str(oauth_dovecot.cafile))
    tokens = sign_in_with_device(idp, o, account)

    idp.fail_next("introspect", "server_error", status=500)
    client = imap.connect(account, oauth_token=tokens.access_token, timeout=10)
    try:
        assert "INBOX" in [name for _flags, _sep, name in client.list_folders()]
    finally:
        client.logout()
    assert not idp.injections  # the failure was used up: the first try did meet it

    idp.fail_next("introspect", "server_error", status=500)
    [login] = [s for s in diagnostics.run_account_checks(account, tokens.access_token, only="imap", timeout=10)
               if s.name == "Login"]
    assert login.status == "ok" and "temporary failure" in login.detail, login

    idp.fail_next("introspect", "server_error", status=500, count=2)  # down for longer: reported
    with pytest.raises(AuthError) as err:
        imap.connect(account, oauth_token=tokens.access_token, timeout=10)
    assert "UNAVAILABLE" in str(err.value)


def test_a_temporary_smtp_auth_failure_is_retried_once(oauth_smtp, idp, monkeypatch):
    """The same over SMTP: the IdP fails one introspection, the submission server answers
    454 4.7.0 Temporary authentication failure, and the login (and the test) try once more."""
    from tamago_tui.backend import diagnostics, smtp

    monkeypatch.setattr(smtp, "TEMPORARY_RETRY_SECONDS", 0.2)
    o = facade(idp)
    account = make_account(smtp=ServerSettings("localhost", oauth_smtp.ports["smtps"], Security.SSL,
                                               "alice@example.test"),
                           cafile=str(oauth_smtp.ca.cafile), oauth_mechanism="OAUTHBEARER")
    tokens = sign_in_with_device(idp, o, account)

    async def login():
        client = await smtp.connect(account, oauth_token=tokens.access_token, timeout=10)
        await client.quit()

    idp.fail_next("introspect", "server_error", status=500)
    asyncio.run(login())
    assert not idp.injections

    idp.fail_next("introspect", "server_error", status=500)
    [step] = [s for s in diagnostics.run_account_checks(account, tokens.access_token, only="smtp", timeout=10)
              if s.name == "Login"]
    assert step.status == "ok" and "temporary failure" in step.detail and "454" in step.detail, step

    idp.fail_next("introspect", "server_error", status=500, count=2)
    with pytest.raises(AuthError) as err:
        asyncio.run(login())
    assert "454" in str(err.value)
