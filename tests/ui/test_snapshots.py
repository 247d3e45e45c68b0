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
