"""Fetch on visit: a contact's history from the index at once, then brought up to date.

1. The local index answers first (a local query; no network).
2. Each account's selected folders are brought up to date: one pipelined
   STATUS round-trip when nothing changed, an incremental sync otherwise.
3. Where the index does not reach yet (a folder whose first full header sync
   has not finished), a server `UID SEARCH OR FROM x OR TO x CC x` finds just
   this contact's messages and their headers are fetched.

After every step that changed something the merged, deduplicated list is sent
to `on_update` again, so a front end can repaint as results arrive. `cancel`
(an Event or a callable) is checked between batches; what was fetched before
a cancel stays in the index.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .contacts import normalise_address
from .history import HistoryRow, local_history
from .sync import AccountReport, SyncProgress, cancel_check, sync_account


@dataclass(frozen=True)
class VisitUpdate:
    """The whole merged list so far, and where the visit is."""

    rows: tuple[HistoryRow, ...]
    phase: str  # index | status | headers | search | done
    account: str = ""
    folder: str = ""
    done: int = 0
    total: int = 0
    errors: tuple[tuple[str, str, str], ...] = ()  # (account, message, category)


@dataclass
class VisitResult:
    rows: list[HistoryRow]
    reports: list[AccountReport] = field(default_factory=list)
    cancelled: bool = False

    @property
    def errors(self) -> list[tuple[str, str, str]]:
        out = []
        for report in self.reports:
            if report.error:
                out.append((report.account, report.error, report.category))
            for folder in report.folders:
                if folder.error:
                    out.append((report.account, f"{folder.folder}: {folder.error}", folder.category))
        return out

    @property
    def ok(self) -> bool:
        return not self.errors


def visit(
    services,
    addresses: Iterable[str],
    *,
    on_update: Callable[[VisitUpdate], None] | None = None,
    cancel=None,
    accounts: Iterable[str] | None = None,
    first_screen: int | None = 200,
) -> VisitResult:
    """Run a contact visit on the calling thread (a worker): see the module docstring."""
    addresses = sorted({normalise_address(a) for a in addresses if a and normalise_address(a)})
    emit = on_update or (lambda update: None)
    check = cancel_check(cancel)
    lock = threading.Lock()
    errors: list[tuple[str, str, str]] = []
    store = services.open_store()
    try:
        if first_screen:
            # The first screen straight from the index, before the full list is built.
            emit(VisitUpdate(tuple(local_history(store, addresses, limit=first_screen)), "index"))
        rows = local_history(store, addresses)
        emit(VisitUpdate(tuple(rows), "index"))
    finally:
        store.close()
    result = VisitResult(rows=rows)
    if not addresses:
        return result
    chosen = [services.account(n) for n in accounts] if accounts else services.accounts()

    changed = False

    def refresh(account: str = "", folder: str = "", phase: str = "headers") -> None:
        nonlocal changed
        changed = True
        reader = services.open_store()
        try:
            fresh = local_history(reader, addresses)
        finally:
            reader.close()
        with lock:
            result.rows = fresh
            emit(VisitUpdate(tuple(fresh), phase, account, folder, errors=tuple(errors)))

    def progress(step: SyncProgress) -> None:
        with lock:
            emit(VisitUpdate(tuple(result.rows), step.phase, step.account, step.folder, step.done,
                             step.total, tuple(errors)))

    for account in chosen:
        try:
            check()
        except Exception:
            result.cancelled = True
            break
        report = sync_account(
            services, account, contact=addresses, cancel=cancel, progress=progress,
            on_folder=lambda state, folder_report, name=account.name: refresh(name, state.name),
            auto_cache=False,
        )
        result.reports.append(report)
        if report.error:
            errors.append((account.name, report.error, report.category))
        errors.extend((account.name, f"{f.folder}: {f.error}", f.category) for f in report.folders if f.error)
        if report.cancelled:
            result.cancelled = True
            break
    if changed:
        refresh(phase="done")
    else:  # nothing new anywhere: the list shown first stands
        with lock:
            emit(VisitUpdate(tuple(result.rows), "done", errors=tuple(errors)))
    return result
