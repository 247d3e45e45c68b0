"""The TUI sends through the same backend as the CLI: compose and "Send test email" against the real servers."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tamago_tui.app import TamagoApp
from tamago_tui.backend.outbox import Outbox
from tamago_tui.screens.compose import ComposeScreen
from tests.integration.send_rig import Rig, account_for, fetch_messages

pytestmark = pytest.mark.servers


@pytest.fixture
def rig(tamago_home, monkeypatch, me, dovecot, smtp_server, test_ca):
    return Rig.make(tamago_home, monkeypatch, account_for(me, dovecot, smtp_server, test_ca), me.password)


def sent_items(rig):
    store = rig.services.open_store()
    try:
        return Outbox(store).items(include_sent=True)
    finally:
        store.close()


async def test_compose_and_send_from_the_tui(rig, me, dovecot, smtp_server):
    friend = dovecot.add_user("standard")
    app = TamagoApp(rig.services)
    notes = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.notify = lambda message, **kw: notes.append(message)
        await pilot.pause()
        app.action_compose()
        await pilot.pause()
        await pilot.press(*friend.address, "tab", "tab", "tab", *"From the TUI", "tab", "tab", *"Hello there")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, ComposeScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()

    [item] = sent_items(rig)
    assert (item.status, item.subject, item.sent_copy) == ("sent", "From the TUI", "saved")
    assert notes[-1] == "Sent “From the TUI”."
    assert len(smtp_server.messages()) == 1
    dovecot.wait_for_message(friend)
    [(msg, _)] = fetch_messages(dovecot, friend)
    assert msg["Subject"] == "From the TUI"
    assert msg.get_body(("plain",)).get_content().strip() == "Hello there"


async def test_send_test_email_from_the_accounts_screen(rig, me, dovecot, smtp_server):
    app = TamagoApp(rig.services)
    notes = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.notify = lambda message, **kw: notes.append(message)
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("m")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert notes == [f"Sending a test message to {me.address}…", f"Test message sent to {me.address}."]
    [received] = smtp_server.messages()
    assert received.rcpt_tos == [me.address]
    dovecot.wait_for_message(me)
    [(msg, _)] = fetch_messages(dovecot, me)
    assert msg["Subject"] == "tamago test message"
    assert msg["To"].addresses[0].addr_spec == me.address
    [(copy, flags)] = fetch_messages(dovecot, me, "Sent")
    assert copy["Message-ID"] == msg["Message-ID"] and b"\\Seen" in flags


async def test_send_test_email_reports_a_failure(rig, me, smtp_server):
    rig.set_password("wrong")
    app = TamagoApp(rig.services)
    notes = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.notify = lambda message, **kw: notes.append((message, kw.get("severity")))
        await pilot.pause()
        await pilot.press("f3", "m")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    message, severity = notes[-1]
    assert severity == "error"
    assert message.startswith("Test message not sent:") and "535" in message
    assert smtp_server.messages() == []
    [item] = sent_items(rig)
    assert item.status == "failed"
