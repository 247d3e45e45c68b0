"""Flag changes made by another client, against the real Dovecot: on a server without
CONDSTORE/QRESYNC (flagsweep.py; Dovecot with `imap_capability` set to its own list minus
those two), and in a folder whose first sync has not finished. Flags are changed from a
second IMAP connection, as another mail client would."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import pytest

from tamago_tui.backend import flagsweep
from tamago_tui.backend.index import HeaderIndex
from tamago_tui.backend.models import Account, Security
from tamago_tui.backend.sync import sync_account
from tamago_tui.backend.visit import visit
from tamago_tui.cli import main
from tests.servers.dovecot import NO_CONDSTORE

from .conftest import ADA, OTHER, message
from .proxy import Proxy

pytestmark = pytest.mark.servers


@dataclass
class Mailbox:
    server: object
    user: object
    uids: list[int]  # Ada 1, Other 1, Ada 2, Other 2, Other 3 (oldest first)
    proxy: Proxy
    account: Account

    def set_flags(self, changes: dict[int, tuple[bytes, ...]]) -> None:
        """Another client, on its own connection, sets these flags."""
        with self.server.connect(self.user, mode="plain") as client:
            client.select_folder("INBOX")
            for uid, flags in changes.items():
                client.add_flags([uid], list(flags))

    def fetches(self) -> list[bytes]:
        return [line.split(b" ", 1)[1].strip() for line in self.proxy.command_lines if b" UID FETCH " in line]


def flags(services, account="work", folder="INBOX") -> dict[str, str]:
    store = services.open_store()
    try:
        rows = store.db.execute("SELECT subject, flags FROM messages WHERE account = ? AND folder = ?",
                                [account, folder])
        return {subject: value for subject, value in rows}
    finally:
        store.close()


def set_settings(services, **changes) -> None:
    """Change [settings] in config.toml, as a person would (the CLI reads the file again)."""
    services.save_config(replace(services.config, settings=replace(services.settings, **changes)))


def inbox_state(services):
    store = services.open_store()
    try:
        return HeaderIndex(store).folder("work", "INBOX")
    finally:
        store.close()


@pytest.fixture
def mailbox(services, dovecot_factory, proxy_to, add_account) -> Mailbox:
    server = dovecot_factory(starttls=False, capabilities=NO_CONDSTORE)
    user = server.add_user()
    uids = server.append_many(user, "INBOX", [
        message(sender=ADA, subject="Ada 1", days_ago=5),
        message(sender=OTHER, subject="Other 1", days_ago=4),
        message(sender=ADA, subject="Ada 2", days_ago=3),
        message(sender=OTHER, subject="Other 2", days_ago=2),
        message(sender=OTHER, subject="Other 3", days_ago=1),
    ])
    proxy = proxy_to(server.ports["imap"])
    account = add_account(server, user, port=proxy.port, security=Security.NONE)
    first = sync_account(services, account)
    assert first.ok and first.new == 5
    assert flags(services) == dict.fromkeys(["Ada 1", "Other 1", "Ada 2", "Other 2", "Other 3"], "")
    proxy.reset_counts()
    return Mailbox(server, user, uids, proxy, account)


def test_the_server_really_offers_no_condstore(mailbox):
    with mailbox.server.connect(mailbox.user, mode="plain") as client:
        capabilities = client.capabilities()
    assert b"CONDSTORE" not in capabilities and b"QRESYNC" not in capabilities
    assert b"UIDPLUS" in capabilities


def test_a_visit_rereads_the_flags_of_the_contacts_messages_only(services, mailbox):
    ada_1, other_1, ada_2, _, _ = mailbox.uids
    mailbox.set_flags({ada_1: (b"\\Seen",), ada_2: (b"\\Flagged", b"\\Answered"), other_1: (b"\\Seen",)})
    updates = []

    result = visit(services, [ADA.address], on_update=updates.append)

    assert result.ok, result.errors
    shown = {row.subject: row.flags for row in result.rows}
    assert shown == {"Ada 1": "\\Seen", "Ada 2": "\\Answered \\Flagged"}
    assert updates[-1].phase == "done" and {r.subject: r.flags for r in updates[-1].rows} == shown
    inbox = result.reports[0].folders[0]
    assert (inbox.folder, inbox.updated, inbox.unchanged, inbox.new) == ("INBOX", 2, False, 0)
    # One compact UID set with Ada's two messages; the other person's message was not read.
    assert mailbox.fetches() == [b"UID FETCH %d,%d (UID FLAGS)" % (ada_1, ada_2)]
    assert flags(services)["Other 1"] == ""
    assert "SELECT" not in mailbox.proxy.verbs()  # read-only EXAMINE, nothing marked read


def test_every_sync_rereads_the_newest_flags_and_a_due_sweep_reads_them_all(services, mailbox):
    ada_1, other_1, _, other_2, other_3 = mailbox.uids
    set_settings(services, recent_flags=2, flag_sweep_hours=3)
    mailbox.set_flags({other_3: (b"\\Seen",), ada_1: (b"\\Flagged",)})

    report = sync_account(services, mailbox.account)

    inbox = report.folders[0]
    assert report.ok and (inbox.updated, inbox.unchanged) == (1, False)
    assert flags(services)["Other 3"] == "\\Seen"
    assert flags(services)["Ada 1"] == ""  # older than the newest 2, and the daily sweep is not due
    assert mailbox.fetches() == [b"UID FETCH %d:%d (UID FLAGS)" % (other_2, other_3)]
    # STATUS, then EXAMINE + FETCH + UNSELECT pipelined: one more round-trip for a folder STATUS
    # calls unchanged (the empty Sent has no flags to read).
    assert mailbox.proxy.verbs() == ["STATUS", "STATUS", "EXAMINE", "UID FETCH", "UNSELECT"]
    assert report.round_trips == 2

    swept_before = inbox_state(services).flags_checked_at
    long_ago = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat(timespec="seconds")
    store = services.open_store()
    try:  # the last full sweep was flag_sweep_hours ago: one is due
        store.db.execute("UPDATE folders SET flags_checked_at = ? WHERE account = 'work'", [long_ago])
        store.db.conn.commit()
    finally:
        store.close()
    mailbox.proxy.reset_counts()
    report = sync_account(services, mailbox.account)

    assert report.ok and report.folders[0].updated == 1
    assert flags(services)["Ada 1"] == "\\Flagged"
    assert mailbox.fetches() == [b"UID FETCH %d:%d (UID FLAGS)" % (ada_1, other_3)]
    assert inbox_state(services).flags_checked_at >= swept_before > long_ago


def test_nothing_changed_means_unchanged_and_no_row_is_rewritten(services, mailbox):
    report = sync_account(services, mailbox.account)

    assert report.ok and all(f.unchanged and f.updated == 0 for f in report.folders)
    assert mailbox.fetches() == [b"UID FETCH %d:%d (UID FLAGS)" % (mailbox.uids[0], mailbox.uids[-1])]


def test_new_mail_and_a_flag_change_in_one_sync(services, mailbox):
    set_settings(services, recent_flags=1)
    mailbox.set_flags({mailbox.uids[-1]: (b"\\Seen",), mailbox.uids[0]: (b"\\Seen",)})
    mailbox.server.append(mailbox.user, "INBOX", message(sender=ADA, subject="Ada 3"))

    report = sync_account(services, mailbox.account)

    inbox = report.folders[0]
    assert report.ok and (inbox.new, inbox.updated) == (1, 1)
    assert flags(services)["Other 3"] == "\\Seen" and flags(services)["Ada 1"] == ""
    assert "Ada 3" in flags(services)


def test_sync_full_rereads_every_flag(capsys, services, mailbox):
    set_settings(services, recent_flags=1)
    mailbox.set_flags({mailbox.uids[0]: (b"\\Deleted",), mailbox.uids[1]: (b"\\Seen",)})

    code = main(["sync", "--json"])
    plain = json.loads(capsys.readouterr().out)["accounts"][0]["folders"][0]
    assert code == 0 and (plain["updated"], plain["unchanged"]) == (0, True)

    code = main(["sync", "--full", "--json"])
    full = json.loads(capsys.readouterr().out)["accounts"][0]["folders"][0]
    assert code == 0 and (full["folder"], full["updated"], full["unchanged"]) == ("INBOX", 2, False)
    assert flags(services)["Ada 1"] == "\\Deleted" and flags(services)["Other 1"] == "\\Seen"


def test_a_changed_uidvalidity_drops_flags_read_for_the_old_numbers(services, mailbox):
    """Flags read right after EXAMINE belong to the UIDVALIDITY EXAMINE reports: if it moved
    between STATUS and EXAMINE they are not applied to the old rows."""
    state = inbox_state(services)
    store = services.open_store()
    try:
        store.db.execute("UPDATE folders SET uidvalidity = ? WHERE id = ?", [state.uidvalidity + 1, state.id])
        store.db.execute("UPDATE messages SET uidvalidity = ? WHERE folder = 'INBOX'", [state.uidvalidity + 1])
        store.db.conn.commit()
    finally:
        store.close()
    mailbox.set_flags({mailbox.uids[-1]: (b"\\Seen",)})
    from tamago_tui.backend.sync import AccountSync

    with services.sessions.session(mailbox.account) as wire:
        store = services.open_store()
        try:
            engine = AccountSync(mailbox.account, wire, HeaderIndex(store))
            changed = flagsweep.refresh(engine, HeaderIndex(store).folder("work", "INBOX"), contact=None,
                                        full=True, selected=False)
        finally:
            store.close()
    assert changed == 0 and flags(services)["Other 3"] == ""


def test_a_visit_rereads_flags_the_unfinished_first_sync_fetched_earlier(services, dovecot, imap_user, add_account):
    """A first sync that stopped after some chunks: no CHANGEDSINCE covers those rows yet, so a
    visit reads the contact's flags there too (here on a server with CONDSTORE)."""
    uids = dovecot.append_many(imap_user, "INBOX", [message(sender=ADA, subject="early"),
                                                    message(sender=OTHER, subject="other")])
    account = add_account(dovecot, imap_user)
    assert sync_account(services, account).new == 2
    store = services.open_store()
    try:  # as if the first sync had stopped right after these UIDs
        store.db.execute("UPDATE folders SET complete = 0 WHERE account = 'work'")
        store.db.conn.commit()
    finally:
        store.close()
    with dovecot.connect(imap_user) as client:
        client.select_folder("INBOX")
        client.add_flags(uids, [b"\\Seen"])

    result = visit(services, [ADA.address])

    assert result.ok, result.errors
    assert [(r.subject, r.flags) for r in result.rows] == [("early", "\\Seen")]
    assert result.reports[0].folders[0].partial and result.reports[0].folders[0].updated == 1
    assert flags(services)["other"] == ""  # not the contact's: left for the sync
