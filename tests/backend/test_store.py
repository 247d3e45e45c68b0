import os
import stat

import pytest

from tamago_tui.backend import store as store_mod
from tamago_tui.backend.errors import StoreError
from tamago_tui.backend.store import SCHEMA_VERSION, Store


def test_new_database_is_migrated_to_current_version(tmp_path):
    store = Store(tmp_path / "data" / "t.db")
    assert store.version == SCHEMA_VERSION
    for table in ["accounts", "folders", "contacts", "contact_addresses", "messages",
                  "message_addresses", "bodies", "attachments", "outbox"]:
        assert store.db[table].exists(), table


def test_database_is_private_and_uses_wal(tmp_path):
    path = tmp_path / "data" / "t.db"
    store = Store(path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_migrations_only_move_forward_and_resume(tmp_path, monkeypatch):
    path = tmp_path / "t.db"
    Store(path).close()
    calls = []

    def extra(db):
        calls.append("extra")
        db["notes"].create({"id": int, "text": str}, pk="id")

    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS + [extra])
    store = Store(path)
    assert store.version == SCHEMA_VERSION + 1 and store.db["notes"].exists() and calls == ["extra"]
    store.close()
    Store(path).close()  # already migrated: the migration does not run again
    assert calls == ["extra"]


def test_v1_database_upgrades_to_current(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with monkeypatch.context() as patch:
        patch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:1])
        old = Store(path)
        assert old.version == 1
        old.db["outbox"].insert({"account": "a", "subject": "kept", "raw": b"x", "status": "queued"})
        old.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION
    assert "rejected" in store.db["outbox"].columns_dict
    assert [r["subject"] for r in store.db["outbox"].rows] == ["kept"]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "t.db"
    store = Store(path)
    store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    store.close()
    with pytest.raises(StoreError, match="newer tamago"):
        Store(path)


def test_account_state_round_trip():
    store = Store(memory=True)
    assert store.account_state("work")["status"] == "never_tested"
    store.record_test("work", "me@example.org", ok=False, error="AUTHENTICATIONFAILED", category="invalid_credentials")
    state = store.account_state("work")
    assert state["status"] == "failing" and state["last_category"] == "invalid_credentials"
    store.record_test("work", "me@example.org", ok=True)
    assert store.account_state("work")["status"] == "connected"
    assert store.account_state("work")["last_error"] == ""


def test_v5_database_gains_an_empty_own_addresses_record(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with monkeypatch.context() as patch:
        patch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:5])
        old = Store(path)
        old.ensure_account("work", "me@example.org")
        old.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION >= 6
    row = store.account_state("work")
    assert row["own_addresses"] is None  # never recorded: aliases.follow checks the aliases once
    assert (row["email"], row["status"]) == ("me@example.org", "never_tested")
