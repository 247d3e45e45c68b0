"""Names, folders and addresses are shown as typed: "[" in them is text, never console markup."""

from types import SimpleNamespace

from textual.widgets import DataTable, Input, SelectionList

from tests.ui.conftest import sample_account

ODD = [("Ada [/b] Lovelace", ["ada@example.org"], "[Gmail] Team"), ("Bob [red]x", ["bob@example.org"], "")]


async def settle(app, pilot):
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def test_contact_list_shows_brackets_verbatim(make_app):
    app = make_app(accounts=[sample_account()], contacts=ODD)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)  # "[/b]" as markup would raise here
        table = app.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert ["Ada [/b] Lovelace", "[Gmail] Team", "ada@example.org"] in rows
        assert "Bob [red]x" in [row[0] for row in rows]
        await pilot.press("down", "m")  # merge: the picker's title and the confirm name both
        await pilot.pause()
        assert type(app.screen).__name__ == "ContactPicker"
        await pilot.press("escape", "u")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "DuplicatesScreen"


async def test_contact_editor_warning_with_brackets(make_app):
    app = make_app(accounts=[sample_account()], contacts=ODD)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        app.screen.query_one("#emails", Input).value = "ada@example.org"
        await pilot.pause()
        assert "Ada [/b] Lovelace" in str(app.screen.query_one("#shared-warning").render())


async def test_gmail_folder_names_keep_their_brackets(make_app):
    from tamago_tui.screens.connection_test import TestResult

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane.doe@gmail.com")
        await pilot.pause()
        editor = app.screen
        folders = [("INBOX", ()), ("[Gmail]/All Mail", ("\\All",)), ("[Gmail]/Sent Mail", ("\\Sent",))]
        report = SimpleNamespace(ok=True, first_failure=None, category=None)
        editor._test_finished(TestResult(editor.form_account(), report, folders))
        await pilot.pause()
        folder_list = editor.query_one("#folders", SelectionList)
        prompts = [str(folder_list.get_option_at_index(i).prompt) for i in range(folder_list.option_count)]
        assert "[Gmail]/All Mail  \\All" in prompts
        assert list(folder_list.selected) == ["[Gmail]/All Mail"]  # Gmail: All Mail, never INBOX alone
