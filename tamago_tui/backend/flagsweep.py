"""Flag changes on servers without CONDSTORE or QRESYNC: read FLAGS where they matter.

Such a server cannot say which flags changed since the last sync, and its STATUS
does not change when a message is read or flagged in another client. Reading
every flag of a 100,000-message folder costs about 4 MB and seconds of server
time: too much for every resync. So, per complete folder:

- **A contact visit** re-reads the flags of that contact's indexed messages
  (UIDs from the index, sent as compact UID sets like `17:40,52`): what the
  person is looking at is never stale. Folders where the contact has no
  message cost nothing.
- **Every resync** (the TUI's scans, `tamago sync`) re-reads the flags of the
  newest `recent_flags` indexed UIDs (a setting, default 500), where reading and flagging mostly
  happen, even when STATUS shows no change.
- **A full sweep** of every indexed UID, in chunks, by the first resync after
  `flag_sweep_hours` (a setting, default 24) since the last one (remembered per folder as
  `flags_checked_at`), and whenever `tamago sync --full` asks.

For a folder STATUS calls unchanged, EXAMINE, the FETCHes and UNSELECT go out
pipelined: one more round-trip. With CONDSTORE or QRESYNC none of this runs
(CHANGEDSINCE and QRESYNC report exactly what changed), except `--full`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

from .errors import NetworkError
from .fetchparse import encode_mailbox, flag_change, read_examine
from .imapwire import Response, quote, uid_range, uid_runs

SWEEP_CHUNK = 10_000  # UIDs per FETCH of a sweep: about 400 KB of answer
SET_BYTES = 16_000  # a UID set stays far below Dovecot's 64 KB command line
IN_FLIGHT = 4  # FETCHes per pipelined batch; cancel is checked between batches


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def sweep_due(state, now: datetime | None = None, *, hours: float) -> bool:
    """True when the folder's flags were never all read, or not for `hours`."""
    if not state.flags_checked_at:
        return True
    try:
        last = datetime.fromisoformat(state.flags_checked_at)
    except ValueError:
        return True
    now = now or datetime.now(timezone.utc)
    return now - last >= timedelta(hours=hours)


def plan(index, state, *, contact: Iterable[str] | None, full: bool, recent: int,
         sweep_hours: float) -> tuple[list[int], bool]:
    """(UIDs whose flags to read now, whether that is every indexed UID of the folder).

    `recent` and `sweep_hours` are the settings recent_flags (500: about 25 KB of answer)
    and flag_sweep_hours (24; the TUI scans every 12 h)."""
    if state.synced_uid < 1 or state.uidvalidity is None:
        return [], False
    if full:
        return index.local_uids(state), True
    if contact is not None:
        return index.contact_uids(state, contact), False
    if sweep_due(state, hours=sweep_hours):
        return index.local_uids(state), True
    return index.newest_uids(state, recent), False


def uid_sets(uids: list[int], *, chunk: int = SWEEP_CHUNK, max_bytes: int = SET_BYTES) -> Iterator[bytes]:
    """Ascending UIDs as compact UID sets (`1:500,502`), each of at most `chunk` UIDs and `max_bytes` bytes."""
    parts: list[bytes] = []
    size = count = 0
    for lo, hi in uid_runs(uids):
        while lo <= hi:
            top = min(hi, lo + chunk - count - 1)
            part = uid_range(lo, top)
            if parts and size + 1 + len(part) > max_bytes:
                yield b",".join(parts)
                parts, size, count = [], 0, 0
                continue  # the same run again, at the start of a fresh set
            parts.append(part)
            size += len(part) + (len(parts) > 1)
            count += top - lo + 1
            lo = top + 1
            if count >= chunk:
                yield b",".join(parts)
                parts, size, count = [], 0, 0
    if parts:
        yield b",".join(parts)


def fetch_commands(uids: list[int]) -> list[bytes]:
    return [b"UID FETCH " + uid_set + b" (UID FLAGS)" for uid_set in uid_sets(uids)]


def read_selected(engine, uids: list[int]) -> list[tuple[int, str]]:
    """The flags of `uids` in the folder already EXAMINEd, a few FETCHes per round-trip."""
    changes: list[tuple[int, str]] = []

    def on_untagged(response: Response) -> None:
        change = flag_change(response.text)
        if change:
            changes.append(change)

    commands = fetch_commands(uids)
    for start in range(0, len(commands), IN_FLIGHT):
        engine.check_cancel()
        engine.wire.pipeline(commands[start : start + IN_FLIGHT], on_untagged=on_untagged)
    return changes


def read_unselected(engine, state, uids: list[int]) -> list[tuple[int, str]]:
    """EXAMINE, the FETCHes and UNSELECT of a folder nothing else needs opened, pipelined.

    Flags read under another UIDVALIDITY than the index's describe other
    messages: they are dropped (the next sync resets the folder).
    """
    commands = fetch_commands(uids)
    info: dict = {"vanished": [], "flags": []}
    changes: list[tuple[int, str]] = []

    def on_untagged(response: Response) -> None:
        if b" FETCH " in response.text[:40]:
            change = flag_change(response.text)
            if change:
                changes.append(change)
        else:
            read_examine(response.text, info)

    wire = engine.wire
    if wire.selected is not None:
        engine.unselect()
    close = b"UNSELECT" if wire.has("UNSELECT") else b"CLOSE"  # CLOSE after EXAMINE never expunges
    batches = [commands[i : i + IN_FLIGHT] for i in range(0, len(commands), IN_FLIGHT)] or [[]]
    for number, batch in enumerate(batches):
        engine.check_cancel()
        first = number == 0
        last = number == len(batches) - 1
        send = ([b"EXAMINE " + quote(encode_mailbox(state.name))] if first else []) + batch + ([close] if last else [])
        results = wire.pipeline(send, on_untagged=on_untagged, check=False)
        wire.selected = None if last else state.name
        if first and results[0].status != "OK":
            if not last:
                engine.unselect()
            raise NetworkError(
                f"The server would not open {state.name!r}: {results[0].text.decode('utf-8', 'replace').strip()}",
                category="unknown",
            )
    if info.get("UIDVALIDITY") != state.uidvalidity:
        return []
    return changes


def refresh(engine, state, *, contact: Iterable[str] | None, full: bool, selected: bool) -> int:
    """Read the flags `plan` picks and store the changes. Returns how many rows changed."""
    uids, whole = plan(engine.index, state, contact=contact, full=full,
                       recent=engine.settings.recent_flags, sweep_hours=engine.settings.flag_sweep_hours)
    if not uids:
        return 0
    from .sync import SyncProgress  # sync.py imports this module

    engine.progress(SyncProgress(engine.account.name, state.name, 0, len(uids), "flags"))
    if selected:
        changes = read_selected(engine, uids)
    else:
        changes = read_unselected(engine, state, uids)
    updated = engine.index.update_flags(state, changes)
    if whole:
        state.flags_checked_at = now_iso()
        if not selected:  # in a full folder sync the state is saved with the rest
            engine.index.save_folder(state)
    return updated
