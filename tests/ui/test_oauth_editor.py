"""The account editor's authentication choice: password, password command or OAuth 2.0."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Input, Select, Static

from tests.ui.conftest import sample_account


def shown(screen, selector: str) -> bool:
    return screen.query_one(selector).display


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_new(app, pilot, email: str, preset: str | None = None):
    await pilot.press("a")  # first run lands on the accounts empty state
    await pilot.pause()
    await pilot.press(*email)
    screen = app.screen
    if preset:
        screen.query_one("#provider", Select).value = preset
    await pilot.pause()
    await pilot.pause()
    return screen


async def test_office365_suggests_oauth_and_hides_the_password_fields(make_app):
    app = make_app()
    app.services.config = replace(app.services.config, oauth={"microsoft": {"client_id": "abc-123"}})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new(app, pilot, "jane@contoso.com", "office365")
        assert screen.query_one("#auth", Select).value == "oauth2"
        assert not shown(screen, "#imap-password-row") and not shown(screen, "#smtp-password-row")
        assert shown(screen, "#oauth-mechanism-row") and shown(screen, "#token-command-row")
        info = text_of(screen, "#oauth-info")
        assert "Microsoft" in info and "client ID configured" in info and "device-code" in info
        # ctrl+o (sign in) is offered for OAuth, and hidden again for a password.
        assert "ctrl+o" in app.active_bindings
        screen.query_one("#auth", Select).value = "password"
        await pilot.pause()
        assert shown(screen, "#imap-password-row") and not shown(screen, "#oauth-info")
        assert "ctrl+o" not in app.active_bindings
        # The person chose: another preset leaves the choice alone.
        screen.query_one("#provider", Select).value = "gmail"
        await pilot.pause()
        assert screen.query_one("#auth", Select).value == "password"


async def test_missing_client_id_says_how_to_register_one(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new(app, pilot, "jane.doe@gmail.com")
        assert screen.query_one("#auth", Select).value == "oauth2"  # Gmail recommends OAuth
        info = text_of(screen, "#oauth-info")
        assert "Google" in info and "no client ID configured" in info
        assert "[oauth.google]" in info and "docs/oauth.md" in info


async def test_a_preset_without_oauth_keeps_a_password(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new(app, pilot, "jane@fastmail.com")
        assert screen.query_one("#provider", Select).value == "fastmail"
        assert screen.query_one("#auth", Select).value == "password"
        assert shown(screen, "#imap-password-row") and not shown(screen, "#oauth-mechanism-row")


async def test_the_form_carries_the_mechanism_and_the_token_command(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new(app, pilot, "jane@contoso.com", "office365")
        screen.query_one("#oauth_mechanism", Select).value = "OAUTHBEARER"
        screen.query_one("#token_command", Input).value = "mutt_oauth2.py ~/.jane.tokens"
        screen.query_one("#password_command", Input).value = "pass show mail"  # hidden: ignored
        await pilot.pause()
        account = screen.form_account()
        assert (account.auth, account.oauth_mechanism, account.token_command, account.password_command) == (
            "oauth2", "OAUTHBEARER", "mutt_oauth2.py ~/.jane.tokens", "")
        assert screen.passwords() == (None, None)
        assert "token command" in text_of(screen, "#oauth-info")
        assert "ctrl+o" not in app.active_bindings  # a token command: nothing to sign in


async def test_password_command_is_its_own_choice(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_new(app, pilot, "jane@example.org")
        screen.query_one("#auth", Select).value = "command"
        await pilot.pause()
        assert shown(screen, "#password-command-row") and not shown(screen, "#imap-password-row")
        screen.query_one("#imap_host", Input).value = "imap.example.org"
        screen.query_one("#smtp_host", Input).value = "smtp.example.org"
        await pilot.press("ctrl+t")  # no command yet: the form says so instead of testing
        await pilot.pause()
        assert "password command" in text_of(screen, "#editor-status")
        screen.query_one("#password_command", Input).value = "pass show mail"
        account = screen.form_account()
        assert (account.auth, account.password_command) == ("command", "pass show mail")


async def test_editing_an_oauth_account_shows_its_settings(make_app):
    account = sample_account("work", "jane@contoso.com", provider="office365").with_(
        auth="oauth2", oauth_mechanism="OAUTHBEARER")
    app = make_app(accounts=[account])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#auth", Select).value == "oauth2"
        assert screen.query_one("#oauth_mechanism", Select).value == "OAUTHBEARER"
        assert app.focused is screen.query_one("#auth", Select)  # no password field to land on
        assert not shown(screen, "#imap-password-row")
        assert screen.form_account().oauth_mechanism == "OAUTHBEARER"


def test_an_old_account_with_a_password_command_opens_as_password_command():
    from tamago_tui.screens.account_editor import _auth_of

    old = sample_account().with_(auth="password", password_command="pass show mail")
    assert _auth_of(old) == "command"
    assert _auth_of(sample_account()) == "password" and _auth_of(None) == "password"
    assert _auth_of(sample_account().with_(auth="oauth2")) == "oauth2"
