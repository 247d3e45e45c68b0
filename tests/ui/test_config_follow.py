"""The TUI follows config.toml when something else changes it while it runs."""

from __future__ import annotations

from textual.widgets import DataTable

from tamago_tui.app import TamagoApp
from tamago_tui.backend.config import Config
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services
from tamago_tui.screens.accounts import AccountsScreen
from tests.ui.conftest import sample_account


async def test_an_account_added_from_the_command_line_shows_when_the_accounts_come_back(tamago_home):
    paths = Paths.resolve(tamago_home)
    Services(paths, log_to_file=False).save_config(Config().with_account(sample_account()))
    app = TamagoApp(Services(paths))  # read from the file, as `tamago` does
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, AccountsScreen)
        assert app.screen.query_one(DataTable).row_count == 1

        other = Services(paths, log_to_file=False)  # `tamago accounts add` in another shell
        other.save_config(other.config.with_account(sample_account(name="home", email="me@example.net")))
        await pilot.press("f2", "f3")
        await pilot.pause()

        assert app.screen.query_one(DataTable).row_count == 2
        assert sorted(app.services.config.accounts) == ["home", "work"]
