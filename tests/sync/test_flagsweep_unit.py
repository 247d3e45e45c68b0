"""flagsweep.py's pure parts: UID sets, when a full sweep is due, which UIDs a resync reads,
and its two settings (recent_flags, flag_sweep_hours)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tamago_tui.backend import config, flagsweep
from tamago_tui.backend.errors import ConfigError
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
    assert flagsweep.sweep_due(state, now, hours=24)
    fresh = replace(state, flags_checked_at=(now - timedelta(hours=23)).isoformat())
    old = replace(state, flags_checked_at=(now - timedelta(hours=24)).isoformat())
    assert not flagsweep.sweep_due(fresh, now, hours=24)
    assert flagsweep.sweep_due(old, now, hours=24)
    assert flagsweep.sweep_due(fresh, now, hours=6)  # a shorter flag_sweep_hours
    assert flagsweep.sweep_due(replace(state, flags_checked_at="garbled"), now, hours=24)


def _header(uid: int, sender: str) -> Header:
    return Header(uid=uid, message_id=f"m{uid}@x", gm_msgid=None, date="2024-04-01T10:00:00+00:00",
                  sender=("", sender), to=(("", "me@example.test"),), cc=(), bcc=(), subject=f"s{uid}",
                  size=1, flags="", has_attachments=False)


def test_plan_reads_the_contact_or_the_newest_or_everything():
    store = Store(memory=True)
    try:
        store.ensure_account("a", "me@example.test")
        index = HeaderIndex(store)
        state = index.save_folder(FolderState("a", "INBOX", uidvalidity=9, synced_uid=40, complete=True,
                                              flags_checked_at=datetime.now(timezone.utc).isoformat()))
        senders = {uid: "ada@partner.test" if uid % 10 == 0 else "x@y.test" for uid in range(1, 41)}
        index.store_headers(state, [_header(uid, s) for uid, s in senders.items()],
                            own_addresses=("me@example.test",))

        def plan(state, contact=None, full=False, recent=500):
            return flagsweep.plan(index, state, contact=contact, full=full, recent=recent, sweep_hours=24)

        assert plan(state, contact=["ADA@partner.test"]) == ([10, 20, 30, 40], False)
        assert plan(state, contact=["nobody@x.test"]) == ([], False)
        assert plan(state, recent=3) == ([38, 39, 40], False)
        assert plan(state) == (list(range(1, 41)), False)  # fewer than recent_flags: all of them
        assert plan(state, full=True) == (list(range(1, 41)), True)
        assert plan(replace(state, flags_checked_at=""))[1] is True
        assert plan(replace(state, synced_uid=0), full=True) == ([], False)
    finally:
        store.close()


def load_settings(tmp_path, lines: str):
    path = tmp_path / "config.toml"
    path.write_text("[settings]\ntimeout = 20\n" + lines)
    return config.load(path).settings


@pytest.mark.parametrize("key, default", [("recent_flags", 500), ("flag_sweep_hours", 24)])
def test_the_flag_sweep_tunables_are_settings_with_their_defaults(tmp_path, key, default):
    assert getattr(load_settings(tmp_path, ""), key) == default
    assert getattr(load_settings(tmp_path, f"{key} = 7\n"), key) == 7
    assert getattr(load_settings(tmp_path, f"{key} = 1.0\n"), key) == 1  # TOML's 1.0 is a whole number
    assert f"{key} = 7" in config.dumps(config.Config(settings=load_settings(tmp_path, f"{key} = 7\n")))


@pytest.mark.parametrize("key", ["recent_flags", "flag_sweep_hours"])
@pytest.mark.parametrize("value, words", [
    ("0", "must be a whole number of 1 or more"),
    ("-3", "must be a whole number of 1 or more"),
    ("2.5", "must be a whole number"),
    ('"many"', "must be a whole number"),
    ("true", "must be a whole number"),
])
def test_a_flag_sweep_tunable_that_is_not_a_positive_whole_number_is_refused(tmp_path, key, value, words):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, f"{key} = {value}\n")
    message = str(caught.value)
    assert f"config.toml, line 3: {key} = " in message  # names the key and its line
    assert words in message
