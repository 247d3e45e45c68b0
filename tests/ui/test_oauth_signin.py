"""The OAuth sign-in screen against the loopback authorization server.

The test plays the person: it approves the device code through the server's
test-only endpoint, or follows the authorization URL like a browser and pastes
(or lets the listener receive) the address it was sent to. Tokens must end up in
the encrypted secret store and nowhere else under TAMAGO_HOME.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from textual.widgets import Input, Static

from tamago_tui.app import TamagoApp
from tamago_tui.backend import config as config_mod
from tamago_tui.backend import oauth
from tamago_tui.backend.config import Config
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.secrets import SecretStore
from tamago_tui.backend.services import Services
from tamago_tui.widgets.error_modal import ErrorModal
from tamago_tui.screens.oauth_signin import OAuthSignInScreen, clock_text, spaced
from tests.oauth_helpers import browser_redirect, make_account, visit


@pytest.fixture
def home(headless_home):
    return headless_home


def make_tamago(home) -> TamagoApp:
    services = Services(Paths.resolve(home))
    services.open_store().close()  # create the database first, as tests/ui/conftest.py's make_app does
    return TamagoApp(services)


@pytest.fixture
def app(home) -> TamagoApp:
    return make_tamago(home)


def stored_grant(home) -> oauth.Grant | None:
    services = Services(Paths.resolve(home), log_to_file=False)
    return oauth.load_grant(SecretStore.for_services(services), "alice")


def all_bytes_under(home) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def until(pilot, predicate, what: str, limit: float = 60.0) -> None:
    """Let the app run until `predicate()` holds; the limit only turns a hang into a failure."""
    deadline = time.monotonic() + limit
    while not predicate():
        modal = pilot.app.screen
        assert not isinstance(modal, ErrorModal), f"{modal.title_text}: {modal.message} ({modal.context})"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await pilot.pause(0.05)


async def open_sign_in(app, pilot, state: str, **options) -> OAuthSignInScreen:
    # The app switches to its first mode on mount; push onto that mode, not the default stack.
    await until(pilot, lambda: app.current_mode == "contacts", "the contacts mode")
    results: list = []
    screen = OAuthSignInScreen(app.services.account("alice"), **options)
    app.push_screen(screen, results.append)
    screen.results = results
    await until(pilot, lambda: screen.state == state, f"the {state} prompt")
    return screen


async def test_device_code_sign_in_stores_the_refresh_token_only_in_the_secret_store(app, home, idp):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sign_in(app, pilot, "device")
        [user_code] = idp.pending_user_codes()
        assert screen.prompt.user_code == user_code
        assert text_of(screen, "#signin-code") == spaced(user_code)
        assert text_of(screen, "#signin-url") == idp.url("/device")
        assert "expires in" in text_of(screen, "#signin-status")

        await asyncio.to_thread(idp.device_action, user_code, "approve")
        await until(pilot, lambda: screen.state == "done", "the sign-in to finish")
        assert "Signed in alice@example.test with Test IdP" in text_of(screen, "#signin-result")
        await pilot.press("escape")
        await pilot.pause()
        assert screen.results == [True] and app.screen is not screen

    [refresh_token] = idp.refresh_tokens
    assert stored_grant(home).refresh_token == refresh_token
    files = all_bytes_under(home)
    assert {"config.toml", "tamago.log", "secrets.enc"} <= set(files)
    for secret in [refresh_token, *idp.access_tokens]:
        for name, data in files.items():
            assert secret.encode() not in data, name


async def test_pasted_redirect_address_finishes_the_sign_in(app, home, idp):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sign_in(app, pilot, "paste", flow="paste")
        assert app.focused is screen.query_one("#signin-paste", Input)
        location = await asyncio.to_thread(browser_redirect, screen.prompt.url)
        assert location.startswith(screen.prompt.redirect_uri)

        # Someone else's (or a stale) address is refused, and the screen keeps waiting.
        paste = screen.query_one("#signin-paste", Input)
        paste.value = location.replace("state=", "state=stale")
        await pilot.press("enter")
        await pilot.pause()
        assert "different sign-in" in text_of(screen, "#signin-status") and screen.state == "paste"
        assert stored_grant(home) is None

        paste.value = location
        await pilot.press("enter")
        await until(pilot, lambda: screen.state == "done", "the code exchange")
    assert idp.calls[("token", "authorization_code")] == 1
    [refresh_token] = idp.refresh_tokens
    assert stored_grant(home).refresh_token == refresh_token


async def test_loopback_sign_in_shows_the_ssh_forward_and_catches_the_redirect(app, home, idp):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sign_in(app, pilot, "loopback", flow="loopback")
        port = screen.prompt.port
        assert text_of(screen, "#signin-ssh").startswith(f"ssh -L {port}:127.0.0.1:{port} ")
        location = await asyncio.to_thread(browser_redirect, screen.prompt.url)
        assert await asyncio.to_thread(visit, location) == 200
        await until(pilot, lambda: screen.state == "done", "the redirect")
    assert stored_grant(home) is not None


async def test_escape_cancels_the_device_poll_and_stores_nothing(app, home, idp):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sign_in(app, pilot, "device")
        [user_code] = idp.pending_user_codes()
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        assert screen.results == [False] and app.screen is not screen
        polls = idp.token_calls()
        # Approving afterwards changes nothing: nobody is polling any more.
        await asyncio.to_thread(idp.device_action, user_code, "approve")
        await pilot.pause()
        assert idp.token_calls() == polls
    assert stored_grant(home) is None and idp.refresh_tokens == {}


async def test_escape_closes_the_loopback_listener(app, idp):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sign_in(app, pilot, "loopback", flow="loopback")
        port = screen.prompt.port
        await pilot.press("escape")
        await pilot.pause()
        assert screen.results == [False]
        # The worker notices within one listener tick, closes the socket and the port is free.
        await until(pilot, lambda: port_is_free(port), "the listener to close")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def test_consent_error_shows_its_guide_and_sign_in_again_starts_over(app, home, idp):
    idp.fail_next("device", "invalid_request", "AADSTS90094: The grant requires admin permission.")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sign_in(app, pilot, "failed")
        assert "AADSTS90094" in text_of(screen, "#signin-message")
        guide = text_of(screen, "#signin-guide")
        assert "consent_required" in guide and "Fix:" in guide
        assert "Traceback" not in guide + text_of(screen, "#signin-message")
        # A clear way out rather than a loop: nothing happens until the person asks.
        assert idp.calls[("device", "")] == 1
        assert "r" in {key for key, b in app.active_bindings.items() if b.binding.action == "again"}

        await pilot.press("r")
        await until(pilot, lambda: screen.state == "device", "a fresh device code")
        assert idp.calls[("device", "")] == 2
        await pilot.press("escape")
    assert stored_grant(home) is None


async def test_missing_client_id_says_how_to_register_one(home, idp, tamago_home):
    config = Config(accounts={"alice": make_account()}, oauth={"test": idp.provider_table("")})
    config_mod.save(config, Paths.resolve(tamago_home).config_file)
    app = make_tamago(tamago_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sign_in(app, pilot, "failed")
        message = text_of(screen, "#signin-message")
        assert "No OAuth client ID" in message and "docs/oauth.md" in message
        assert "oauth_misconfigured" in text_of(screen, "#signin-guide")
    assert idp.calls == {} or all(endpoint != "device" for endpoint, _ in idp.calls)


async def test_command_palette_offers_sign_in_for_oauth_accounts(app):
    async with app.run_test(size=(80, 24)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Sign in (OAuth): alice@example.test" in titles
        assert not [t for t in titles if "pw@example.test" in t]  # a password account has nothing to sign in


async def test_o_on_the_accounts_list_signs_the_selected_oauth_account_in(app, idp):
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.current_mode == "contacts", "the contacts mode")
        await pilot.press("f3")
        await pilot.pause()
        accounts = app.screen
        assert accounts.selected_account().name == "alice" and "o" in app.active_bindings
        await pilot.press("down")  # the password account: no sign-in key
        await pilot.pause()
        assert accounts.selected_account().name == "pw" and "o" not in app.active_bindings
        await pilot.press("up", "o")
        await until(pilot, lambda: isinstance(app.screen, OAuthSignInScreen) and app.screen.state == "device",
                    "the device code")
        assert app.screen.account.name == "alice"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is accounts


def test_countdown_and_code_formatting():
    assert clock_text(900) == "15:00" and clock_text(59.2) == "1:00" and clock_text(-3) == "0:00"
    assert spaced("ABCD1234") == "ABCD 1234" and spaced("FH3JQ9KLM") == "FH3JQ 9KLM"
    assert spaced("ABCD-EFGH") == "ABCD-EFGH"
