"""Aliases against the real servers: sending as one, mail to one, replies from one, notes to self.

The mailbox is a fresh Dovecot user; its aliases are addresses at another domain that
Dovecot knows nothing about (as with a provider's "send as" identities): mail to them
is appended to the user's folders, as the provider would have delivered it.
"""

from __future__ import annotations

import json
import secrets
import smtplib

import pytest
from textual.widgets import DataTable, Select

from tamago_tui.app import TamagoApp
from tamago_tui.backend.compose import Draft, original_from_parsed
from tamago_tui.backend.cache import open_message
from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.outbox import Outbox
from tamago_tui.backend.sending import Sender, reply_sender, sender_address
from tamago_tui.backend.sync import sync_account
from tamago_tui.backend.visit import visit
from tamago_tui.screens.compose import ComposeScreen
from tamago_tui.screens.contact import ContactScreen
from tamago_tui.screens.message import MessageScreen
from tests.diagnostics.clihelp import tamago
from tests.integration.send_rig import MASTER, Rig, account_for, fetch_messages
from tests.servers.seed import Person
from tests.sync.conftest import message

pytestmark = pytest.mark.servers

SALES = "sales@alias.example"
OLD = "me@old-domain.example"
ADA = Person("Ada Lovelace", "ada@partner.test")


@pytest.fixture
def rig(tamago_home, monkeypatch, me, dovecot, smtp_server, test_ca):
    account = account_for(me, dovecot, smtp_server, test_ca).with_(aliases=(SALES, OLD))
    return Rig.make(tamago_home, monkeypatch, account, me.password)


def cli_send(*args):
    result = tamago("send", "--account", "me", *args, "--json", stdin="Sent as an alias.\n",
                    env={"TAMAGO_MASTER_PASSWORD": MASTER})
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


def test_send_from_an_alias_arrives_with_that_from_and_envelope(rig, friend, dovecot, smtp_server):
    code, item, err = cli_send("--from", SALES.upper(), "--to", friend.address, "--subject", "As sales")

    assert code == 0, err
    assert item["status"] == "sent"
    [received] = smtp_server.messages()
    assert received.mail_from == SALES  # the envelope sender is the alias too
    dovecot.wait_for_message(friend)
    [(msg, _)] = fetch_messages(dovecot, friend)
    assert msg["From"].addresses[0].addr_spec == SALES
    assert msg["From"].addresses[0].display_name == "Test Sender"
    assert msg["Message-ID"].endswith("@alias.example>")


def test_send_from_an_address_that_is_not_the_accounts_is_a_usage_error(rig, friend, smtp_server):
    code, item, err = cli_send("--from", "boss@alias.example", "--to", friend.address)

    assert code == 2
    assert item is None
    assert "boss@alias.example is not an address of the account 'me'" in err
    assert SALES in err  # it says what may be used
    assert smtp_server.messages() == []
    store = rig.services.open_store()
    try:
        assert Outbox(store).items(include_sent=True) == []
    finally:
        store.close()


def test_a_server_refusing_to_send_as_the_alias_is_sender_rejected(rig, friend, dovecot, smtp_server):
    smtp_server.configure(reject_senders=[SALES])
    sender = Sender(rig.services)
    draft = Draft(sender=sender_address(rig.account, SALES), to=(friend.address,), subject="Not allowed")

    item = sender.deliver(sender.queue(rig.account, draft).id)

    assert item.status == "failed"
    assert item.last_category == "sender_rejected"
    assert "553" in item.last_error and SALES in item.last_error
    assert smtp_server.messages() == []
    # The main address is still allowed on the same server.
    draft = Draft(sender=sender_address(rig.account), to=(friend.address,), subject="Allowed")
    assert sender.deliver(sender.queue(rig.account, draft).id).status == "sent"


def add_ada(services) -> int:
    store = services.open_store()
    try:
        return ContactBook(store).add(ADA.name, [ADA.address]).id
    finally:
        store.close()


