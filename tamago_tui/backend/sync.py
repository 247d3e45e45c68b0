"""Header sync: keep a local index of each account's selected folders, incrementally.

One connection per account at a time (`sessions.SessionPool`), and one folder
synced to completion before the next, because every folder switch costs the
server time. Per folder the index stores UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ
and the message count, so:

- an unchanged folder costs one STATUS, and the STATUS of every selected
  folder goes out in one pipelined batch: one round-trip for the account;
- a changed folder is EXAMINEd (read-only: nothing is ever marked read) and
  only new UIDs are fetched, in chunks of UID ranges (never `1:*`, which costs
  500-700 MB for 100k messages, and never comma lists longer than Dovecot's
  64 KB command line);
- flag changes come from QRESYNC, or CHANGEDSINCE with CONDSTORE; without
  either, flagsweep.py reads the flags of a visited contact's messages, the
  newest UIDs at every resync and all of them once a day (also in folders
  STATUS calls unchanged, since a flag change moves nothing STATUS shows);
- expunges from QRESYNC's VANISHED, or else a count mismatch and a UID SEARCH;
- placeholders of sent mail the provider files itself (sentcopy.py) are
  merged into the synced copy with their Message-ID, or dropped from the
  index when the copy never came (the outbox keeps the message);
- a new UIDVALIDITY drops the folder's rows and syncs it again; cached bodies
  stay, since they are keyed by Message-ID;
- the first sync covers the backfill window only (SEARCH SINCE) and commits
  per chunk, so a dropped connection resumes where it stopped.

Headers are read from `BODY.PEEK[HEADER.FIELDS (...)]` with the raw response
reader in imapwire.py, fetchparse.py and the fast parser in headers.py (the
parsed-ENVELOPE path costs 16 s per 100k messages before a row is written),
and big syncs write rows from index_writer's child process.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Callable, Iterable

from . import flagsweep
from .config import Settings
from .errors import NetworkError, TamagoError
from .fetchparse import (
    FIELDS,
    encode_mailbox,
    flag_change,
    imap_date,
    parse_fetch,
    parse_list,
    parse_search,
    parse_status,
    read_examine,
)
from .gcpause import paused_collection
from .imapwire import Response, Wire, quote, uid_ranges
from .index import FolderState, Header, HeaderIndex
from .models import Account

log = logging.getLogger("tamago.sync")

CHUNK = 2000  # UIDs per FETCH: ~1 MB of response, well under any command-line limit
WRITER_PROCESS_CHUNKS = 5  # from this many chunks on, rows are written by index_writer's child process


class Cancelled(Exception):
    """The person (or the app) cancelled; the index is consistent up to the last chunk."""


def cancel_check(cancel) -> Callable[[], None]:
    """`cancel` may be None, a threading.Event, or a callable returning True to stop."""
    if cancel is None:
        return lambda: None
    test = cancel.is_set if isinstance(cancel, threading.Event) else cancel

    def check() -> None:
        if test():
            raise Cancelled()

    return check


# -- reports ---------------------------------------------------------------


@dataclass
class FolderReport:
    folder: str
    new: int = 0
    updated: int = 0
    expunged: int = 0
    uidvalidity_reset: bool = False
    unchanged: bool = False
    partial: bool = False  # only a contact's messages were fetched (first sync not finished)
    commands: int = 0  # IMAP commands for this folder, its share of the pipelined STATUS included
    error: str = ""
    category: str = ""

    def as_json(self) -> dict:
        data = asdict(self)
        data["error"] = self.error or None
        data["category"] = self.category or None
        return data


@dataclass
class AccountReport:
    account: str
    folders: list[FolderReport] = field(default_factory=list)
    error: str = ""
    category: str = ""
    guide: str = ""
    round_trips: int = 0
    cached: int = 0
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and not any(f.error for f in self.folders)

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    def as_json(self) -> dict:
        return {
            "account": self.account,
            "ok": self.ok,
            "error": self.error or None,
            "category": self.category or None,
            "guide": self.guide or None,
            "round_trips": self.round_trips,
            "cached": self.cached,
            "cancelled": self.cancelled,
            "folders": [f.as_json() for f in self.folders],
        }


@dataclass(frozen=True)
class SyncProgress:
    account: str
    folder: str
    done: int
    total: int
    phase: str  # status | headers | search | flags | expunge | done


def failure(exc: BaseException, account: Account | None = None) -> tuple[str, str, str]:
    """(message, category, guide title) for a failure, classified by troubleshoot.py."""
    message = str(exc) or type(exc).__name__
    category = getattr(exc, "category", "") or "unknown"
    guide = ""
    try:
        from .troubleshoot import FailureContext, diagnose

        context = FailureContext.for_account(account, "imap") if account is not None else None
        explanation = diagnose(exc, context)
        if category == "unknown":
            category = explanation.category
        guide = explanation.title if category == explanation.category else ""
    except Exception:  # noqa: BLE001 - a guide is a nicety; the failure itself is what counts
        log.exception("could not classify a sync failure")
    return message, category, guide


# -- the engine --------------------------------------------------------------


class AccountSync:
    """Sync work for one account over one open Wire. Not thread-safe; one per worker."""

    def __init__(
        self,
        account: Account,
        wire: Wire,
        index: HeaderIndex,
        *,
        cancel=None,
        progress: Callable[[SyncProgress], None] | None = None,
        today: date | None = None,
        full_flags: bool = False,
        settings: Settings | None = None,
    ):
        self.account = account
        self.settings = settings or Settings()  # recent_flags, flag_sweep_hours (flagsweep.py)
        self.full_flags = full_flags  # re-read every indexed flag (`tamago sync --full`)
        self.contact: list[str] | None = None
        self.wire = wire
        self.index = index
        self.check_cancel = cancel_check(cancel)
        self.progress = progress or (lambda p: None)
        self.today = today or date.today()
        self.condstore = wire.has("CONDSTORE") or wire.has("QRESYNC")
        self.qresync = wire.has("QRESYNC") and wire.has("ENABLE")
        self.esearch = wire.has("ESEARCH")
        self.gmail = wire.has("X-GM-EXT-1")
        self.own = set(account.own_addresses)  # the address, its aliases and an address-shaped login
        fetch_items = b"UID FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE"
        if self.gmail:
            fetch_items += b" X-GM-MSGID"
        self.fetch_items = b"(" + fetch_items + b" BODY.PEEK[HEADER.FIELDS " + FIELDS + b"])"

    # -- folders -----------------------------------------------------------

    @property
    def window_start(self) -> date:
        return self.today - timedelta(days=max(0, self.account.backfill_days))

    def list_folders(self) -> list[tuple[str, set[str]]]:
        return parse_list(self.wire.run(b'LIST "" "*"').untagged)

    def selected_folders(self) -> list[FolderState]:
        """The account's folders (config), or the remembered default pick, or a fresh LIST."""
        account = self.account
        known = {s.name: s for s in self.index.folders(account.name)}
        wanted = list(account.folders) or [s.name for s in known.values() if s.selected]
        if not wanted or any(name not in known for name in wanted):
            listed = self.list_folders()
            special = {name: " ".join(sorted(f for f in flags if f in _SPECIAL_USE)) for name, flags in listed}
            if not account.folders:
                wanted = default_folders(account.provider, listed)
            self.index.set_selected(account.name, wanted, special)
            known = {s.name: s for s in self.index.folders(account.name)}
        return [known[name] for name in wanted if name in known]

    # -- one account -------------------------------------------------------

    def run(
        self,
        folders: list[str] | None = None,
        *,
        contact: Iterable[str] | None = None,
        on_folder: Callable[[FolderState, FolderReport], None] | None = None,
    ) -> AccountReport:
        """Bring the selected folders up to date.

        With `contact` (addresses), a folder whose first full sync has not
        finished is not synced in full: only that contact's messages are found
        by a server SEARCH. That is a contact visit; without it, a scan.
        `on_folder` is called after each folder that changed.
        """
        report = AccountReport(account=self.account.name)
        start_trips = self.wire.round_trips
        contact = list(contact) if contact is not None else None
        self.contact = contact
        try:
            states = self.selected_folders()
            if folders:
                states = [s for s in states if s.name in folders]
            statuses = self.status_all(states)
        except TamagoError as exc:
            report.error, report.category, report.guide = failure(exc, self.account)
            return report
        for state in states:
            folder_report = FolderReport(folder=state.name, commands=1)
            report.folders.append(folder_report)
            before = self.wire.commands
            status = statuses.get(state.name)
            try:
                self.check_cancel()
                if status is None:
                    raise NetworkError(f"The folder {state.name!r} does not exist on the server.", category="unknown")
                if self.unchanged(state, status):
                    folder_report.unchanged = True
                    if self.reads_flags(state):
                        # STATUS does not move when a flag changes: flagsweep.py decides what to read.
                        folder_report.updated += flagsweep.refresh(
                            self, state, contact=contact, full=self.full_flags, selected=False)
                        folder_report.unchanged = not folder_report.updated
                elif contact is not None and not state.complete:
                    folder_report.new += self.search_contact(state, contact, folder_report)
                    folder_report.partial = True
                else:
                    self.sync_folder(state, status, folder_report)
                if on_folder is not None and not folder_report.unchanged:
                    on_folder(state, folder_report)
            except Cancelled:
                report.cancelled = True
            except TamagoError as exc:
                folder_report.error, folder_report.category, _ = failure(exc, self.account)
                log.warning("sync %s/%s failed: %s", self.account.name, state.name, exc)
            folder_report.commands += self.wire.commands - before
            if report.cancelled:
                break
            if self.wire.broken:
                report.error, report.category = folder_report.error, folder_report.category
                break
        if not report.cancelled and not report.error:
            self.settle_placeholders(report, scan=contact is None)
        report.round_trips = self.wire.round_trips - start_trips
        if not report.cancelled and not report.error and contact is None:
            self.index.mark_synced(self.account.name)
        return report

    def settle_placeholders(self, report: AccountReport, *, scan: bool) -> None:
        """Placeholders of server-filed sent mail whose real copy arrived are merged into it;
        after a scan, those whose copy never came are dropped (sentcopy.settle_placeholders)."""
        if not report.new and not scan:
            return
        from .sentcopy import settle_placeholders

        try:
            settle_placeholders(self.index, self.account.name, stale=scan)
        except Exception:  # noqa: BLE001 - tidying the index must never fail a sync
            log.exception("could not settle sent-mail placeholders of %s", self.account.name)

    def status_all(self, states: list[FolderState]) -> dict[str, dict[str, int]]:
        """STATUS of every folder, pipelined: one round-trip however many folders."""
        if not states:
            return {}
        self.progress(SyncProgress(self.account.name, "", 0, len(states), "status"))
        items = b"(MESSAGES UIDNEXT UIDVALIDITY" + (b" HIGHESTMODSEQ)" if self.condstore else b")")
        if self.wire.selected is not None:
            self.unselect()
        commands = [b"STATUS " + quote(encode_mailbox(s.name)) + b" " + items for s in states]
        results = self.wire.pipeline(commands, check=False)
        return {
            state.name: parse_status(result.untagged)
            for state, result in zip(states, results)
            if result.status == "OK"
        }

    def unchanged(self, state: FolderState, status: dict[str, int]) -> bool:
        if not state.complete or state.oldest_date > self.window_start.isoformat():
            return False
        same = (
            status.get("UIDVALIDITY") == state.uidvalidity
            and status.get("UIDNEXT") == state.uidnext
            and status.get("MESSAGES") == state.exists_count
        )
        if same and self.condstore and "HIGHESTMODSEQ" in status:
            same = status["HIGHESTMODSEQ"] == state.highestmodseq
        return same

    def unselect(self) -> None:
        # CLOSE on an EXAMINEd (read-only) mailbox never expunges.
        self.wire.run(b"UNSELECT" if self.wire.has("UNSELECT") else b"CLOSE", check=False)
        self.wire.selected = None

    # -- one folder --------------------------------------------------------

    def examine(self, state: FolderState) -> dict:
        """EXAMINE (read-only). With QRESYNC and a known state, the answer also carries
        flag changes and VANISHED UIDs since the last sync."""
        mailbox = quote(encode_mailbox(state.name))
        commands = []
        if self.qresync and "QRESYNC" not in self.wire.enabled:
            commands.append(b"ENABLE QRESYNC")
        use_qresync = self.qresync and state.complete and state.uidvalidity and state.highestmodseq
        if use_qresync:
            commands.append(b"EXAMINE %s (QRESYNC (%d %d))" % (mailbox, state.uidvalidity, state.highestmodseq))
        elif self.condstore:
            commands.append(b"EXAMINE " + mailbox + b" (CONDSTORE)")
        else:
            commands.append(b"EXAMINE " + mailbox)
        info: dict = {"vanished": [], "flags": []}
        results = self.wire.pipeline(commands, on_untagged=lambda r: read_examine(r.text, info), check=False)
        if len(commands) == 2 and results[0].status == "OK":
            self.wire.enabled.add("QRESYNC")
        if results[-1].status != "OK":
            raise NetworkError(
                f"The server would not open {state.name!r}: {results[-1].text.decode('utf-8', 'replace').strip()}",
                category="unknown",
            )
        self.wire.selected = state.name
        info["qresync"] = bool(use_qresync)
        return info

    def search(self, criteria: bytes) -> list[int]:
        if self.esearch:
            result = self.wire.run(b"UID SEARCH RETURN (ALL) " + criteria)
        else:
            result = self.wire.run(b"UID SEARCH " + criteria)
        return parse_search(result.untagged)

    def sync_folder(self, state: FolderState, status: dict[str, int], report: FolderReport) -> None:
        name = self.account.name
        if state.id is None:
            self.index.store.ensure_account(name, self.account.email)
            state = self.index.save_folder(state)
        info = self.examine(state)
        uidvalidity = info.get("UIDVALIDITY", status.get("UIDVALIDITY"))
        uidnext = info.get("UIDNEXT", status.get("UIDNEXT"))
        exists = info.get("EXISTS", status.get("MESSAGES", 0))
        modseq = info.get("HIGHESTMODSEQ", status.get("HIGHESTMODSEQ"))
        if uidvalidity is None or uidnext is None:
            raise NetworkError(f"The server sent no UIDVALIDITY/UIDNEXT for {state.name!r}.", category="unknown")
        if state.uidvalidity != uidvalidity:
            if state.uidvalidity is not None:
                report.uidvalidity_reset = True
                log.info("%s/%s: UIDVALIDITY changed, re-syncing the folder", name, state.name)
            state, _ = self.index.reset_folder(state, uidvalidity)
        window = self.window_start
        since = imap_date(window)
        todo: list[int]
        if not state.complete:
            # First sync (or its resumption): the backfill window only.
            todo = [u for u in self.search(b"UID %d:* SINCE %s" % (state.synced_uid + 1, since)) if u > state.synced_uid]
            if state.synced_uid == 0:  # every flag is about to be read with its header
                state.flags_checked_at = flagsweep.now_iso()
        else:
            todo = [u for u in self.search(b"UID %d:*" % (state.synced_uid + 1)) if u > state.synced_uid]
            report.updated += self.refresh_flags(state, info)
            report.expunged += self.find_expunged(state, info, exists, len(todo))
            if state.oldest_date > window.isoformat():
                # The backfill window grew: fetch the older messages it now covers.
                older = self.search(
                    b"UID 1:%d SINCE %s BEFORE %s"
                    % (max(1, state.synced_uid), since, imap_date(date.fromisoformat(state.oldest_date)))
                )
                report.new += self.fetch_into(state, older, advance=False)
        report.new += self.fetch_into(state, todo, advance=True)
        state.synced_uid = max(state.synced_uid, uidnext - 1)
        state.uidnext = uidnext
        state.exists_count = exists
        state.highestmodseq = modseq
        state.complete = True
        if not state.oldest_date or state.oldest_date > window.isoformat():
            state.oldest_date = window.isoformat()
        state.last_sync_at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        self.index.save_folder(state)
        self.unselect()
        self.progress(SyncProgress(name, state.name, report.new, report.new, "done"))

    def refresh_flags(self, state: FolderState, info: dict) -> int:
        if state.synced_uid < 1:
            return 0
        if self.reads_flags(state):
            # Only reading flags shows their changes here; flagsweep.py picks which to read.
            return flagsweep.refresh(self, state, contact=self.contact, full=self.full_flags, selected=True)
        if info.get("qresync"):
            changes = info["flags"]
        else:
            changes = self.fetch_flags(b"%d:%d" % (1, state.synced_uid), b" (CHANGEDSINCE %d)" % state.highestmodseq)
        return self.index.update_flags(state, changes)

    def reads_flags(self, state: FolderState) -> bool:
        """True when no CONDSTORE modseq can tell this folder's flag changes (or `--full` asks)."""
        return self.full_flags or not self.condstore or not state.highestmodseq

    def fetch_flags(self, uid_set: bytes, modifier: bytes = b"") -> list[tuple[int, str]]:
        changes: list[tuple[int, str]] = []

        def on_untagged(response: Response) -> None:
            change = flag_change(response.text)
            if change:
                changes.append(change)

        self.wire.run(b"UID FETCH " + uid_set + b" (UID FLAGS)" + modifier, on_untagged=on_untagged)
        return changes

    def find_expunged(self, state: FolderState, info: dict, exists: int, new_count: int) -> int:
        if info.get("qresync"):
            gone = [u for u in info["vanished"] if u <= state.synced_uid]
            return self.index.expunge(state, gone)
        if state.exists_count is not None and state.exists_count + new_count == exists:
            return 0  # nothing left the folder
        if state.synced_uid < 1:
            return 0
        present = set(self.search(b"UID 1:%d" % state.synced_uid))
        gone = [u for u in self.index.local_uids(state, upto=state.synced_uid) if u not in present]
        return self.index.expunge(state, gone)

    def fetch_into(self, state: FolderState, uids: list[int], *, advance: bool) -> int:
        """Fetch headers of `uids` (ascending) in chunks; each chunk commits on its own.

        Two FETCHes are kept in flight, so the server prepares one chunk while
        this side parses and stores the other.
        """
        with paused_collection():  # see gcpause.py: many objects, no cycles
            return self._fetch_chunks(state, uids, advance=advance)

    def _fetch_chunks(self, state: FolderState, uids: list[int], *, advance: bool) -> int:
        stored = 0
        total = len(uids)
        self.progress(SyncProgress(self.account.name, state.name, 0, total, "headers"))
        chunks = [uids[i : i + CHUNK] for i in range(0, total, CHUNK)]
        in_flight: list[tuple[bytes, bytes, list[int]]] = []
        headers: list[Header] = []

        def on_untagged(response: Response) -> None:
            if b" FETCH " in response.pieces[0][:40]:
                header = parse_fetch(response)
                if header is not None:
                    headers.append(header)  # the current chunk's list (rebound per chunk)

        def send(part: list[int]) -> None:
            command = b"UID FETCH " + uid_ranges(part) + b" " + self.fetch_items
            in_flight.append((self.wire.send(command)[0], command, part))

        path = self.index.store.path
        writer = None
        if path is not None and len(chunks) >= WRITER_PROCESS_CHUNKS:
            from .index_writer import WriterProcess

            writer = WriterProcess(path, state, self.own, expected=total)
        try:
            for part in chunks[:2]:
                send(part)
            done = 0
            for index in range(len(chunks)):
                tag, command, part = in_flight.pop(0)
                headers = []
                self.wire.collect(tag, command, on_untagged=on_untagged)
                if index + 2 < len(chunks):
                    self.check_cancel()
                    send(chunks[index + 2])
                advance_to = part[-1] if advance else None
                if writer is not None:
                    writer.put(headers, advance_to)
                else:
                    stored += self.index.store_headers(state, headers, own_addresses=self.own, advance_to=advance_to)
                done += len(part)
                self.progress(SyncProgress(self.account.name, state.name, done, total, "headers"))
        except BaseException:
            if writer is not None:
                try:
                    writer.close()  # what was parsed is still committed, chunk by chunk
                except Exception:  # noqa: BLE001 - the first failure is the one to report
                    log.exception("index writer failed while stopping")
            # A cancel with a FETCH still in flight: drain it, so the connection stays usable.
            while in_flight and not self.wire.broken:
                tag, command, _ = in_flight.pop(0)
                self.wire.collect(tag, command, on_untagged=lambda r: None, check=False)
            raise
        if writer is not None:
            stored += writer.close()
        self.check_cancel()
        return stored

    # -- a contact where the index does not reach yet ------------------------

    def search_contact(self, state: FolderState, addresses: Iterable[str], report: FolderReport | None = None) -> int:
        """Fetch the headers of a contact's messages above `synced_uid` by server SEARCH.

        Only for a folder whose first full sync has not finished: the index
        already has everything else. Rows land in the index without moving
        `synced_uid`, so the full sync later simply replaces them. The flags of
        the contact's rows below `synced_uid` (from earlier chunks, which no
        CHANGEDSINCE covers yet) are read again.
        """
        addresses = sorted({a.strip().lower() for a in addresses if a and "@" in a})
        if not addresses:
            return 0
        keys = []
        for address in addresses:
            for role in (b"FROM", b"TO", b"CC") + ((b"BCC",) if state.is_sent else ()):
                keys.append(role + b" " + quote(address))
        criteria = keys[0]
        for key in keys[1:]:
            criteria = b"OR " + criteria + b" " + key
        if state.id is None:
            self.index.store.ensure_account(self.account.name, self.account.email)
            state = self.index.save_folder(state)
        info = self.examine(state)
        uidvalidity = info.get("UIDVALIDITY")
        if uidvalidity is not None and state.uidvalidity != uidvalidity:
            state, _ = self.index.reset_folder(state, uidvalidity)
        self.progress(SyncProgress(self.account.name, state.name, 0, 0, "search"))
        found = self.search(b"UID %d:* SINCE %s %s" % (state.synced_uid + 1, imap_date(self.window_start), criteria))
        found = [u for u in found if u > state.synced_uid]
        stored = self.fetch_into(state, found, advance=False)
        earlier = self.index.contact_uids(state, addresses, upto=state.synced_uid)
        if earlier:
            updated = self.index.update_flags(state, flagsweep.read_selected(self, earlier))
            if report is not None:
                report.updated += updated
        self.unselect()
        return stored


