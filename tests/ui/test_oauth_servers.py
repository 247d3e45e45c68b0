"""OAuth in the TUI end to end: the accounts list, the connection test, the sign-in and the
editor, against Dovecot and the SMTP server checking tokens with the loopback IdP."""

from __future__ import annotations

import asyncio
import stat

import pytest
from textual.widgets import Input, Select

from tamago_tui.backend import config as config_mod
from tamago_tui.backend import oauth
from tamago_tui.backend.config import Config
from tamago_tui.backend.models import Security, ServerSettings
from tamago_tui.backend.paths import Paths
from tamago_tui.screens.confirm import Confirm
from tamago_tui.screens.connection_test import ConnectionTestScreen
from tamago_tui.screens.oauth_signin import OAuthSignInScreen
from tests.oauth_helpers import facade, make_account, sign_in_with_device
from tests.servers.oauth_server import TEST_CLIENT_ID
from tests.ui.test_oauth_signin import all_bytes_under, make_tamago, stored_grant, text_of, until

pytestmark = pytest.mark.servers


def servers_for(dovecot, smtp) -> dict:
    return dict(imap=ServerSettings("localhost", dovecot.ports["imaps"], Security.SSL, "alice@example.test"),
                smtp=ServerSettings("localhost", smtp.ports["smtps"], Security.SSL, "alice@example.test"))


@pytest.fixture
def home(tamago_home, idp, oauth_dovecot, oauth_smtp, test_ca, monkeypatch):
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "correct horse battery staple")
    account = make_account(cafile=str(test_ca.cafile), oauth_mechanism="OAUTHBEARER",
                           **servers_for(oauth_dovecot, oauth_smtp))
    config = Config(accounts={"alice": account}, oauth={"test": idp.provider_table(TEST_CLIENT_ID)})
    config_mod.save(config, Paths.resolve(tamago_home).config_file)
    return tamago_home


def steps_named(screen: ConnectionTestScreen, name: str) -> list:
    return [s for s in screen.steps if s.name == name]


async def test_test_offers_sign_in_then_logs_in_and_a_revoked_grant_asks_again(home, idp):
    app = make_tamago(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.current_mode == "contacts", "the first mode")
        await pilot.press("f3")
        await pilot.pause()
        assert "o" in app.active_bindings  # an OAuth account is selected: o signs it in

        # Never signed in: the test says so first, and offers the sign-in once.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the sign-in offer")
        test = app.screen_stack[-2]
        assert isinstance(test, ConnectionTestScreen)
        first = test.steps[0]
        assert (first.protocol, first.name, first.status, first.category) == (
            "oauth", "Sign-in", "fail", "invalid_credentials")
        assert steps_named(test, "Login")[0].status == "skipped"  # the rest ran up to the login

        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, OAuthSignInScreen) and app.screen.state == "device",
                    "the device code")
        await asyncio.to_thread(idp.device_action, app.screen.prompt.user_code, "approve")
        await until(pilot, lambda: app.screen.state == "done", "the sign-in")
        await pilot.press("escape")
        # The test runs again by itself, now with a token: real OAUTHBEARER logins.
        await until(pilot, lambda: app.screen is test and test.done and test.steps[0].name != "Sign-in",
                    "the second test run")
        assert test.report().ok, [(s.protocol, s.name, s.detail) for s in test.steps if s.failed]
        assert [s.status for s in steps_named(test, "Login")] == ["ok", "ok"]
        await pilot.press("escape")
        await pilot.pause()
        store = app.services.open_store()
        assert store.account_state("alice")["status"] == "connected"
        store.close()

        # The person removes tamago's access: the refresh is refused once, the grant is dropped
        # and the test asks again instead of retrying.
        idp.revoke_user("alice@example.test")
        oauth.forget_access_token("alice")
        refreshes = idp.token_calls("refresh_token")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the second offer")
        await pilot.press("n")
        await pilot.pause()
        test = app.screen
        assert idp.token_calls("refresh_token") == refreshes + 1
        assert "Not signed in" in text_of(test, "#test-status")
        assert app.active_bindings["o"].binding.action == "sign_in"
        assert stored_grant(home) is None
        await pilot.press("escape")
        await pilot.pause()
        accounts = app.screen
        row = accounts.query_one("#accounts-table").get_row("alice")
        assert str(row[2]) == "o Sign in again"
    assert idp.token_calls("refresh_token") == refreshes + 1  # nothing more, ever, on its own

    # Tokens live in the encrypted store only.
    for secret in [*idp.refresh_tokens, *idp.access_tokens]:
        for name, data in all_bytes_under(home).items():
            assert secret.encode() not in data, name


