"""Periodic scans: every account's selected folders, every `scan_interval_hours`.

A scan is a header sync of each account (the index covers every contact's
correspondence at once, since matching is a local query), followed by
auto-caching for accounts that ask for it. The TUI asks `due()` now and then
and runs `run()` in a worker; `tamago sync` is the same thing for cron.

Only accounts that have connected successfully before are scanned on a
schedule: a freshly configured account is tested first, and an account with
a known failure is retried on the next scan (its status says why it failed).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from .sync import AccountReport, SyncProgress, sync_accounts


class Scheduler:
    def __init__(self, services, clock: Callable[[], datetime] | None = None):
        self.services = services
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    @property
    def interval(self) -> timedelta | None:
        hours = float(self.services.settings.scan_interval_hours or 0)
        return timedelta(hours=hours) if hours > 0 else None

    def last_scans(self) -> dict[str, datetime | None]:
        store = self.services.open_store()
        try:
            result = {}
            for account in self.services.accounts():
                state = store.account_state(account.name)
                stamp = state.get("last_synced_at")
                result[account.name] = _parse(stamp) if stamp else None
            return result
        finally:
            store.close()

    def due(self) -> list[str]:
        """Accounts whose last scan is older than the interval (none when scans are off)."""
        interval = self.interval
        if interval is None:
            return []
        now = self.clock()
        store = self.services.open_store()
        try:
            names = []
            for account in self.services.accounts():
                state = store.account_state(account.name)
                status = state.get("status") or "never_tested"
                if status == "never_tested":
                    continue
                # A failing account is retried at the scan cadence, counted from its last attempt.
                stamp = state.get("last_tested_at" if status == "failing" else "last_synced_at")
                last = _parse(stamp) if stamp else None
                if last is None or now - last >= interval:
                    names.append(account.name)
            return names
        finally:
            store.close()

    def run(self, names=None, *, cancel=None, progress: Callable[[SyncProgress], None] | None = None) -> list[AccountReport]:
        """Scan `names` (default: the due accounts). Auto-caching follows each account's option."""
        names = list(names) if names is not None else self.due()
        if not names:
            return []
        return sync_accounts(self.services, names, cancel=cancel, progress=progress)


def _parse(stamp: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
