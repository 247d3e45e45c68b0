"""Placeholders of sent mail the provider files itself (sentcopy.py), against the real SMTP server
and Dovecot: merged into the synced copy, kept while nothing could show the copy, and dropped
from the index (the outbox and the body cache keep the message) when the copy never came."""

from __future__ import annotations

import json

import pytest

from tamago_tui.backend import sentcopy
from tamago_tui.backend.cache import open_message
from tamago_tui.backend.compose import Draft
from tamago_tui.backend.history import local_history
from tamago_tui.backend.outbox import Outbox
from tamago_tui.backend.sending import Sender, sender_address
from tamago_tui.backend.sync import sync_account
from tests.integration.send_rig import Rig, account_for

pytestmark = pytest.mark.servers

SENT = "[Gmail]/Sent Mail"
ALL = "[Gmail]/All Mail"


@pytest.fixture
def rig(tamago_home, monkeypatch, gmail_user, dovecot, smtp_server, test_ca):
    """A Gmail-preset account: the provider files sent mail itself, so tamago writes a placeholder."""
    account = account_for(gmail_user, dovecot, smtp_server, test_ca, provider="gmail")
    return Rig.make(tamago_home, monkeypatch, account, gmail_user.password)


def send(rig, **fields):
    draft = Draft(sender=sender_address(rig.account), **fields)
    sender = Sender(rig.services)
    item = sender.deliver(sender.queue(rig.account, draft).id)
    assert (item.status, item.sent_copy) == ("sent", "server")
    return item, item.message_id.strip("<>")


def rows(rig, message_id):
    store = rig.services.open_store()
    try:
        return [dict(r) for r in store.db["messages"].rows_where("message_id = ?", [message_id], order_by="id")]
    finally:
        store.close()


def history(rig, address):
    store = rig.services.open_store()
    try:
        return local_history(store, [address])
    finally:
        store.close()


def test_the_synced_copy_replaces_the_placeholder_and_keeps_its_bcc(rig, gmail_user, friend, dovecot, smtp_server):
    hidden = dovecot.add_user("standard")
    item, message_id = send(rig, to=(friend.address,), bcc=(hidden.address,), subject="Filed by Gmail", body="x")
    [placeholder] = rows(rig, message_id)
    assert (placeholder["folder"], placeholder["uid"]) == (SENT, None)

    # The provider files the message as it went out (no Bcc header) under All Mail and Sent Mail.
    [received] = smtp_server.messages()
    assert hidden.address.encode() not in received.data
    dovecot.append(gmail_user, ALL, received.data, flags=("\\Seen",))
    dovecot.append(gmail_user, SENT, received.data, flags=("\\Seen",))
    report = sync_account(rig.services, rig.reconfigure(folders=(ALL, SENT)))

    assert report.ok, report.error
    copies = rows(rig, message_id)
    assert sorted(r["folder"] for r in copies) == [ALL, SENT]
    assert all(r["uid"] is not None for r in copies)  # the placeholder is gone, not just hidden
    assert all(json.loads(r["bcc"]) == [hidden.address] for r in copies)  # merged from the placeholder
    [seen] = history(rig, hidden.address)
    assert (seen.message_id, seen.matched, seen.uid is not None) == (message_id, (f"bcc {hidden.address}",), True)
    [seen] = history(rig, friend.address)
    assert seen.message_id == message_id and len(seen.also_in) == 1

    # A later sync that finds the same rows changes nothing and keeps the merged Bcc.
    assert sync_account(rig.services, rig.account).ok
    assert [json.loads(r["bcc"]) for r in rows(rig, message_id)] == [[hidden.address]] * 2


def test_a_placeholder_survives_the_first_sync_of_its_folder_while_the_copy_is_not_there_yet(rig, friend):
    _, message_id = send(rig, to=(friend.address,), subject="Not filed yet", body="y")

    report = sync_account(rig.services, rig.reconfigure(folders=(SENT,)))

    assert report.ok and report.folders[0].new == 0
    [row] = rows(rig, message_id)
    assert row["uid"] is None  # the new folder's UIDVALIDITY reset did not take it along
    assert [h.message_id for h in history(rig, friend.address)] == [message_id]


def test_a_copy_that_never_comes_leaves_the_index_but_the_message_stays_reachable(rig, friend, monkeypatch):
    item, message_id = send(rig, to=(friend.address,), subject="Never filed", body="still mine\n")

    # Within the grace period the placeholder stays, though Sent Mail was synced and has no copy.
    assert sync_account(rig.services, rig.reconfigure(folders=(SENT,))).ok
    assert [r["uid"] for r in rows(rig, message_id)] == [None]

    # Once overdue (here: no grace at all) and with Sent Mail synced after it was sent, it goes.
    monkeypatch.setattr(sentcopy, "PLACEHOLDER_GRACE_DAYS", 0)
    assert sync_account(rig.services, rig.account).ok

    assert rows(rig, message_id) == []
    assert history(rig, friend.address) == []
    store = rig.services.open_store()
    try:
        [kept] = [i for i in Outbox(store).items(include_sent=True) if i.id == item.id]
        assert (kept.status, kept.sent_copy) == ("sent", "server")
        assert b"still mine" in Outbox(store).raw(item.id)
    finally:
        store.close()
    opened = open_message(rig.services, message_id=message_id)
    assert opened.offline and opened.text.strip() == "still mine"


def test_a_placeholder_stays_while_no_synced_folder_could_hold_the_copy(rig, friend, monkeypatch):
    _, message_id = send(rig, to=(friend.address,), subject="Only INBOX synced", body="z")
    monkeypatch.setattr(sentcopy, "PLACEHOLDER_GRACE_DAYS", 0)

    assert sync_account(rig.services, rig.reconfigure(folders=("INBOX",))).ok

    assert [r["uid"] for r in rows(rig, message_id)] == [None]
    assert [h.message_id for h in history(rig, friend.address)] == [message_id]
