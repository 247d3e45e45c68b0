"""flagsweep.py's pure parts: UID sets, when a full sweep is due, which UIDs a resync reads."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from tamago_tui.backend import flagsweep
from tamago_tui.backend.imapwire import parse_sequence_set
from tamago_tui.backend.index import FolderState, Header, HeaderIndex
from tamago_tui.backend.store import Store


def test_uid_sets_are_compact_ranges_within_the_limits():
    assert list(flagsweep.uid_sets([1, 2, 3, 5, 7, 8, 9])) == [b"1:3,5,7:9"]
    assert list(flagsweep.uid_sets(list(range(1, 25_001)))) == [b"1:10000", b"10001:20000", b"20001:25000"]
    assert list(flagsweep.uid_sets([1, 2, 3, 4, 5, 6, 9], chunk=4)) == [b"1:4", b"5:6,9"]
    assert list(flagsweep.uid_sets([])) == []


def test_uid_sets_of_sparse_uids_stay_under_the_byte_limit_and_lose_nothing():
    uids = sorted(random.Random(7).sample(range(1, 2_000_000), 40_000))
    sets = list(flagsweep.uid_sets(uids))
    assert all(len(s) <= flagsweep.SET_BYTES for s in sets)
    assert all(len(parse_sequence_set(s)) <= flagsweep.SWEEP_CHUNK for s in sets)
    assert [uid for s in sets for uid in parse_sequence_set(s)] == uids


def test_a_sweep_is_due_when_never_done_or_older_than_sweep_hours():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    state = FolderState("a", "INBOX")
    assert flagsweep.sweep_due(state, now)
    fresh = replace(state, flags_checked_at=(now - timedelta(hours=flagsweep.SWEEP_HOURS - 1)).isoformat())
    old = replace(state, flags_checked_at=(now - timedelta(hours=flagsweep.SWEEP_HOURS)).isoformat())
    assert not flagsweep.sweep_due(fresh, now)
    assert flagsweep.sweep_due(old, now)
    assert flagsweep.sweep_due(replace(state, flags_checked_at="garbled"), now)


def _header(uid: int, sender: str) -> Header:
    return Header(uid=uid, message_id=f"m{uid}@x", gm_msgid=None, date="2024-04-01T10:00:00+00:00",
                  sender=("", sender), to=(("", "me@example.test"),), cc=(), bcc=(), subject=f"s{uid}",
                  size=1, flags="", has_attachments=False)


def test_plan_reads_the_contact_or_the_newest_or_everything(monkeypatch):
    store = Store(memory=True)
    try:
        store.ensure_account("a", "me@example.test")
        index = HeaderIndex(store)
        state = index.save_folder(FolderState("a", "INBOX", uidvalidity=9, synced_uid=40, complete=True,
                                              flags_checked_at=datetime.now(timezone.utc).isoformat()))
        senders = {uid: "ada@partner.test" if uid % 10 == 0 else "x@y.test" for uid in range(1, 41)}
        index.store_headers(state, [_header(uid, s) for uid, s in senders.items()],
                            own_addresses=("me@example.test",))

        assert flagsweep.plan(index, state, contact=["ADA@partner.test"], full=False) == ([10, 20, 30, 40], False)
        assert flagsweep.plan(index, state, contact=["nobody@x.test"], full=False) == ([], False)
        monkeypatch.setattr(flagsweep, "RECENT_FLAGS", 3)
        assert flagsweep.plan(index, state, contact=None, full=False) == ([38, 39, 40], False)
        assert flagsweep.plan(index, state, contact=None, full=True) == (list(range(1, 41)), True)
        assert flagsweep.plan(index, replace(state, flags_checked_at=""), contact=None, full=False)[1] is True
        assert flagsweep.plan(index, replace(state, synced_uid=0), contact=None, full=True) == ([], False)
    finally:
        store.close()
