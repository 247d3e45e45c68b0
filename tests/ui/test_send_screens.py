"""Compose and Outbox screens: keys, completion, editing a failed message, and snapshots at 80x24.

Nothing here touches the network: messages are saved to the outbox with ctrl+l,
or seeded into the store directly. Sending through the TUI against the real
servers is in tests/integration/test_send_ui.py.
"""

from __future__ import annotations

import json

from textual.widgets import DataTable, Input, TextArea

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.outbox import Outbox
from tamago_tui.screens.compose import ComposeScreen
from tests.ui.conftest import sample_account

CONTACTS = [
    ("Ada Lovelace", ["ada@example.org"], "Analytical Engines"),
    ("Grace Hopper", ["grace@navy.example", "ghopper@example.com"], "US Navy"),
    ("Alan Turing", ["alan@bletchley.example"], ""),
]
STAMP = "2026-01-05T09:30:00+00:00"


def seed_outbox(app) -> list[int]:
    """A failed message (one refused recipient) and an uncertain one, with fixed times."""
    account = app.services.account("work")
    store = app.services.open_store()
    try:
        box = Outbox(store)
        failed = box.enqueue(account, Draft(sender="jane@example.org",
                                            to=('"Lovelace, Ada" <ada@example.org>', "nobody@example.org"),
                                            cc=("alan@bletchley.example",), bcc=("boss@example.org",),
                                            subject="Minutes of Monday", body="Attached are the minutes.\n"))
        unsure = box.enqueue(account, Draft(sender="jane@example.org", to=("grace@navy.example",),
                                            subject="Compiler notes", body="See below.\n"))
        refused = {"nobody@example.org": "550 5.1.1 <nobody@example.org>: Recipient address rejected"}
        box._set(failed.id, status="failed", attempts=1, rejected=json.dumps(refused),
                 last_error="The server refused 1 recipient(s): nobody@example.org (550 5.1.1 "
                            "<nobody@example.org>: Recipient address rejected). Nothing was sent.",
                 last_category="sender_rejected")
        box._set(unsure.id, status="uncertain", attempts=1,
                 last_error="The connection dropped after the message was handed to the server, so it may "
                            "have been delivered. It will not be resent automatically.",
                 last_category="server_unavailable")
        with store.db.conn:
            store.db.execute("UPDATE outbox SET created_at = ?, updated_at = ?", [STAMP, STAMP])
        return [failed.id, unsure.id]
    finally:
        store.close()


def outbox_items(app):
    store = app.services.open_store()
    try:
        return Outbox(store).items()
    finally:
        store.close()


async def _settle(pilot):
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# ----- compose --------------------------------------------------------------------------------
async def test_compose_completes_addresses_from_contacts_and_saves_to_the_outbox(make_app):
    app = make_app(accounts=[sample_account()], contacts=CONTACTS)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        app.action_compose()
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert app.focused.id == "to"
        await pilot.press(*"gra")
        await _settle(pilot)
        to = app.screen.query_one("#to", Input)
        assert to._suggestion == "Grace Hopper <grace@navy.example>"
        await pilot.press("right")  # accept the suggestion
        assert to.value == "Grace Hopper <grace@navy.example>"
        await pilot.press(",", "space", *"alan")
        await _settle(pilot)
        await pilot.press("right")
        assert to.value == "Grace Hopper <grace@navy.example>, Alan Turing <alan@bletchley.example>"
        await pilot.press("tab", "tab", *"ada@example.org", "tab", *"Hello", "tab", "tab")
        assert app.focused.id == "body"
        await pilot.press(*"Hi all")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not isinstance(app.screen, ComposeScreen)

    [item] = outbox_items(app)
    assert item.status == "queued"
    assert item.subject == "Hello"
    assert item.rcpt_to == ("grace@navy.example", "alan@bletchley.example", "ada@example.org")


