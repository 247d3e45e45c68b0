"""Helpers shared by the OAuth tests: accounts, the OAuth facade on the test IdP, and the
person's side of each sign-in flow (approving a device code, following the browser redirect)."""

from __future__ import annotations

import urllib.error
import urllib.request

from tamago_tui.backend import oauth
from tamago_tui.backend.config import Config
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.oauth_flows import DeviceCodeFlow
from tests.servers.oauth_server import TEST_CLIENT_ID, OAuthTestServer


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