_SPECIAL_USE = {"\\sent", "\\all", "\\important", "\\drafts", "\\trash", "\\junk", "\\archive", "\\flagged"}


def default_folders(provider: str, listed: list[tuple[str, set[str]]]) -> list[str]:
    """The folders a new account syncs when none are configured (see providers.default_folders)."""
    try:
        from .providers import default_folders as preset_default  # the discovery helper's rules
    except ImportError:
        preset_default = None
    if preset_default is not None:
        return list(preset_default(provider, listed))
    inbox = [name for name, _ in listed if name.upper() == "INBOX"]
    sent = [name for name, flags in listed if "\\sent" in flags]
    return list(dict.fromkeys(inbox + sent[:1]))


# -- front-end entry points ---------------------------------------------------


def sync_account(
    services,
    account: Account,
    *,
    folders: list[str] | None = None,
    contact: Iterable[str] | None = None,
    cancel=None,
    progress: Callable[[SyncProgress], None] | None = None,
    on_folder: Callable[[FolderState, FolderReport], None] | None = None,
    auto_cache: bool | None = None,
    full_flags: bool = False,
) -> AccountReport:
    """Sync one account over its pooled session. Never raises for a server problem:
    the report carries the error, its category and (when known) a guide.
    `full_flags` re-reads every indexed flag (see flagsweep.py)."""
    store = services.open_store()
    try:
        store.ensure_account(account.name, account.email)
        try:
            with services.sessions.session(account) as wire:
                engine = AccountSync(account, wire, HeaderIndex(store), cancel=cancel, progress=progress,
                                     full_flags=full_flags, settings=services.settings)
                report = engine.run(folders, contact=contact, on_folder=on_folder)
                wants_cache = account.auto_cache if auto_cache is None else auto_cache
                if wants_cache and report.ok and not report.cancelled:
                    from .cache import auto_cache_account

                    try:
                        report.cached = auto_cache_account(services, account, wire, store, cancel=cancel, contact=contact)
                    except Cancelled:
                        report.cancelled = True
        except Cancelled:
            report = AccountReport(account=account.name, cancelled=True)
        except (TamagoError, OSError) as exc:
            report = AccountReport(account=account.name)
            report.error, report.category, report.guide = failure(exc, account)
        if report.error:
            store.record_test(account.name, account.email, False, report.error, report.category)
        elif not report.cancelled:
            store.record_test(account.name, account.email, True)
        return report
    finally:
        store.close()


def sync_accounts(
    services,
    names: Iterable[str] | None = None,
    *,
    contact: Iterable[str] | None = None,
    cancel=None,
    progress: Callable[[SyncProgress], None] | None = None,
    parallel: int = 4,
    full_flags: bool = False,
) -> list[AccountReport]:
    """Sync several accounts, each on its own connection, up to `parallel` at once."""
    accounts = [services.account(n) for n in names] if names else services.accounts()
    contact = list(contact) if contact is not None else None
    if len(accounts) <= 1 or parallel <= 1:
        return [sync_account(services, a, contact=contact, cancel=cancel, progress=progress, full_flags=full_flags)
                for a in accounts]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(parallel, len(accounts)), thread_name_prefix="sync") as pool:
        futures = [
            pool.submit(sync_account, services, a, contact=contact, cancel=cancel, progress=progress,
                        full_flags=full_flags)
            for a in accounts
        ]
        return [f.result() for f in futures]