async def test_compose_refuses_a_bad_address_and_stays_open(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        app.action_compose()
        await pilot.pause()
        await pilot.press(*"not an address", "ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert "not a valid email address" in str(app.screen.query_one("#compose-status").render())
    assert outbox_items(app) == []


async def test_escape_on_a_written_message_asks_before_discarding(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        app.action_compose()
        await pilot.pause()
        await pilot.press(*"ada@example.org", "escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "KeepDraft"
        await pilot.press("escape")  # cancel: back to writing
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("escape", "d")  # discard
        await pilot.pause()
        assert not isinstance(app.screen, ComposeScreen)
    assert app.services.drafts.list() == []


# ----- outbox ----------------------------------------------------------------------------------
async def test_outbox_lists_failed_and_uncertain_with_the_error(make_app):
    app = make_app(accounts=[sample_account()])
    failed, unsure = seed_outbox(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await _settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        assert "nobody@example.org (550 5.1.1" in str(app.screen.query_one("#outbox-detail").render())
        await pilot.press("down")
        await pilot.pause()
        assert "may have been delivered" in str(app.screen.query_one("#outbox-detail").render())
        # Retrying an uncertain message asks first; "no" sends nothing.
        await pilot.press("r")
        await pilot.pause()
        assert type(app.screen).__name__ == "Confirm"
        await pilot.press("n")
        await _settle(pilot)
    assert [i.status for i in outbox_items(app)] == ["failed", "uncertain"]


async def test_outbox_edit_fixes_the_recipients_of_a_failed_message(make_app):
    app = make_app(accounts=[sample_account()])
    failed, _ = seed_outbox(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await _settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        assert screen.query_one("#to", Input).value == '"Lovelace, Ada" <ada@example.org>, nobody@example.org'
        assert screen.query_one("#cc", Input).value == "alan@bletchley.example"
        assert screen.query_one("#bcc", Input).value == "boss@example.org"
        assert screen.query_one("#body", TextArea).text.startswith("Attached are the minutes.")
        screen.query_one("#to", Input).value = "ada@example.org"
        await pilot.press("ctrl+l")
        await pilot.pause()

    items = {i.id: i for i in outbox_items(app)}
    assert len(items) == 2
    assert items[failed].status == "queued"
    assert items[failed].rejected == {}
    assert items[failed].rcpt_to == ("ada@example.org", "alan@bletchley.example", "boss@example.org")


async def test_outbox_drop_asks_then_deletes(make_app):
    app = make_app(accounts=[sample_account()])
    failed, unsure = seed_outbox(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await _settle(pilot)
        await pilot.press("d", "y")
        await _settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 1
    assert [i.id for i in outbox_items(app)] == [unsure]


# ----- snapshots ----------------------------------------------------------------------------------
def test_compose_snapshot_with_completion(snap_compare, make_app):
    app = make_app(accounts=[sample_account()], contacts=CONTACTS)

    async def write(pilot):
        await _settle(pilot)
        pilot.app.push_screen(ComposeScreen(Draft(sender="", subject="Compiler notes",
                                                  body="Grace,\n\nthe notes from Monday are attached.\n")))
        await pilot.pause()
        await pilot.press(*"ada@example.org, gr")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=write)


def test_outbox_snapshot_failed_and_uncertain(snap_compare, make_app):
    app = make_app(accounts=[sample_account()])
    seed_outbox(app)
    assert snap_compare(app, terminal_size=(80, 24), press=["f5"], run_before=_settle)


async def test_editing_an_uncertain_message_asks_first(make_app):
    app = make_app(accounts=[sample_account()])
    seed_outbox(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await _settle(pilot)
        await pilot.press("down", "e")
        await pilot.pause()
        assert type(app.screen).__name__ == "Confirm"
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ComposeScreen)
        await pilot.press("e", "y")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.query_one("#to", Input).value == "grace@navy.example"


async def test_editing_keeps_the_attachments_of_the_message(make_app, tmp_path):
    app = make_app(accounts=[sample_account()])
    report = tmp_path / "report.csv"
    report.write_text("q,total\n1,12\n")
    store = app.services.open_store()
    try:
        box = Outbox(store)
        item = box.enqueue(app.services.account("work"),
                           Draft(sender="jane@example.org", to=("nobody@example.org",), subject="Report",
                                 body="attached", attachments=(str(report),)))
        box._set(item.id, status="failed", last_error="550 no such user", last_category="sender_rejected")
    finally:
        store.close()
    report.unlink()  # the file is gone; the outbox copy is what counts
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await _settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert "report.csv (13 B)" in str(app.screen.query_one("#attached").render())
        app.screen.query_one("#to", Input).value = "ada@example.org"
        await pilot.press("ctrl+l")
        await pilot.pause()
    store = app.services.open_store()
    try:
        raw = Outbox(store).raw(item.id)
    finally:
        store.close()
    assert b'filename="report.csv"' in raw and b"To: ada@example.org" in raw
