"""Snapshots of the contact import prompt, merge picker, duplicates screen and the shared-address
warning, at 80x24. Review the SVGs before updating them."""

from tests.ui.conftest import sample_account

CONTACTS = [
    ("Ada Lovelace", ["ada@example.org"], "Analytical Engines"),
    ("Lovelace, Ada", ["countess@example.org", "ada@example.org"], ""),
    ("Grace Hopper", ["grace@navy.example", "ghopper@example.com"], "US Navy"),
    ("Alan Turing", ["alan@bletchley.example"], ""),
]


async def _settle(pilot):
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _app(make_app):
    return make_app(accounts=[sample_account()], contacts=CONTACTS)


def test_import_prompt(snap_compare, make_app):
    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("down", "i")
        await pilot.press(*"~/Downloads/contacts.vcf")
        await pilot.pause()

    assert snap_compare(_app(make_app), terminal_size=(80, 24), run_before=run_before)


def test_merge_picker(snap_compare, make_app):
    async def run_before(pilot):
        await _settle(pilot)
        # Into the list (Ada Lovelace, Alan Turing, Grace Hopper, Lovelace Ada), to the last row.
        await pilot.press("down", "down", "down", "down", "m")
        await pilot.pause()

    assert snap_compare(_app(make_app), terminal_size=(80, 24), run_before=run_before)


def test_duplicates_screen(snap_compare, make_app):
    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("down", "u")
        await _settle(pilot)

    assert snap_compare(_app(make_app), terminal_size=(80, 24), run_before=run_before)


def test_editor_shared_address_warning(snap_compare, make_app):
    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("down", "e")  # Ada Lovelace, whose address Lovelace, Ada also has
        await pilot.pause()

    assert snap_compare(_app(make_app), terminal_size=(80, 24), run_before=run_before)
