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
    """Log in to the account's IMAP server and return a Wire (the default connector)."""
    try:
        from . import imap as imap_mod  # the diagnostics helper's connect(); preferred when present
    except ImportError:
        imap_mod = None
    if imap_mod is not None and hasattr(imap_mod, "connect"):
        client = imap_mod.connect(account, services=services, timeout=services.settings.timeout)
    else:
        client = _interim_connect(services, account)
    return wire_for(client, services, account)


def _password(services, account: Account) -> str:
    """The account's IMAP password from secrets.py (keyring, encrypted file or command)."""
    try:
        from .secrets import SecretStore
    except ImportError:  # until the secrets module lands: the password command only
        SecretStore = None
    if SecretStore is not None:
        secret = SecretStore.for_services(services).get(account)
    elif account.password_command:
        import subprocess

        result = subprocess.run(account.password_command, shell=True, capture_output=True, text=True, timeout=30)
        secret = result.stdout.splitlines()[0] if result.returncode == 0 and result.stdout else None
    else:
        secret = None
    if not secret:
        raise SecretError(
            f"No password is stored for {account.name}. Add it with `tamago accounts add` or set password_command.",
            category="missing_password",
        )
    from .log import register_secret

    register_secret(secret)
    return secret


def _interim_connect(services, account: Account):
    """A minimal verified-TLS login, used until imap.connect() is available."""
    import ssl

    import imapclient
    from imapclient.exceptions import LoginError

    from .models import Security

    server = account.imap
    timeout = float(services.settings.timeout)
    context = ssl.create_default_context(cafile=account.cafile or None)
    try:
        client = imapclient.IMAPClient(
            server.host, port=server.port, ssl=server.security == Security.SSL, ssl_context=context,
            timeout=imapclient.SocketTimeout(connect=timeout, read=timeout),
        )
        if server.security == Security.STARTTLS:
            client.starttls(context)
        client.login(server.username or account.email, _password(services, account))
    except LoginError as exc:
        from .errors import AuthError

        raise AuthError(f"The server refused the login for {account.email}: {exc}") from exc
    except (OSError, imapclient.exceptions.IMAPClientError) as exc:
        raise NetworkError(f"Could not connect to {server.host}:{server.port}: {exc}") from exc
    return client


class SessionPool:
    """Per-account locks and idle connections. Thread-safe; share one per process."""

    def __init__(self, services, connect: Connector | None = None, *, idle_seconds: float = 240.0):
        self.services = services
        self.connect = connect or connect_wire
        self.idle_seconds = idle_seconds
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._idle: dict[str, tuple[Wire, float]] = {}
        self.connects = 0

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    @contextmanager
    def session(self, account: Account, *, wait: float | None = None) -> Iterator[Wire]:
        lock = self._lock(account.name)
        if not lock.acquire(timeout=-1 if wait is None else wait):
            raise NetworkError(f"{account.name} is busy with another action.", category="busy")
        try:
            wire = self._take_idle(account.name)
            if wire is None:
                wire = self.connect(self.services, account)
                self.connects += 1
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