async def test_editor_saves_an_oauth_account_after_a_passing_test(tamago_home, idp, oauth_dovecot, oauth_smtp,
                                                                  test_ca, monkeypatch, tmp_path):
    """A token command (as with mutt_oauth2.py) feeds real logins; the account is saved with it."""
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "correct horse battery staple")
    tokens = sign_in_with_device(idp, facade(idp), make_account(name="elsewhere"))
    script = tmp_path / "token.sh"
    script.write_text(f"#!/bin/sh\necho {tokens.access_token}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    app = make_tamago(tamago_home)
    servers = servers_for(oauth_dovecot, oauth_smtp)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.current_mode == "accounts", "the empty accounts list")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"alice@example.test")
        editor = app.screen
        editor.query_one("#auth", Select).value = "oauth2"
        editor.query_one("#oauth_mechanism", Select).value = "OAUTHBEARER"
        editor.query_one("#token_command", Input).value = str(script)
        editor.query_one("#cafile", Input).value = str(test_ca.cafile)
        for proto in ("imap", "smtp"):
            server = servers[proto]
            editor.query_one(f"#{proto}_host", Input).value = server.host
            editor.query_one(f"#{proto}_port", Input).value = str(server.port)
            editor.query_one(f"#{proto}_security", Select).value = server.security.value
            editor.query_one(f"#{proto}_username", Input).value = server.username
        await pilot.pause()
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, ConnectionTestScreen) and app.screen.done, "the test")
        test = app.screen
        assert test.report().ok, [(s.protocol, s.name, s.detail) for s in test.steps if s.failed]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is editor and editor.folders, "the folder list")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "alice" in app.services.config.accounts, "the save")
    saved = config_mod.load(Paths.resolve(tamago_home).config_file).accounts["alice"]
    assert (saved.auth, saved.oauth_mechanism, saved.token_command) == ("oauth2", "OAUTHBEARER", str(script))
    assert "INBOX" in saved.folders
    for name, data in all_bytes_under(tamago_home).items():
        assert tokens.access_token.encode() not in data, name


async def test_editor_forgets_a_sign_in_made_for_an_account_it_did_not_save(tamago_home, idp, monkeypatch):
    """Signed in from the editor's test, then cancelled: no orphan grant is left behind."""
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "correct horse battery staple")
    # The test IdP signs in addresses at example.test, as Google does gmail.com.
    table = idp.provider_table(TEST_CLIENT_ID, domains=["example.test"])
    config_mod.save(Config(oauth={"test": table}), Paths.resolve(tamago_home).config_file)
    app = make_tamago(tamago_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.current_mode == "accounts", "the empty accounts list")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"carol@example.test")
        editor = app.screen
        editor.query_one("#auth", Select).value = "oauth2"
        editor.query_one("#imap_host", Input).value = "127.0.0.1"
        editor.query_one("#smtp_host", Input).value = "127.0.0.1"
        await pilot.pause()
        assert "Test IdP" in text_of(editor, "#oauth-info")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, OAuthSignInScreen) and app.screen.state == "device",
                    "the device code")
        await asyncio.to_thread(idp.device_action, app.screen.prompt.user_code, "approve")
        await until(pilot, lambda: app.screen.state == "done", "the sign-in")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is editor and "Signed in" in text_of(editor, "#editor-status")
        services = app.services
        from tamago_tui.backend.secrets import SecretStore

        assert oauth.load_grant(SecretStore.for_services(services), "carol") is not None
        await pilot.press("escape")  # leave without saving
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the discard question")
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert oauth.load_grant(SecretStore.for_services(services), "carol") is None
        assert app.services.config.accounts == {}
