"""Sending against the real SMTP server and Dovecot: delivery, failures, the outbox's promises."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.errors import UsageError
from tamago_tui.backend.history import local_history
from tamago_tui.backend.outbox import Outbox
from tamago_tui.backend.sending import Sender, sender_address
from tamago_tui.backend.cache import open_message
from tamago_tui.backend.sync import sync_account
from tests.integration.send_rig import Rig, account_for, fetch_messages

pytestmark = pytest.mark.servers


@pytest.fixture
def rig(tamago_home, monkeypatch, me, dovecot, smtp_server, test_ca):
    return Rig.make(tamago_home, monkeypatch, account_for(me, dovecot, smtp_server, test_ca), me.password)


def queue(rig, **fields) -> int:
    draft = Draft(sender=sender_address(rig.account), **fields)
    return Sender(rig.services).queue(rig.account, draft).id


def deliver(rig, item_id, **options):
    return Sender(rig.services).deliver(item_id, **options)


def outbox(rig) -> Outbox:
    return Outbox(rig.services.open_store())


# ----- the happy path -----------------------------------------------------------------------
def test_send_then_read_back_over_imap(rig, me, friend, dovecot, smtp_server, tmp_path):
    cc_user, bcc_user = dovecot.add_user("standard"), dovecot.add_user("standard")
    attachment = tmp_path / "notes.txt"
    attachment.write_bytes("quarterly numbers, naïvely summed\n".encode())
    item_id = queue(rig, to=(f"Friend <{friend.address}>",), cc=(cc_user.address,), bcc=(bcc_user.address,),
                    subject="Lunch on Thursday?", body="Shall we meet at noon?\n", attachments=(str(attachment),))

    item = deliver(rig, item_id)

    assert (item.status, item.last_error, item.sent_copy) == ("sent", "", "saved")
    received = smtp_server.messages()
    assert len(received) == 1
    assert received[0].mail_from == me.address
    assert sorted(received[0].rcpt_tos) == sorted([friend.address, cc_user.address, bcc_user.address])
    assert received[0].tls and received[0].auth_user == me.login
    assert bcc_user.address.encode() not in received[0].data  # envelope only, never a header
    for user in (friend, cc_user, bcc_user):
        dovecot.wait_for_message(user)
        [(msg, _flags)] = fetch_messages(dovecot, user)
        assert msg["Message-ID"] == item.message_id
        assert msg["Subject"] == "Lunch on Thursday?"
        assert msg["From"].addresses[0].addr_spec == me.address
        assert msg["To"].addresses[0].addr_spec == friend.address
        assert msg["Cc"].addresses[0].addr_spec == cc_user.address
        assert msg["Bcc"] is None
        assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Shall we meet at noon?\n"
        [part] = list(msg.iter_attachments())
        assert part.get_filename() == "notes.txt"
        assert part.get_payload(decode=True) == attachment.read_bytes()


# ----- failures that leave the message in the outbox ------------------------------------------
def test_bad_credentials_fail_classified_and_retry_after_fixing_sends(rig, me, friend, dovecot, smtp_server):
    rig.set_password("not-the-password")
    item_id = queue(rig, to=(friend.address,), subject="Credentials", body="x")

    item = deliver(rig, item_id)

    assert item.status == "failed"
    assert item.last_category == "invalid_credentials"
    assert "535" in item.last_error
    assert [i.id for i in outbox(rig).items()] == [item_id]
    assert smtp_server.messages() == []

    rig.set_password(me.password)
    item = deliver(rig, item_id)
    assert (item.status, item.attempts) == ("sent", 2)
    assert len(smtp_server.messages()) == 1
    assert dovecot.wait_for_message(friend)["messages"] == 1


def test_one_rejected_recipient_sends_nothing_and_names_it(rig, friend, dovecot, smtp_server):
    nobody = "nobody@example.test"
    smtp_server.configure(reject_recipients=[nobody])
    item_id = queue(rig, to=(friend.address, nobody), subject="Two people", body="hello both")

    item = deliver(rig, item_id)

    assert item.status == "failed"
    assert list(item.rejected) == [nobody]
    assert item.rejected[nobody].startswith("550 5.1.1")
    assert f"{nobody} (550 5.1.1" in item.last_error
    assert friend.address not in item.last_error
    assert item.last_category == "sender_rejected"
    assert smtp_server.messages() == []
    assert dovecot.status(friend, "INBOX")["messages"] == 0

    box = outbox(rig)
    edited = box.replace(item_id, rig.account,
                         Draft(sender=sender_address(rig.account), to=(friend.address,), subject="Two people",
                               body="hello both"))
    assert (edited.status, edited.rejected) == ("queued", {})
    item = deliver(rig, item_id)
    assert item.status == "sent"
    [received] = smtp_server.messages()
    assert received.rcpt_tos == [friend.address]
    assert dovecot.wait_for_message(friend)["messages"] == 1


def test_temporary_failure_then_retry_delivers_exactly_once(rig, friend, dovecot, smtp_server):
    smtp_server.configure(tempfail=1)
    item_id = queue(rig, to=(friend.address,), subject="Try again", body="451 first")

    item = deliver(rig, item_id)
    assert item.status == "failed"
    assert "451" in item.last_error
    assert smtp_server.messages() == []

    item = deliver(rig, item_id)
    assert (item.status, item.attempts) == ("sent", 2)
    assert len(smtp_server.messages()) == 1
    dovecot.wait_for_message(friend)
    assert len(fetch_messages(dovecot, friend)) == 1


def test_dropped_after_data_is_uncertain_and_never_resent_unless_forced(rig, friend, smtp_server):
    smtp_server.configure(drop_after_data=1)
    item_id = queue(rig, to=(friend.address,), subject="Did it arrive?", body="maybe")

    item = deliver(rig, item_id)
    assert item.status == "uncertain"
    assert "may have been delivered" in item.last_error
    assert len(smtp_server.messages()) == 1  # the server did take it

    box = outbox(rig)
    assert box.recover() == 0 and box.get(item_id).status == "uncertain"
    with pytest.raises(UsageError, match="may already have been delivered"):
        deliver(rig, item_id)
    assert box.claim(item_id) is False
    assert len(smtp_server.messages()) == 1

    item = deliver(rig, item_id, force=True)
    assert item.status == "sent"
    assert len(smtp_server.messages()) == 2  # the second one only because the user forced it
    with pytest.raises(UsageError, match="already sent"):
        deliver(rig, item_id, force=True)
    assert len(smtp_server.messages()) == 2


def test_size_limit_refuses_before_data(rig, friend, smtp_server, tmp_path):
    smtp_server.configure(size_limit=4000)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6000))
    item_id = queue(rig, to=(friend.address,), subject="Too big", body="see attachment",
                    attachments=(str(big),))

    item = deliver(rig, item_id)

    assert item.status == "failed"
    assert "accepts at most 4,000" in item.last_error and "SIZE" in item.last_error
    assert item.last_category == "sender_rejected"
    assert smtp_server.messages() == []


# ----- crashes and dead servers -------------------------------------------------------------------
CRASHER = textwrap.dedent("""
    import sys, time
    from tamago_tui.backend.outbox import Outbox
    from tamago_tui.backend.store import Store
    box = Outbox(Store(sys.argv[1]))
    with box.sending():
        assert box.claim(int(sys.argv[2]))
        assert box.claim(int(sys.argv[3]))
        box._set(int(sys.argv[3]), status="sending-data")
        print("mid-send", flush=True)
        time.sleep(120)
