"""One IMAP connection per account at a time, kept open between actions.

Every action on an account (a scan, a contact visit, opening a message) takes
the account's session with `with pool.session(account) as wire:`. The lock
makes actions on one account run one at a time, like aerc's per-account
worker; different accounts run in parallel. An idle connection is reused
(that is what makes a no-change resync one round-trip per folder) until it
has been idle for `idle_seconds`, after which servers tend to drop it anyway.

`connect_wire()` is the single place that opens a connection: login, TLS and
error translation belong to imap.py; this module only wraps the result in a
`Wire` with the configured deadlines and literal cap.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from .errors import NetworkError, SecretError, TamagoError
from .imapwire import Wire
from .models import Account

log = logging.getLogger("tamago.sessions")

Connector = Callable[[object, Account], Wire]


def wire_for(client, services, account: Account) -> Wire:
    """Wrap a logged-in imapclient.IMAPClient (or imaplib.IMAP4) in a Wire."""
    settings = services.settings
    imap = getattr(client, "_imap", client)
    capabilities = None
    if hasattr(client, "capabilities") and hasattr(client, "_imap"):
        capabilities = [c.decode() if isinstance(c, bytes) else str(c) for c in client.capabilities()]
    return Wire(
        imap,
        timeout=float(settings.timeout),
        max_literal=int(settings.max_literal_mb) * 1024 * 1024,
        capabilities=capabilities,
        owner=client,
    )


def connect_wire(services, account: Account) -> Wire:
    """Log in to the account's IMAP server (imap.connect: verified TLS, deadlines,
    categorised errors; OAuth accounts through oauth.py, which refreshes a refused
    token once) and return a Wire. The default connector of SessionPool."""
    settings = services.settings
    options = {"timeout": float(settings.timeout), "max_literal_bytes": int(settings.max_literal_mb) * 1024 * 1024,
               "nameserver": settings.nameserver}
    if account.auth == "oauth2":
        from . import oauth

        client = oauth.for_services(services).connect_imap(account, **options)
    else:
        from . import imap as imap_mod

        client = imap_mod.connect(account, password_for(services, account), **options)
    return wire_for(client, services, account)


def password_for(services, account: Account) -> str:
    """The account's IMAP password: its password command, else the secret store."""
    if account.password_command:
        from .secrets import run_command  # no keyring probe: `tamago sync` from cron starts fast

        return run_command(account.password_command)
    from .secrets import SecretStore

    password = SecretStore.for_services(services).password_for(account, "imap")
    if not password:
        raise SecretError(
            f"No password is stored for {account.name}. Add it with `tamago accounts add` "
            "or set password_command for the account."
        )
    return password


class SessionPool:
    """Per-account locks and idle connections. Thread-safe; share one per process."""

    def __init__(self, services, connect: Connector | None = None, *, idle_seconds: float = 240.0):
        self.services = services
        self.connect = connect or connect_wire
        self.idle_seconds = idle_seconds
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._idle: dict[str, tuple[Wire, float]] = {}
        # The last failed connect of each account, and when it ended (see session()).
        self._failed: dict[str, tuple[TamagoError, float]] = {}
        self.connects = 0

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    @contextmanager
    def session(self, account: Account, *, wait: float | None = None) -> Iterator[Wire]:
        lock = self._lock(account.name)
        asked = time.monotonic()
        if not lock.acquire(timeout=-1 if wait is None else wait):
            raise NetworkError(f"{account.name} is busy with another action.", category="unknown")
        try:
            wire = self._take_idle(account.name)
            if wire is None:
                wire = self._connect(account, asked)
            try:
                yield wire
            except BaseException:
                if wire.broken or wire.selected is not None:
                    wire.close()
                    wire = None
                raise
            finally:
                if wire is not None and not wire.broken:
                    with self._guard:
                        self._idle[account.name] = (wire, time.monotonic())
        finally:
            lock.release()

    def _connect(self, account: Account, asked: float) -> Wire:
        """A new connection. A connect that failed while this caller waited its turn (a
        background scan on a dead server, say) is this caller's answer too: trying again at
        once would only wait out the same timeout a second time. A later call tries afresh."""
        with self._guard:
            failed = self._failed.get(account.name)
        if failed is not None and failed[1] >= asked:
            raise copy.copy(failed[0])
        try:
            wire = self.connect(self.services, account)
        except TamagoError as exc:
            with self._guard:
                self._failed[account.name] = (exc, time.monotonic())
            raise
        self.connects += 1
        with self._guard:
            self._failed.pop(account.name, None)
        return wire

    def _take_idle(self, name: str) -> Wire | None:
        with self._guard:
            entry = self._idle.pop(name, None)
        if entry is None:
            return None
        wire, since = entry
        if wire.broken or time.monotonic() - since > self.idle_seconds:
            wire.logout() if not wire.broken else wire.close()
            return None
        return wire

    def busy(self, name: str) -> bool:
        return self._lock(name).locked()

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, {}
        for wire, _ in idle.values():
            try:
                wire.logout()
            except TamagoError:
                pass
