"""The settings screen: g on the accounts, one line a setting, checked like the config file."""

from __future__ import annotations

from textual.widgets import Input, Static

from tamago_tui.app import TamagoApp
from tamago_tui.backend.config import Config, load
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services
from tamago_tui.screens.settings import SettingsScreen
from tests.ui.conftest import sample_account


def app_on_disk(home) -> TamagoApp:
    paths = Paths.resolve(home)
    Services(paths, log_to_file=False).save_config(Config().with_account(sample_account()))
    return TamagoApp(Services(paths))


async def open_settings(app, pilot) -> SettingsScreen:
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("g")
    await pilot.pause()
    assert isinstance(app.screen, SettingsScreen)
    return app.screen


def set_value(screen, name: str, value: str) -> None:
    screen.query_one(f"#{name}", Input).value = value


async def test_g_opens_the_settings_and_ctrl_s_saves_them_to_config_toml(tamago_home):
    app = app_on_disk(tamago_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(app, pilot)
        assert screen.query_one("#timeout", Input).value == "20"
        assert "background scans" in str(screen.query_one("#setting-help", Static).render())  # the focused one
        set_value(screen, "nameserver", "192.0.2.53:5353")
        set_value(screen, "timeout", "7.5")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen)
    saved = load(Paths.resolve(tamago_home).config_file)
    assert (saved.settings.nameserver, saved.settings.timeout) == ("192.0.2.53:5353", 7.5)
    assert list(saved.accounts) == ["work"]  # the accounts are untouched


async def test_a_bad_value_is_named_and_nothing_is_saved(tamago_home):
    app = app_on_disk(tamago_home)
    before = Paths.resolve(tamago_home).config_file.read_text()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(app, pilot)
        for name, value, words in [("timeout", "soon", "timeout must be a number"),
                                   ("recent_flags", "0", "recent_flags"),
                                   ("secret_backend", "vault", "auto, keyring, encrypted"),
                                   ("nameserver", "192.0.2.53:99999", "not a port number")]:
            set_value(screen, "timeout", "20")
            set_value(screen, "recent_flags", "500")
            set_value(screen, "secret_backend", "auto")
            set_value(screen, "nameserver", "")
            set_value(screen, name, value)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is screen
            error = str(screen.query_one("#settings-error", Static).render())
            assert "Not saved" in error and words in error, error
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen)
    assert Paths.resolve(tamago_home).config_file.read_text() == before


async def test_tab_moves_through_the_settings_and_the_help_follows(tamago_home):
    app = app_on_disk(tamago_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(app, pilot)
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused.id == "nameserver"
        assert "DNS server" in str(screen.query_one("#setting-help", Static).render())
