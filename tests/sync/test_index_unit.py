"""The header index on disk: chunks commit with their sync mark, in-process or in the writer process."""

from __future__ import annotations

import os

import pytest

from tamago_tui.backend.errors import StoreError
from tamago_tui.backend.history import local_history
from tamago_tui.backend.index import FolderState, Header, HeaderIndex
from tamago_tui.backend.index_writer import WriterProcess
from tamago_tui.backend.store import Store


def header(uid: int, sender=("Ada", "ada@example.org"), bcc=()) -> Header:
    return Header(uid=uid, message_id=f"m{uid}@example.org", gm_msgid=None, date=f"2024-01-{uid:02d}T10:00:00+00:00",
                  sender=sender, to=(("Me", "me@example.org"),), cc=(), bcc=bcc, subject=f"s{uid}", size=10,
                  flags="", has_attachments=False)


def prepared(path) -> tuple[Store, HeaderIndex, FolderState]:
    store = Store(path)
    store.ensure_account("work", "me@example.org")
    index = HeaderIndex(store)
    state = index.save_folder(FolderState("work", "INBOX", uidvalidity=7))
    return store, index, state


def test_writer_process_stores_chunks_and_moves_the_sync_mark(tmp_path):
    store, index, state = prepared(tmp_path / "t.db")
    writer = WriterProcess(store.path, state, ("me@example.org",))
    writer.put([header(1), header(2)], 2)
    writer.put([header(3)], 3)
    assert writer.close() == 3
    assert index.folder("work", "INBOX").synced_uid == 3
    assert [r.subject for r in local_history(store, ["ada@example.org"])] == ["s3", "s2", "s1"]


def test_writer_process_failure_is_a_store_error(tmp_path):
    store, _, state = prepared(tmp_path / "t.db")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    writer = WriterProcess(blocker / "x.db", state)  # the child cannot open its database
    with pytest.raises(StoreError, match="Writing the header index failed"):
        writer.put([header(1)], 1)
        writer.close()


def test_a_chunk_stored_twice_replaces_its_rows(tmp_path):
    store, index, state = prepared(tmp_path / "t.db")
    index.store_headers(state, [header(1), header(2)])  # e.g. found by a contact search first
    index.store_headers(state, [header(1), header(2), header(3)], advance_to=3)
    assert index.count("work") == 3
    assert store.db.execute("SELECT count(*) FROM message_addresses").fetchone()[0] == 6


def test_bcc_counts_only_for_mail_we_sent(tmp_path):
    store, index, state = prepared(tmp_path / "t.db")
    received = header(1, bcc=(("", "secret@example.org"),))
    sent = header(2, sender=("Me", "me@example.org"), bcc=(("", "secret@example.org"),))
    index.store_headers(state, [received, sent], own_addresses=("me@example.org",))
    rows = local_history(store, ["secret@example.org"])
    assert [(r.subject, r.matched) for r in rows] == [("s2", ("bcc secret@example.org",))]


def test_writer_joins_chunks_already_waiting_into_one_transaction():
    from tamago_tui.backend import index_writer

    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as inp, os.fdopen(write_fd, "wb") as out:
        for rows, advance in (([tuple(header(1))], 1), ([tuple(header(2))], 2), ([], 3)):
            index_writer._send(out, (rows, advance))
        out.flush()
        rows, advance_to, finished = index_writer._next_group(inp)
        assert [row[0] for row in rows] == [1, 2] and advance_to == 3 and not finished
        index_writer._send(out, ([tuple(header(4))], None))
        out.flush()
        rows, advance_to, finished = index_writer._next_group(inp)  # nothing behind it: alone
        assert [row[0] for row in rows] == [4] and advance_to is None and not finished
        index_writer._send(out, ([tuple(header(5))], 5))
        index_writer._send(out, None)
        out.flush()
        rows, advance_to, finished = index_writer._next_group(inp)
        assert [row[0] for row in rows] == [5] and advance_to == 5 and finished


def test_writer_keeps_the_chunks_it_got_when_the_parent_goes_away():
    from tamago_tui.backend import index_writer

    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as inp:
        with os.fdopen(write_fd, "wb") as out:
            index_writer._send(out, ([tuple(header(6))], 6))
            out.write(b"\x00\x00\x10")  # half a frame, then the parent is gone
        rows, advance_to, finished = index_writer._next_group(inp)
        assert [row[0] for row in rows] == [6] and advance_to == 6 and finished


def _has_address_index(store: Store) -> bool:
    return store.db.execute(
        "SELECT count(*) FROM sqlite_master WHERE name = 'idx_message_addresses_address'"
    ).fetchone()[0] == 1


def test_a_big_first_load_builds_the_address_index_once_at_the_end(tmp_path, monkeypatch):
    from tamago_tui.backend import index as index_module

    monkeypatch.setattr(index_module, "BULK_LOAD_MIN", 2)
    store, index, state = prepared(tmp_path / "t.db")
    assert not index.defer_address_index(1)  # a small load keeps the index up as it goes
    assert _has_address_index(store)
    assert index.defer_address_index(3)
    assert not _has_address_index(store)
    index.store_headers(state, [header(1), header(2), header(3)], advance_to=3)
    assert [r.subject for r in local_history(store, ["ada@example.org"])] == ["s3", "s2", "s1"]  # by scan
    index.restore_address_index()
    assert _has_address_index(store)
    assert not index.defer_address_index(2)  # fewer coming than already indexed: keep it


def test_the_writer_process_defers_and_restores_the_address_index(tmp_path):
    store, index, state = prepared(tmp_path / "t.db")
    writer = WriterProcess(store.path, state, ("me@example.org",), expected=20_000)
    writer.put([header(1), header(2)], 2)
    assert writer.close() == 2
    assert _has_address_index(store)
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT message_rowid FROM message_addresses WHERE address = ?", ["ada@example.org"]
    ).fetchall()
    assert "idx_message_addresses_address" in str(plan)


def test_an_address_index_left_dropped_by_a_killed_loader_is_rebuilt_on_open(tmp_path):
    store, index, state = prepared(tmp_path / "t.db")
    index.store_headers(state, [header(1)], advance_to=1)
    store.db.execute("DROP INDEX idx_message_addresses_address")
    store.close()
    again = Store(tmp_path / "t.db")
    assert _has_address_index(again)
    assert [r.subject for r in local_history(again, ["ada@example.org"])] == ["s1"]