""")


def test_crash_mid_send_recovers_without_loss_or_duplicate(rig, friend, smtp_server):
    first = queue(rig, to=(friend.address,), subject="first", body="1")
    second = queue(rig, to=(friend.address,), subject="second", body="2")
    child = subprocess.Popen([sys.executable, "-c", CRASHER, str(rig.services.paths.database), str(first),
                              str(second)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "mid-send"
        box = outbox(rig)
        # A live sender's rows are left alone.
        assert box.recover() == 0
        assert [box.get(first).status, box.get(second).status] == ["sending", "sending-data"]
        assert box.claim(first) is False
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()

    assert Sender(rig.services).recover() == 2
    assert box.get(first).status == "queued"
    assert box.get(second).status == "uncertain"
    assert deliver(rig, first).status == "sent"
    with pytest.raises(UsageError):
        deliver(rig, second)
    assert [m.data.count(b"Subject: first") for m in smtp_server.messages()] == [1]


@pytest.fixture
def silent_port():
    """A loopback port whose connections are accepted by the kernel and never answered."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_server_that_never_answers_times_out(rig, friend, silent_port):
    account = rig.reconfigure(smtp=rig.account.smtp.with_(port=silent_port))
    assert account.smtp.port == silent_port
    rig.set_timeout(1.0)
    item_id = queue(rig, to=(friend.address,), subject="hello?", body="anyone")

    item = deliver(rig, item_id)

    assert item.status == "failed"
    assert item.last_category == "timeout"
    assert "did not answer" in item.last_error


def test_dead_server_fails_and_keeps_the_message(rig, friend):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    rig.reconfigure(smtp=rig.account.smtp.with_(port=closed_port))
    item_id = queue(rig, to=(friend.address,), subject="hello?", body="anyone")

    item = deliver(rig, item_id)

    assert item.status == "failed"
    assert item.last_category == "connection_refused"
    assert [i.id for i in outbox(rig).items()] == [item_id]


# ----- the Sent copy ------------------------------------------------------------------------
def bare(message_id: str) -> str:
    """The index stores Message-IDs without angle brackets, as the sync engine does."""
    assert message_id.startswith("<") and message_id.endswith(">")
    return message_id[1:-1]


def _index_rows(rig, message_id):
    store = rig.services.open_store()
    try:
        return [dict(r) for r in store.db["messages"].rows_where("message_id = ?", [message_id])]
    finally:
        store.close()


def _history(rig, address):
    store = rig.services.open_store()
    try:
        return local_history(store, [address])
    finally:
        store.close()


