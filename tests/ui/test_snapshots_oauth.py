"""Snapshots of OAuth in the TUI at 80x24, with fixed fake codes and URLs."""

from tamago_tui.messages import SignInPrompt
from tamago_tui.screens.oauth_signin import OAuthSignInScreen
from tests.ui.conftest import sample_account

NOW = 1000.0


class CannedDeviceSignIn(OAuthSignInScreen):
    """The device-code prompt as Microsoft would send it, on a frozen clock."""

    clock = staticmethod(lambda: NOW)

    def run_sign_in(self):
        self.post_message(SignInPrompt("device", "Microsoft", "https://microsoft.com/devicelogin",
                                       user_code="FH3JQ9KLM", expires_at=NOW + 900))


def office365_account():
    account = sample_account("work", "jane@contoso.com", provider="office365")
    return account.with_(auth="oauth2", oauth_mechanism="XOAUTH2")


def test_device_code_sign_in(snap_compare, make_app):
    async def open_sign_in(pilot):
        await pilot.pause()
        await pilot.app.push_screen(CannedDeviceSignIn(office365_account()))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_sign_in)


def test_account_editor_with_oauth_chosen(snap_compare, make_app):
    """Office 365 picked for a new account: OAuth suggested, the password fields gone, the provider
    named and its client ID found in config."""
    from dataclasses import replace

    from textual.widgets import Select

    app = make_app()
    app.services.config = replace(app.services.config, oauth={
        "microsoft": {"client_id": "00000000-0000-0000-0000-000000000000"}})

    async def fill(pilot):
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@contoso.com")
        pilot.app.screen.query_one("#provider", Select).value = "office365"
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=fill)
