"""Snapshots of each screen at 80x24. Review the SVGs before updating them."""

from tests.ui.conftest import sample_account

CONTACTS = [
    ("Ada Lovelace", ["ada@example.org"], "Analytical Engines"),
    ("Grace Hopper", ["grace@navy.example", "ghopper@example.com"], "US Navy"),
    ("Alan Turing", ["alan@bletchley.example"], ""),
]


async def _settle(pilot):
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_accounts_empty_state(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=(80, 24))


def test_contacts_list(snap_compare, make_app):
    app = make_app(accounts=[sample_account()], contacts=CONTACTS)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)


def test_contact_history_empty(snap_compare, make_app):
    app = make_app(accounts=[sample_account()], contacts=CONTACTS)

    async def open_first(pilot):
        await _settle(pilot)
        await pilot.press("down", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_first)


def test_troubleshoot_screen(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=(80, 24), press=["f4"])


def test_troubleshoot_gmail_app_password(snap_compare, make_app):
    from tests.ui.test_troubleshoot_screen import GMAIL_APP_PASSWORD

    async def paste(pilot):
        from textual.widgets import TextArea

        await pilot.press("f4")
        pilot.app.screen.query_one("#error-text", TextArea).text = GMAIL_APP_PASSWORD
        await pilot.press("ctrl+e")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=paste)


def test_troubleshoot_office365_basic_auth_guide(snap_compare, make_app):
    async def browse(pilot):
        from textual.widgets import OptionList, Select

        await pilot.press("f4")
        pilot.app.screen.query_one("#provider", Select).value = "office365"
        await pilot.press("ctrl+b")
        await pilot.pause()
        options = pilot.app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("basic_auth_disabled")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=browse)
