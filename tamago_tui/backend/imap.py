"""Logged-in imapclient connections, safely made. The sync engine's way in.

`connect()` returns an `imapclient.IMAPClient` that is:
- encrypted as the account says (implicit TLS, or STARTTLS which must be
  offered: a server without it is an error, never a silent downgrade);
- verified with `tls.client_context()` (system trust + account CA file, or the
  pinned certificate);
- bounded by `SocketTimeout(connect, read)` on every socket operation;
- logged in, unless `login=False`.

Every failure is translated into a `TamagoError` subclass with a
troubleshooting category. imapclient connections are not thread-safe: keep one
per account, used by one worker at a time.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import time
from dataclasses import dataclass

import imapclient
from imapclient import SocketTimeout, imap4
from imapclient import tls as imapclient_tls
from imapclient.exceptions import CapabilityError, IMAPClientAbortError, IMAPClientError, LoginError

from . import sasl
from . import tls as tls_mod
from . import wire
from .errors import AuthError, NetworkError, TamagoError
from .log import register_secret
from .neterrors import network_error, other_os_error
from .models import Account, Security, ServerSettings

log = logging.getLogger("tamago.imap")


class LiteralTooLarge(NetworkError):
    """The server announced a literal bigger than the configured cap. The connection is closed."""

    category = "unknown"  # not a connection problem: no troubleshooting guide applies
    title = "Message too large"


@dataclass(frozen=True)
class Target:
    """Everything needed to reach one IMAP server."""

    settings: ServerSettings
    cafile: str = ""
    oauth_mechanism: str = "XOAUTH2"
    provider: str = ""

    @classmethod
    def of(cls, account_or_settings: Account | ServerSettings, cafile: str = "") -> "Target":
        if isinstance(account_or_settings, Account):
            account = account_or_settings
            return cls(account.imap, cafile or account.cafile, account.oauth_mechanism, account.provider)
        return cls(account_or_settings, cafile)


class _TimedIMAP4(imap4.IMAP4WithTimeout):
    """Plain/STARTTLS transport: the name lookup is bounded and the socket is watched."""

    def __init__(self, host: str, port: int, timeout: float | None, watchdog: wire.Watchdog, nameserver: str):
        self._watchdog, self._nameserver = watchdog, nameserver
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return wire.open_with_deadline(self.host, self.port, timeout or self._timeout or 20.0, self._watchdog,
                                       self._nameserver)


class _TimedIMAP4TLS(imapclient_tls.IMAP4_TLS):
    """Implicit-TLS transport: the same, with the handshake under the watchdog too."""

    def __init__(self, host: str, port: int, context, timeout: float | None, watchdog: wire.Watchdog,
                 nameserver: str):
        self._watchdog, self._nameserver = watchdog, nameserver
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = wire.open_with_deadline(self.host, self.port, timeout or self._timeout or 20.0, self._watchdog,
                                       self._nameserver)
        try:
            return imapclient_tls.wrap_socket(sock, self.ssl_context, self.host)
        except BaseException:
            sock.close()
            raise


class _Client(imapclient.IMAPClient):
    """IMAPClient whose transport runs under a `wire.Watchdog` (see connect())."""

    def __init__(self, *args, watchdog: wire.Watchdog, nameserver: str = "", **kwargs):
        self._watchdog, self._nameserver = watchdog, nameserver
        super().__init__(*args, **kwargs)

    def _create_IMAP4(self):  # noqa: N802 (imapclient's name)
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _TimedIMAP4TLS(self.host, self.port, self.ssl_context, connect_timeout, self._watchdog,
                                  self._nameserver)
        return _TimedIMAP4(self.host, self.port, connect_timeout, self._watchdog, self._nameserver)


def connect(
    account_or_settings: Account | ServerSettings,
    password: str | None = None,
    *,
    oauth_token: str | None = None,
    timeout: float = 20.0,
    read_timeout: float | None = None,
    cafile: str = "",
    login: bool = True,
    max_literal_bytes: int | None = None,
    deadline: float | None = None,
    nameserver: str = "",
) -> imapclient.IMAPClient:
    """Open, secure and (by default) log in. The caller owns the returned client: `logout()` it.

    `password` or `oauth_token` (for `auth = "oauth2"` accounts) is the secret;
    `timeout` bounds the name lookup, the TCP connect and the greeting,
    `read_timeout` (default `timeout`) every later read. `deadline` (default twice `timeout`) bounds the
    whole of connect(): lookup, TCP, TLS, greeting, STARTTLS and login. A server
    that trickles a byte at a time never trips a per-read timeout; the deadline
    shuts its socket and connect() fails with category "timeout".
    `max_literal_bytes` refuses larger literals (a message body, say) with
    `LiteralTooLarge` instead of buffering them. `nameserver` ("HOST[:PORT]", the
    `nameserver` setting) resolves the server's name instead of the system resolver.
    """
    target = Target.of(account_or_settings, cafile)
    settings = target.settings
    for secret in (password, oauth_token):
        register_secret(secret)
    if login and not (password or oauth_token):
        raise AuthError(f"No password for {settings.username or settings.host}.", category="invalid_credentials")
    context = _context(target)
    where = f"{settings.host}:{settings.port}"
    overall = deadline if deadline is not None else 2 * timeout
    client = None
    watchdog = wire.Watchdog(overall)
    try:
        with watchdog:
            client = _Client(
                settings.host,
                port=settings.port,
                ssl=settings.security is Security.SSL,
                ssl_context=context,
                timeout=SocketTimeout(connect=timeout, read=read_timeout or timeout),
                watchdog=watchdog,
                nameserver=nameserver,
            )
            if settings.security is Security.STARTTLS:
                _starttls(client, context, where)
            if max_literal_bytes:
                cap_literals(client, max_literal_bytes)
            if login:
                _login(client, target, password, oauth_token)
        if not watchdog.finish():  # the deadline fired just as the last step completed
            raise _overall_timeout(where, overall)
        return client
    except BaseException as exc:
        if client is not None:
            _abandon(client)
        if watchdog.expired and isinstance(exc, Exception) and not isinstance(exc, LiteralTooLarge):
            raise _overall_timeout(where, overall) from exc
        if isinstance(exc, TamagoError) or not isinstance(exc, Exception):
            raise
        raise translate(exc, target) from exc


def _overall_timeout(where: str, seconds: float) -> NetworkError:
    return NetworkError(
        f"{where} did not finish connecting and logging in within {seconds:g} s "
        "(it answers, but too slowly)",
        category="timeout",
    )


def _context(target: Target) -> ssl.SSLContext | None:
    if target.settings.security is Security.NONE:
        return None
    return tls_mod.checked_context(cafile=target.cafile, pinned_sha256=target.settings.pinned_sha256)


def _starttls(client: imapclient.IMAPClient, context: ssl.SSLContext | None, where: str) -> None:
    if not client.has_capability("STARTTLS"):
        raise NetworkError(
            f"{where} does not offer STARTTLS, so the connection cannot be encrypted. "
            "tamago will not continue unencrypted; the password was not sent.",
            category="starttls_unavailable",
        )
    try:
        client.starttls(context)
    except (CapabilityError, IMAPClientError) as exc:  # BAD/NO to STARTTLS, or the link dropped
        raise NetworkError(f"{where} refused STARTTLS ({exc}); the password was not sent.",
                           category="starttls_unavailable") from exc


TEMPORARY_RETRY_SECONDS = 1.0  # RFC 5530 [UNAVAILABLE]: "the client MAY retry"; tamago does, once


def is_temporary(text: str) -> bool:
    """The server's login answer says the failure is temporary (its authentication
    backend is down for a moment): worth one more try, not a wrong password."""
    return "[UNAVAILABLE]" in text.upper()


def _login(client: imapclient.IMAPClient, target: Target, password: str | None, oauth_token: str | None) -> None:
    try:
        _login_once(client, target, password, oauth_token)
    except AuthError as exc:
        if not is_temporary(exc.message):
            raise
        log.info("login to %s:%s: a temporary failure; trying once more", target.settings.host,
                 target.settings.port)
        time.sleep(TEMPORARY_RETRY_SECONDS)
        _login_once(client, target, password, oauth_token)


def _login_once(client: imapclient.IMAPClient, target: Target, password: str | None,
                oauth_token: str | None) -> None:
    username = target.settings.username
    try:
        if oauth_token:
            sasl.imap_login(client, target.oauth_mechanism, username, oauth_token, host=target.settings.host,
                            port=target.settings.port, provider=target.provider)
        else:
            client.login(username, password or "")
    except LoginError as exc:
        from .categorize import refine  # the classifier loads only when a login fails

        text = _server_text(exc)
        settings = target.settings
        category = refine(text, "invalid_credentials", provider=target.provider, protocol="imap",
                          port=settings.port, security=settings.security.value)
        raise AuthError(f"The server refused the login for {username}: {text}", category=category) from exc


def cap_literals(client: imapclient.IMAPClient, max_bytes: int) -> None:
    """Refuse literals over `max_bytes` before reading them.

    imaplib reads every literal through `IMAP4.read(size)`, so wrapping that
    one method on this connection is enough. After a refusal the connection is
    mid-response and unusable; the caller must drop it.
    """
    imap = client._imap  # imapclient exposes no hook for this
    original = imap.read

    def read(size: int) -> bytes:
        if size > max_bytes:
            try:
                imap.shutdown()
            except OSError:
                pass
            raise LiteralTooLarge(
                f"The server wanted to send {size} bytes at once; the limit is {max_bytes}. "
                "Raise max_literal_mb in the settings to allow it."
            )
        return original(size)

    imap.read = read


def _server_text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip() or type(exc).__name__


def translate(exc: BaseException, target: Target) -> TamagoError:
    """A library or socket exception as a categorised `TamagoError`."""
    settings = target.settings
    where = f"{settings.host}:{settings.port}"

    def fingerprint() -> str:
        from .diagnostics import peek_certificate  # lazy: diagnostics imports this module's siblings

        cert = peek_certificate(settings, "imap", timeout=5.0)
        return cert.sha256 if cert else ""

    if (error := network_error(exc, settings, fingerprint)) is not None:
        return error
    if isinstance(exc, IMAPClientAbortError):
        return NetworkError(f"{where} closed the connection: {_server_text(exc)}", category="server_unavailable")
    if isinstance(exc, (IMAPClientError, imaplib.IMAP4.error)):
        return NetworkError(f"{where}: {_server_text(exc)}", category="unknown")
    return other_os_error(exc, settings)


def _abandon(client: imapclient.IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:  # already broken; nothing more to do
        pass
