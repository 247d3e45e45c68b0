"""The header index, visits and cache on open against the real Dovecot (tests/servers)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import replace

import pytest

from tamago_tui.backend.cache import open_message, save_attachment
from tamago_tui.backend.errors import NetworkError
from tamago_tui.backend.imap import LiteralTooLarge
from tamago_tui.backend.index import HeaderIndex
from tamago_tui.backend.models import Security
from tamago_tui.backend.sessions import SessionPool
from tamago_tui.backend import sync as sync_mod
from tamago_tui.backend.sync import sync_account
from tamago_tui.backend.visit import visit

from .conftest import ADA, ME, OTHER, message, now
from tests.loopback import unused_port

pytestmark = pytest.mark.servers


def index_rows(services, account="work", folder=None):
    store = services.open_store()
    try:
        sql = "SELECT folder, uid, uidvalidity, subject, flags, message_id, gm_msgid FROM messages WHERE account = ?"
        params = [account]
        if folder:
            sql += " AND folder = ?"
            params.append(folder)
        columns = ("folder", "uid", "uidvalidity", "subject", "flags", "message_id", "gm_msgid")
        return [dict(zip(columns, r)) for r in store.db.execute(sql + " ORDER BY folder, uid", params)]
    finally:
        store.close()


def folder_state(services, folder="INBOX", account="work"):
    store = services.open_store()
    try:
        return HeaderIndex(store).folder(account, folder)
    finally:
        store.close()


def server_flags(server, user, folder="INBOX"):
    with server.connect(user, mode="imaps" if server.tls else "plain") as client:
        client.select_folder(folder, readonly=True)
        return client.get_flags(client.search("ALL"))


class NoNetwork:
    """A connector that proves nothing was fetched: any connection attempt fails the test."""

    def __init__(self):
        self.calls = 0

    def __call__(self, services, account):
        self.calls += 1
        raise AssertionError("opened a connection although the message is cached")


def test_visit_shows_headers_from_a_server_search_then_the_index(services, dovecot, imap_user, add_account):
    dovecot.append_many(imap_user, "INBOX", [
        message(subject="From Ada"),
        message(sender=OTHER, cc=(ADA,), subject="Ada in cc"),
        message(sender=OTHER, subject="Not about Ada"),
        message(subject="Report", attachments=(("report.pdf", "application", "pdf", b"%PDF-1.4\n"),)),
    ])
    dovecot.append(imap_user, "Sent", message(sender=ME, to=(ADA,), subject="To Ada"))
    account = add_account(dovecot, imap_user)
    updates = []

    result = visit(services, ["Ada <ADA@Partner.test>"], on_update=updates.append)

    assert result.ok, result.errors
    by_subject = {row.subject: row for row in result.rows}
    assert sorted(by_subject) == ["Ada in cc", "From Ada", "Report", "To Ada"]
    assert updates[0].phase == "index" and updates[0].rows == ()  # the empty index answered first
    assert updates[-1].phase == "done"
    assert by_subject["Ada in cc"].matched == ("cc ada@partner.test",)
    assert by_subject["To Ada"].folder == "Sent" and by_subject["To Ada"].matched == ("to ada@partner.test",)
    assert by_subject["Report"].has_attachments and not by_subject["From Ada"].has_attachments
    assert by_subject["From Ada"].sender == "Ada Lovelace <ada@partner.test>"
    # The first sync had not run: only the contact's messages were fetched, by SEARCH.
    assert [f.partial for f in result.reports[0].folders] == [True, True]
    assert len(index_rows(services)) == 4
    assert not folder_state(services).complete

    report = sync_account(services, account)
    assert report.ok and folder_state(services).complete
    assert len(index_rows(services)) == 5  # now every message, the contact's not duplicated
    again = visit(services, [ADA.address])
    assert sorted(r.subject for r in again.rows) == sorted(by_subject)


def test_an_unchanged_folder_costs_one_round_trip_and_new_mail_arrives_between_visits(
    services, plain_dovecot, proxy_to, add_account
):
    user = plain_dovecot.add_user()
    plain_dovecot.append_many(user, "INBOX", [message(subject=f"first {i}") for i in range(3)])
    proxy = proxy_to(plain_dovecot.ports["imap"])
    account = add_account(plain_dovecot, user, port=proxy.port, security=Security.NONE)

    first = sync_account(services, account)
    assert first.ok and first.new == 3
    assert [f.folder for f in first.folders] == ["INBOX", "Sent"]

    proxy.reset_counts()
    unchanged = sync_account(services, account)
    assert unchanged.ok and all(f.unchanged for f in unchanged.folders)
    assert unchanged.round_trips == 1
    assert proxy.verbs() == ["STATUS", "STATUS"]  # what reached the server: one pipelined batch
    assert proxy.connections == 1  # the pooled connection stayed open

    plain_dovecot.append(user, "INBOX", message(subject="arrived later"))
    proxy.reset_counts()
    result = visit(services, [ADA.address])
    assert "arrived later" in [row.subject for row in result.rows]
    assert result.reports[0].folders[0].new == 1
    assert "UID FETCH" in proxy.verbs()
    assert "SELECT" not in proxy.verbs()  # read-only EXAMINE only


def test_flag_changes_and_expunges_are_picked_up(services, plain_dovecot, add_account):
    user = plain_dovecot.add_user()
    uids = plain_dovecot.append_many(user, "INBOX", [message(subject=f"m{i}") for i in range(4)])
    account = add_account(plain_dovecot, user, security=Security.NONE)
    assert sync_account(services, account).new == 4

    with plain_dovecot.connect(user, mode="plain") as client:
        client.select_folder("INBOX")
        client.add_flags([uids[0]], [b"\\Flagged"])
        client.delete_messages([uids[1]])
        client.expunge()
    report = sync_account(services, account)

    inbox = report.folders[0]
    assert (inbox.new, inbox.updated, inbox.expunged) == (0, 1, 1)
    rows = {r["uid"]: r for r in index_rows(services, folder="INBOX")}
    assert sorted(rows) == [uids[0], uids[2], uids[3]]
    assert "\\Flagged" in rows[uids[0]]["flags"]


def test_opening_a_message_caches_it_and_it_then_opens_offline(services, dovecot, imap_user, add_account, tmp_path):
    server, user = dovecot, imap_user
    server.append(user, "INBOX", message(
        subject="Cached", body="The body text.", attachments=(("notes.txt", "text", "plain", b"hello notes"),)))
    account = add_account(server, user)
    assert sync_account(services, account).ok
    rowid = _rowid(services, "Cached")

    cached = open_message(services, rowid=rowid)

    assert not cached.offline
    assert "The body text." in cached.text
    assert [a.filename for a in cached.attachments] == ["notes.txt"]
    assert cached.raw_path.parent == services.paths.cache_dir
    assert stat.S_IMODE(os.stat(cached.raw_path).st_mode) == 0o600
    assert b"\\Seen" not in server_flags(server, user)[1]  # BODY.PEEK: still unread

    # Offline: the account now points at a closed port, and any connection attempt fails the test.
    services.save_config(services.config.with_account(account.with_(imap=account.imap.with_(port=unused_port()))))
    services.sessions.close()
    services.sessions = SessionPool(services, connect=NoNetwork())
    again = open_message(services, rowid=rowid)
    assert again.offline and again.text == cached.text
    saved = save_attachment(services, again, again.attachments[0].part, tmp_path)
    assert saved == tmp_path / "notes.txt" and saved.read_bytes() == b"hello notes"
    store = services.open_store()
    try:
        assert [r["filename"] for r in store.db["attachments"].rows] == ["notes.txt"]
    finally:
        store.close()


def test_uidvalidity_change_resyncs_the_folder_and_keeps_cached_bodies(services, dovecot, imap_user, add_account):
    dovecot.append_many(imap_user, "INBOX", [message(subject="one"), message(subject="two")])
    account = add_account(dovecot, imap_user)
    sync_account(services, account)
    old_validity = folder_state(services).uidvalidity
    cached = open_message(services, rowid=_rowid(services, "one"))

    new_validity = dovecot.set_uidvalidity(imap_user, "INBOX")
    report = sync_account(services, account)

    inbox = report.folders[0]
    assert inbox.uidvalidity_reset and inbox.new == 2
    assert {r["uidvalidity"] for r in index_rows(services, folder="INBOX")} == {new_validity} != {old_validity}
    services.sessions = SessionPool(services, connect=NoNetwork())
    again = open_message(services, rowid=_rowid(services, "one"))
    assert again.offline and again.raw_path == cached.raw_path


@pytest.mark.parametrize("writer", ["writer process", "inline"])
def test_a_connection_dropped_mid_fetch_leaves_the_index_consistent_and_the_next_sync_resumes(
    services, plain_dovecot, proxy_to, add_account, monkeypatch, writer
):
    # Big syncs write through index_writer's child process, small ones inline: both must hold.
    monkeypatch.setattr(sync_mod, "WRITER_PROCESS_CHUNKS", 1 if writer == "writer process" else 10**6)
    user = plain_dovecot.add_user()
    stamp = now() - dt.timedelta(days=1)
    count = plain_dovecot.bulk_load(user, "INBOX", (_raw(i) for i in range(5000)), date=stamp)
    proxy = proxy_to(plain_dovecot.ports["imap"])
    account = add_account(plain_dovecot, user, port=proxy.port, security=Security.NONE)
    # Chunks of 2,000 headers are ~1.2 MB each (the first ends near 1.2 MB with the log-in and
    # SELECT before it): cut in the middle of the second, well clear of either end.
    proxy.cut_after(1_800_000)

    broken = sync_account(services, account)

    assert proxy.cuts == 1
    assert not broken.ok and broken.category == "server_unavailable"
    state = folder_state(services)
    uids = [r["uid"] for r in index_rows(services, folder="INBOX")]
    assert not state.complete and 0 < state.synced_uid < count
    assert uids == list(range(1, state.synced_uid + 1))  # whole chunks only, nothing past the mark

    resumed = sync_account(services, account)

    assert resumed.ok and proxy.connections == 2
    assert resumed.folders[0].new == count - state.synced_uid
    uids = [r["uid"] for r in index_rows(services, folder="INBOX")]
    assert uids == list(range(1, count + 1)) and folder_state(services).complete


def test_gmail_labels_count_once(services, dovecot, gmail_user, add_account):
    labelled = message(subject="Labelled", message_id="<label-1@example.test>")
    dovecot.append(gmail_user, "[Gmail]/All Mail", labelled)
    dovecot.append(gmail_user, "[Gmail]/Important", labelled)
    account = add_account(dovecot, gmail_user, provider="gmail",
                          folders=("[Gmail]/All Mail", "[Gmail]/Important"))

    assert sync_account(services, account).ok
    result = visit(services, [ADA.address])

    assert len(index_rows(services)) == 2  # one row per folder in the index...
    assert [row.subject for row in result.rows] == ["Labelled"]  # ...one message in the history
    row = result.rows[0]
    assert sorted((f"work/{row.folder}", *row.also_in)) == ["work/[Gmail]/All Mail", "work/[Gmail]/Important"]
    # Dovecot does not offer X-GM-EXT-1, so no X-GM-MSGID was asked for.
    assert {r["gm_msgid"] for r in index_rows(services)} == {None}


def test_gmail_default_folder_is_all_mail_not_inbox(services, dovecot, gmail_user, add_account):
    dovecot.append(gmail_user, "[Gmail]/All Mail", message(subject="in all mail"))
    account = add_account(dovecot, gmail_user, provider="gmail")
    report = sync_account(services, account)
    assert [f.folder for f in report.folders] == ["[Gmail]/All Mail"]


def test_backfill_window_limits_the_index_and_a_wider_window_fetches_older_mail(
    services, dovecot, imap_user, add_account
):
    dovecot.append(imap_user, "INBOX", message(subject="old", days_ago=200), date=now() - dt.timedelta(days=200))
    dovecot.append(imap_user, "INBOX", message(subject="recent", days_ago=10), date=now() - dt.timedelta(days=10))
    account = add_account(dovecot, imap_user, backfill_days=90)

    visited = visit(services, [ADA.address])  # server search, within the window
    assert [r.subject for r in visited.rows] == ["recent"]
    sync_account(services, account)
    assert [r["subject"] for r in index_rows(services)] == ["recent"]

    wider = account.with_(backfill_days=365)
    services.save_config(services.config.with_account(wider))
    report = sync_account(services, wider)
    assert report.folders[0].new == 1
    assert sorted(r["subject"] for r in index_rows(services)) == ["old", "recent"]


def test_fetching_headers_and_opening_never_mark_mail_read(services, plain_dovecot, proxy_to, add_account):
    user = plain_dovecot.add_user()
    plain_dovecot.append_many(user, "INBOX", [message(subject="unread one"), message(subject="unread two")])
    proxy = proxy_to(plain_dovecot.ports["imap"])
    account = add_account(plain_dovecot, user, port=proxy.port, security=Security.NONE)

    visit(services, [ADA.address])
    sync_account(services, account)
    open_message(services, rowid=_rowid(services, "unread one"))

    assert all(b"\\Seen" not in flags for flags in server_flags(plain_dovecot, user).values())
    fetches = [line for line in proxy.command_lines if b" FETCH " in line.upper()]
    assert fetches and all(b"BODY[" not in line.upper() for line in fetches)  # only BODY.PEEK[...]
    assert "SELECT" not in proxy.verbs()


def test_a_literal_over_the_cap_is_refused_and_the_next_action_reconnects(services, dovecot, imap_user, add_account):
    big = message(subject="big", attachments=(("big.bin", "application", "octet-stream", os.urandom(1_200_000)),))
    dovecot.append_many(imap_user, "INBOX", [big, message(subject="small")])
    account = add_account(dovecot, imap_user)
    services.save_config(replace(services.config, settings=replace(services.settings, max_literal_mb=1)))
    assert sync_account(services, account).ok  # headers are small

    with pytest.raises(LiteralTooLarge):
        open_message(services, rowid=_rowid(services, "big"))
    assert "small" in open_message(services, rowid=_rowid(services, "small")).parsed.subject


def test_auto_cache_caches_matched_messages_only(services, dovecot, imap_user, add_account, add_contact):
    dovecot.append_many(imap_user, "INBOX", [
        message(subject="from ada"), message(sender=OTHER, subject="unrelated"),
    ])
    add_contact("Ada", ADA.address)
    account = add_account(dovecot, imap_user, auto_cache=True)

    report = sync_account(services, account)

    assert report.ok and report.cached == 1
    store = services.open_store()
    try:
        cached = {r["message_id"] for r in store.db["bodies"].rows}
    finally:
        store.close()
    wanted = {r["message_id"] for r in index_rows(services) if r["subject"] == "from ada"}
    assert cached == wanted
    assert b"\\Seen" not in server_flags(dovecot, imap_user)[1]


def test_a_failing_account_reports_its_category_and_does_not_raise(services, add_account, dovecot, imap_user):
    account = add_account(dovecot, imap_user, port=unused_port())
    report = sync_account(services, account)
    assert not report.ok and report.category == "connection_refused"
    store = services.open_store()
    try:
        assert store.account_state("work")["status"] == "failing"
    finally:
        store.close()


# -- helpers --------------------------------------------------------------------


def _rowid(services, subject: str) -> int:
    store = services.open_store()
    try:
        return store.db.execute("SELECT id FROM messages WHERE subject = ? ORDER BY id LIMIT 1", [subject]).fetchone()[0]
    finally:
        store.close()


def _raw(i: int) -> bytes:
    return (
        f"From: Ada Lovelace <ada@partner.test>\r\nTo: me@example.test\r\nSubject: bulk {i}\r\n"
        f"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <bulk-{i}@partner.test>\r\n\r\n"
        f"Body {i} " + "x" * 200 + "\r\n"
    ).encode()




def test_two_accounts_merge_into_one_history_by_message_id(services, dovecot, add_account):
    first, second = dovecot.add_user(), dovecot.add_user()
    shared = message(subject="To both of us", message_id="<shared-1@partner.test>")
    dovecot.append(first, "INBOX", shared)
    dovecot.append(second, "INBOX", shared)
    dovecot.append(second, "INBOX", message(subject="Only the second"))
    add_account(dovecot, first, name="one")
    add_account(dovecot, second, name="two")

    result = visit(services, [ADA.address])

    assert result.ok and [r.account for r in result.reports] == ["one", "two"]
    rows = {row.subject: row for row in result.rows}
    assert sorted(rows) == ["Only the second", "To both of us"]
    both = rows["To both of us"]
    assert sorted([f"{both.account}/{both.folder}", *both.also_in]) == ["one/INBOX", "two/INBOX"]
