"""The TUI shell: every screen reachable by keys, first run lands on the accounts empty state."""

from textual.widgets import DataTable

from tests.ui.conftest import sample_account


async def test_first_run_lands_on_accounts_empty_state(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.current_mode == "accounts"
        assert app.screen.query_one("#accounts-empty").display is True
        assert app.focused.id == "add-account"


async def test_function_keys_reach_every_mode(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.current_mode == "contacts"
        for key, mode in [("f3", "accounts"), ("f4", "troubleshoot"), ("f2", "contacts")]:
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode


async def test_command_palette_lists_screens(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        from tamago_tui.commands import KeysProvider

        texts = [hit.text async for hit in KeysProvider(app.screen).discover()]
        for screen, key in [("Contacts: the contact list", "F2"), ("Accounts: the linked mailboxes", "F3"),
                            ("Troubleshooting: explain a connection error", "F4")]:
            assert f"{screen}  ({key})" in texts
        await pilot.press("ctrl+p")
        await pilot.press(*"troubl", "enter")
        await pilot.pause()
        assert app.current_mode == "troubleshoot"


async def test_contact_can_be_added_and_opened_by_keys(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.press(*"Ada Lovelace", "tab", *"ada@example.org", "ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        await pilot.press("down", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ContactScreen"
        assert "Ada Lovelace" in str(app.screen.query_one("#contact-title").render())


async def test_contacts_filter_as_you_type(make_app):
    contacts = [(f"Person {i}", [f"p{i}@example.org"], "Acme" if i % 2 else "Initech") for i in range(30)]
    app = make_app(accounts=[sample_account()], contacts=contacts)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 30
        await pilot.press(*"initech")
        assert table.row_count == 15
        await pilot.press(*" 12")
        assert table.row_count == 1