async def test_mail_to_an_alias_is_in_the_contacts_history_and_the_reply_is_from_the_alias(
        rig, me, dovecot, smtp_server):
    sales = Person("Sales", SALES)
    dovecot.append(me, "INBOX", message(sender=ADA, to=(sales,), cc=(Person("", me.address),),
                                        subject="Quote please", body="How much for the engine?"))
    dovecot.append(me, "Sent", message(sender=Person("Test Sender", OLD), to=(ADA,), subject="Old news",
                                       days_ago=2))
    ada_id = add_ada(rig.services)
    assert sync_account(rig.services, rig.account).new == 2

    result = visit(rig.services, [ADA.address])
    assert sorted((r.subject, r.matched) for r in result.rows) == [
        ("Old news", (f"to {ADA.address}",)),
        ("Quote please", (f"from {ADA.address}",)),
    ]

    app = TamagoApp(rig.services)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ContactScreen(ada_id, fetch=False))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#history-table", DataTable)
        who = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert who == ["Ada Lovelace", "to Ada Lovelace"]  # the old-domain mail is mine: "to ..."
        await pilot.press("enter")  # the newest: Quote please
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("g")  # reply-all
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.query_one("#from", Select).value == ("me", SALES)
        _, draft = app.screen.current_draft()
        assert draft.sender == f"Test Sender <{SALES}>"
        assert draft.to == (f"{ADA.name} <{ADA.address}>",)
        assert draft.cc == ()  # my main address was in Cc: not copied to myself
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    [received] = smtp_server.messages()
    assert received.mail_from == SALES
    assert received.rcpt_tos == [ADA.address]
    assert b"In-Reply-To: <" in received.data


def test_a_note_to_self_sent_to_an_alias_is_a_note_to_self(rig, me, dovecot):
    dovecot.append_many(me, "Sent", [
        message(sender=Person("Test Sender", me.address), to=(Person("", SALES),), subject="Note via alias"),
        message(sender=Person("Test Sender", SALES), to=(Person("", OLD),), cc=(Person("", me.address),),
                subject="Note between aliases"),
        message(sender=Person("Test Sender", me.address), to=(Person("", SALES), ADA), subject="To Ada too"),
    ])
    assert sync_account(rig.services, rig.account).new == 3

    notes = visit(rig.services, [me.address])
    assert sorted(r.subject for r in notes.rows) == ["Note between aliases", "Note via alias"]
    via_alias = visit(rig.services, [SALES])
    assert sorted(r.subject for r in via_alias.rows) == ["Note between aliases", "Note via alias"]
    ada = visit(rig.services, [ADA.address])
    assert [r.subject for r in ada.rows] == ["To Ada too"]
    assert ada.rows[0].matched == (f"to {ADA.address}",)  # not "to sales@...": the alias is me


def bcc(smtp_server, test_ca, sender, recipients: list[str], data: bytes) -> None:
    """Mail sent through the real SMTP server with `recipients` only in the envelope."""
    with smtplib.SMTP("localhost", smtp_server.ports["submission"], timeout=10) as client:
        client.starttls(context=test_ca.client_context())
        client.login(sender.login, sender.password)
        client.sendmail(sender.address, recipients, data)


async def test_a_reply_to_mail_bccd_to_an_alias_is_from_that_alias(rig, me, friend, dovecot, smtp_server, test_ca):
    # A real alias this time: Dovecot delivers it into my mailbox and records Delivered-To.
    team = dovecot.add_alias(me, f"team-{secrets.token_hex(3)}@alias.example")
    rig.reconfigure(aliases=(SALES, team))
    bcc(smtp_server, test_ca, friend, [team],
        message(sender=Person("Fran Friend", friend.address), to=(Person("Project", "project@lists.example"),),
                subject="For the team", body="Blind copy."))
    dovecot.wait_for_message(me)
    assert sync_account(rig.services, rig.account).new == 1
    store = rig.services.open_store()
    try:
        [rowid] = [row[0] for row in store.db.execute("SELECT id FROM messages WHERE subject = 'For the team'")]
    finally:
        store.close()

    opened = open_message(rig.services, rowid=rowid)  # fetched from Dovecot, as the message screen does
    headers = dict((name.lower(), value) for name, value in opened.parsed.headers)
    assert team not in headers["to"] and "cc" not in headers  # only the envelope names the alias
    assert team in headers["delivered-to"]  # written by Dovecot's LMTP
    assert reply_sender(rig.account, original_from_parsed(opened.parsed)) == f"Test Sender <{team}>"

    app = TamagoApp(rig.services)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(MessageScreen(rowid))
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.query_one("#from", Select).value == ("me", team)
        _, draft = app.screen.current_draft()
        assert draft.sender == f"Test Sender <{team}>"
        assert draft.to == (f"Fran Friend <{friend.address}>",)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    reply = smtp_server.messages()[-1]
    assert (reply.mail_from, reply.rcpt_tos) == (team, [friend.address])
    assert b"In-Reply-To: <" in reply.data
