"""Helpers shared by the OAuth tests: fixtures for the loopback IdP and the real servers
that check its tokens, accounts, the OAuth facade on the test IdP, and the person's side of
each sign-in flow (approving a device code, following the browser redirect).

The fixtures are a pytest plugin (tests/conftest.py loads it). `idp` starts the server
with a device-code polling interval of 1 s; a module sets `IDP_OPTIONS = {...}` to change it.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from tamago_tui.backend import config as config_mod
from tamago_tui.backend import oauth
from tamago_tui.backend.config import Config
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.oauth_flows import DeviceCodeFlow
from tamago_tui.backend.paths import Paths
from tests.servers.oauth_server import TEST_CLIENT_ID, OAuthTestServer, started


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    """Access tokens are cached per process; no test sees another's."""
    oauth._cache.clear()
    yield
    oauth._cache.clear()


@pytest.fixture
def idp(request):
    """The loopback authorization server."""
    server = started(**getattr(request.module, "IDP_OPTIONS", {"device_interval": 1}))
    yield server
    server.stop()


@pytest.fixture
def oauth_dovecot(dovecot_factory, idp):
    """A real Dovecot whose oauth2 passdb asks the IdP's introspection endpoint."""
    return dovecot_factory(oauth2_introspection_url=idp.introspection_url)


@pytest.fixture
def oauth_smtp(smtp_factory, oauth_dovecot, idp):
    """The real submission server, checking tokens with the same IdP and delivering to oauth_dovecot."""
    return smtp_factory(dovecot=oauth_dovecot, oauth2_introspection_url=idp.introspection_url)


@pytest.fixture
def headless_home(tamago_home, idp, monkeypatch):
    """A headless machine (no keyring: the encrypted store, unlocked from the environment) with
    an OAuth account `alice` on the test IdP and a password account `pw`."""
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "correct horse battery staple")
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    accounts = {"alice": make_account(), "pw": make_account(name="pw", email="pw@example.test", auth="password")}
    config = Config(accounts=accounts, oauth={"test": idp.provider_table(TEST_CLIENT_ID)})
    config_mod.save(config, Paths.resolve(tamago_home).config_file)
    return tamago_home


def make_account(name="alice", email="alice@example.test", **changes) -> Account:
    account = Account(
        name=name, email=email,
        imap=ServerSettings("127.0.0.1", 993, Security.SSL, username=email),
        smtp=ServerSettings("127.0.0.1", 465, Security.SSL, username=email),
        auth="oauth2", oauth_provider="test",
    )
    return account.with_(**changes)


def facade(idp: OAuthTestServer, vault=None, **table) -> oauth.OAuth:
    client_id = table.pop("client_id", TEST_CLIENT_ID)
    return oauth.OAuth(Config(oauth={"test": idp.provider_table(client_id, **table)}),
                       vault if vault is not None else oauth.MemoryVault(), timeout=5)


def sign_in_with_device(idp: OAuthTestServer, o: oauth.OAuth, account: Account) -> oauth.TokenSet:
    """The whole device flow, with the person approving the code for `account.email`."""
    provider = o.provider_for(account)
    flow = DeviceCodeFlow(provider, timeout=5)
    auth = flow.start()
    approved = []

    def person_approves(_interval):
        if not approved:
            approved.append(idp.device_action(auth.user_code, "approve", user=account.email))

    tokens = flow.poll(auth, sleep=person_approves)
    assert o.save_sign_in(account, provider, tokens)
    return tokens


def approve_when_asked(idp: OAuthTestServer) -> threading.Thread:
    """The person, on another device: waits for the device code tamago shows, then approves it."""
    def person():
        deadline = time.monotonic() + 10
        while not idp.pending_user_codes() and time.monotonic() < deadline:
            time.sleep(0.02)
        idp.device_action(idp.pending_user_codes()[0], "approve")

    thread = threading.Thread(target=person)
    thread.start()
    return thread


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser_redirect(url: str) -> str:
    """Follow the authorization URL like a browser, up to the loopback redirect's address."""
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        opener.open(url, timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 302, exc.code
        return exc.headers["Location"]
    raise AssertionError("the authorization endpoint did not redirect")


def visit(url: str) -> int:
    """GET `url` as the browser does after the redirect; returns the HTTP status."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