def test_sent_copy_is_appended_seen_and_shows_in_the_contacts_history(rig, me, friend, dovecot):
    hidden = dovecot.add_user("standard")
    item_id = queue(rig, to=(friend.address,), bcc=(hidden.address,), subject="Filed", body="keep me")

    item = deliver(rig, item_id)

    assert (item.status, item.sent_copy) == ("sent", "saved")
    [(copy, flags)] = fetch_messages(dovecot, me, "Sent")
    assert copy["Message-ID"] == item.message_id
    assert b"\\Seen" in flags
    assert copy["Bcc"] is None
    [row] = _index_rows(rig, bare(item.message_id))
    assert (row["account"], row["folder"]) == ("me", "Sent")
    assert (row["subject"], row["flags"], row["sender"]) == ("Filed", "\\Seen", f"Test Sender <{me.address}>")
    assert (json.loads(row["recipients"]), json.loads(row["bcc"])) == ([friend.address], [hidden.address])
    with dovecot.connect(me) as client:
        status = client.select_folder("Sent", readonly=True)
        assert row["uid"] in client.search("ALL")
        assert row["uidvalidity"] == status[b"UIDVALIDITY"]
    [seen] = _history(rig, friend.address)
    assert (seen.message_id, seen.subject, seen.folder) == (bare(item.message_id), "Filed", "Sent")
    [blind] = _history(rig, hidden.address)
    assert blind.matched == (f"bcc {hidden.address}",)
    opened = open_message(rig.services, rowid=row["id"])
    assert opened.offline and opened.text.strip() == "keep me"

    # A later sync of Sent finds the same UID and keeps one row for it.
    report = sync_account(rig.services, rig.account, folders=["INBOX", "Sent"])
    assert report.ok, report.error
    [synced] = _index_rows(rig, bare(item.message_id))
    assert (synced["folder"], synced["uid"], synced["uidvalidity"]) == ("Sent", row["uid"], row["uidvalidity"])
    assert [h.message_id for h in _history(rig, friend.address)] == [bare(item.message_id)]


def test_gmail_preset_skips_the_append_but_indexes_at_once(tamago_home, monkeypatch, gmail_user, friend, dovecot,
                                                          smtp_server, test_ca):
    rig = Rig.make(tamago_home, monkeypatch,
                   account_for(gmail_user, dovecot, smtp_server, test_ca, provider="gmail"), gmail_user.password)
    item = deliver(rig, queue(rig, to=(friend.address,), subject="Via Gmail", body="the server files it"))

    assert (item.status, item.sent_copy) == ("sent", "server")
    assert dovecot.status(gmail_user, "[Gmail]/Sent Mail")["messages"] == 0
    [row] = _index_rows(rig, bare(item.message_id))
    assert (row["folder"], row["uid"]) == ("[Gmail]/Sent Mail", None)
    [seen] = _history(rig, friend.address)
    assert seen.message_id == bare(item.message_id)
    assert open_message(rig.services, rowid=row["id"]).offline

    # The provider's own copy arrives and is synced: it takes the placeholder's place.
    [received] = smtp_server.messages()
    dovecot.append(gmail_user, "[Gmail]/Sent Mail", received.data, flags=("\\Seen",))
    account = rig.reconfigure(folders=("[Gmail]/Sent Mail",))
    report = sync_account(rig.services, account)
    assert report.ok and [f.folder for f in report.folders] == ["[Gmail]/Sent Mail"]
    [seen] = _history(rig, friend.address)
    assert (seen.message_id, seen.folder, seen.also_in) == (bare(item.message_id), "[Gmail]/Sent Mail", ())
    assert seen.uid is not None


def test_account_override_beats_the_preset(tamago_home, monkeypatch, gmail_user, friend, dovecot, smtp_server,
                                           test_ca):
    rig = Rig.make(tamago_home, monkeypatch,
                   account_for(gmail_user, dovecot, smtp_server, test_ca, provider="gmail", save_sent=True),
                   gmail_user.password)
    item = deliver(rig, queue(rig, to=(friend.address,), subject="Copy anyway", body="x"))
    assert item.sent_copy == "saved"
    [(copy, _)] = fetch_messages(dovecot, gmail_user, "[Gmail]/Sent Mail")
    assert copy["Message-ID"] == item.message_id

    rig.reconfigure(provider="custom", save_sent=False)
    item = deliver(rig, queue(rig, to=(friend.address,), subject="No copy", body="y"))
    assert (item.status, item.sent_copy) == ("sent", "skipped")
    assert dovecot.status(gmail_user, "[Gmail]/Sent Mail")["messages"] == 1
    assert _index_rows(rig, bare(item.message_id)) == []


def test_failed_sent_copy_never_fails_the_send(rig, friend, dovecot, silent_port):
    rig.reconfigure(imap=rig.account.imap.with_(port=silent_port))
    rig.set_timeout(1.0)
    item = deliver(rig, queue(rig, to=(friend.address,), subject="Copy fails", body="z"))

    assert item.status == "sent"
    assert item.sent_copy.startswith("failed: ")
    assert "did not answer" in item.sent_copy
    assert dovecot.wait_for_message(friend)["messages"] == 1
    assert outbox(rig).items() == []

