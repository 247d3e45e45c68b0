"""SQLite failures as StoreErrors a person can act on: full, damaged, half-migrated."""

from __future__ import annotations

import sqlite3

import pytest

from tamago_tui.backend import store as store_mod
from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.errors import StoreError, TamagoError
from tamago_tui.backend.store import SCHEMA_VERSION, Store, StoreCorrupt, StoreFull

from .conftest import assert_clean_failure, run_tamago


def test_sqlite_full_is_a_store_error_and_still_a_sqlite_error(tmp_path):
    store = Store(tmp_path / "t.db")
    book = ContactBook(store)
    book.add("Kept", ["kept@example.org"])
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own SQLITE_FULL, no mount needed
    with pytest.raises(StoreFull) as caught:
        with store.db.atomic():
            for i in range(200):
                book.add(f"Person {i}", [f"p{i}@example.org"], notes="n" * 2000)
    error = caught.value
    assert isinstance(error, StoreError) and isinstance(error, TamagoError)
    assert isinstance(error, sqlite3.OperationalError)  # code catching sqlite3's errors keeps working
    assert str(error).startswith("The disk is full: ")
    assert error.title == "Disk full"
    assert [c.name for c in book.all()] == ["Kept"]  # rolled back whole
    store.close()


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "tamago.db"
    path.write_bytes(b"this is not SQLite at all\n" * 200)
    with pytest.raises(StoreCorrupt) as caught:
        Store(path)
    message = str(caught.value)
    assert str(path) in message and "not a database" in message
    assert "rename the file" in message and "backup" in message  # advice, not just the error


def test_a_damaged_database_found_while_reading(tmp_path):
    path = tmp_path / "tamago.db"
    store = Store(path)
    book = ContactBook(store)
    for i in range(300):
        book.add(f"Person {i}", [f"p{i}@example.org"], notes="n" * 500)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, len(data) - page, page):  # scribble over every page but the first few
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as caught:
        store = Store(path)
        ContactBook(store).all()
    assert "damaged" in str(caught.value) or "malformed" in str(caught.value)


def test_cli_on_a_damaged_database(tamago_home):
    tamago_home.mkdir(parents=True, exist_ok=True)
    (tamago_home / "tamago.db").write_bytes(b"\x00garbage" * 1000)
    result = run_tamago("contacts", "list", home=tamago_home)
    assert_clean_failure(result)
    assert "damaged" in result.stderr and "tamago.db" in result.stderr


def test_a_failed_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    path = tmp_path / "t.db"
    Store(path).close()

    def half_done(db):
        db["half"].create({"id": int}, pk="id")  # DDL, then a failure: both must roll back
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS + [half_done])
    with pytest.raises(StoreFull):
        Store(path)
    monkeypatch.undo()
    store = Store(path)
    assert store.version == SCHEMA_VERSION
    assert not store.db["half"].exists()
    store.close()


def test_translate_names_each_kind():
    def error(code: int, text: str) -> sqlite3.Error:
        exc = sqlite3.OperationalError(text)
        exc.sqlite_errorcode = code
        return exc

    assert isinstance(store_mod.translate(error(sqlite3.SQLITE_FULL, "database or disk is full")), StoreFull)
    assert isinstance(store_mod.translate(error(sqlite3.SQLITE_NOTADB, "file is not a database")), StoreCorrupt)
    assert isinstance(store_mod.translate(error(sqlite3.SQLITE_CORRUPT, "database disk image is malformed")),
                      StoreCorrupt)
    busy = store_mod.translate(error(sqlite3.SQLITE_BUSY, "database is locked"), "/x/tamago.db")
    assert "another tamago" in str(busy) and "/x/tamago.db" in str(busy)
    readonly = store_mod.translate(error(sqlite3.SQLITE_READONLY, "attempt to write a readonly database"))
    assert "read-only" in str(readonly)
    already = StoreError("kept as it is")
    assert store_mod.translate(already) is already


def test_store_errors_come_with_the_local_storage_guide_not_the_server_checklist():
    from tamago_tui.backend import troubleshoot

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    for error in (store_mod.translate(full), StoreError("anything else")):
        assert error.category == "local_storage"
    explanation = troubleshoot.explain(store_mod.translate(full))
    assert explanation.category == "local_storage"
    assert explanation.title == "This computer's disk or tamago's database"
    assert any("df -h" in step for step in explanation.steps)
    pasted = troubleshoot.explain("OSError: [Errno 28] No space left on device: '/tmp/x'")
    assert pasted.category == "local_storage"
