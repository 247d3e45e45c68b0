"""Which accounts a periodic scan picks (settings.scan_interval_hours)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.scheduler import Scheduler

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def account(name: str) -> Account:
    return Account(name=name, email=f"{name}@example.org",
                   imap=ServerSettings("imap.example.org", 993, Security.SSL, name),
                   smtp=ServerSettings("smtp.example.org", 465, Security.SSL, name))


def state(services, name, status, synced=None, tested=None):
    store = services.open_store()
    try:
        store.ensure_account(name, f"{name}@example.org")
        store.db["accounts"].update(name, {
            "status": status,
            "last_synced_at": synced.isoformat() if synced else None,
            "last_tested_at": tested.isoformat() if tested else None,
        })
    finally:
        store.close()


def test_due_accounts(services):
    config = services.config
    for name in ("fresh", "stale", "never", "untested", "failing"):
        config = config.with_account(account(name))
    services.save_config(config)
    state(services, "fresh", "connected", synced=NOW - timedelta(hours=1))
    state(services, "stale", "connected", synced=NOW - timedelta(hours=13))
    state(services, "never", "connected")  # tested fine, never synced: scan it now
    state(services, "untested", "never_tested")  # not until a connection test passed
    state(services, "failing", "failing", synced=NOW - timedelta(days=3), tested=NOW - timedelta(hours=2))

    scheduler = Scheduler(services, clock=lambda: NOW)
    assert sorted(scheduler.due()) == ["never", "stale"]

    later = Scheduler(services, clock=lambda: NOW + timedelta(hours=11))
    assert sorted(later.due()) == ["failing", "fresh", "never", "stale"]


def test_an_interval_of_zero_turns_scans_off(services):
    services.save_config(replace(services.config.with_account(account("stale")),
                                 settings=replace(services.settings, scan_interval_hours=0)))
    state(services, "stale", "connected", synced=NOW - timedelta(days=30))
    assert Scheduler(services, clock=lambda: NOW).due() == []
    assert Scheduler(services).run() == []
