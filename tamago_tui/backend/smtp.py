"""Connected, logged-in aiosmtplib clients for sending mail (the outbox's way out).

Security follows the account and never degrades: implicit TLS (port 465
style), STARTTLS (587 style; a server that does not offer it is an error), or
none, which the user chose explicitly. TLS uses `tls.client_context()`
(verified, or the pinned certificate). aiosmtplib's `timeout` bounds
connecting, the handshake and every reply. Failures become categorised
`TamagoError`s.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

import aiosmtplib

from . import sasl, wire
from . import tls as tls_mod
from .categorize import refine
from .errors import AuthError, NetworkError, TamagoError
from .log import register_secret
from .neterrors import network_error, other_os_error
from .models import Account, Security, ServerSettings

log = logging.getLogger("tamago.smtp")


def _target(account_or_settings: Account | ServerSettings, cafile: str) -> tuple[ServerSettings, str, str, str]:
    if isinstance(account_or_settings, Account):
        account = account_or_settings
        return account.smtp, cafile or account.cafile, account.oauth_mechanism, account.provider
    return account_or_settings, cafile, "XOAUTH2", ""


async def connect(
    account_or_settings: Account | ServerSettings,
    password: str | None = None,
    *,
    oauth_token: str | None = None,
    timeout: float = 20.0,
    cafile: str = "",
    login: bool = True,
    deadline: float | None = None,
    nameserver: str = "",
) -> aiosmtplib.SMTP:
    """Open, secure and (by default) authenticate. The caller owns the client: `await smtp.quit()`.

    `timeout` bounds each step (connecting, the handshake, every reply);
    `deadline` (default twice `timeout`) the whole of it, so a server that
    trickles its replies a byte at a time fails with category "timeout".
    `nameserver` ("HOST[:PORT]", the `nameserver` setting) resolves the server's name
    instead of the system resolver, as the connection test does.
    """
    settings, cafile, oauth_mechanism, provider = _target(account_or_settings, cafile)
    for secret in (password, oauth_token):
        register_secret(secret)
    if login and not (password or oauth_token):
        raise AuthError(f"No password for {settings.username or settings.host}.")
    context = None
    if settings.security is not Security.NONE:
        context = tls_mod.checked_context(cafile=cafile, pinned_sha256=settings.pinned_sha256)
    smtp = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        timeout=timeout,
        use_tls=settings.security is Security.SSL,
        start_tls=False,  # done by hand below, so a missing STARTTLS can never pass silently
        tls_context=context if settings.security is Security.SSL else None,
        # An address literal, set properly once connected; avoids socket.getfqdn()'s DNS wait.
        local_hostname="[127.0.0.1]",
    )
    overall = deadline if deadline is not None else 2 * timeout
    try:
        await asyncio.wait_for(_open(smtp, settings, context, login, password, oauth_token,
                                     oauth_mechanism, provider, nameserver, timeout), overall)
        return smtp
    except BaseException as exc:
        smtp.close()
        if isinstance(exc, TimeoutError) and not isinstance(exc, aiosmtplib.SMTPException):
            raise NetworkError(
                f"{settings.host}:{settings.port} did not finish connecting and logging in within "
                f"{overall:g} s (it answers, but too slowly)",
                category="timeout",
            ) from exc
        if isinstance(exc, TamagoError) or not isinstance(exc, Exception):
            raise
        fingerprint = ""
        root = _root(exc)
        if isinstance(root, ssl.SSLCertVerificationError) and not isinstance(root, tls_mod.PinMismatchError):
            fingerprint = await asyncio.to_thread(_peek_fingerprint, settings)
        raise translate(exc, settings, fingerprint=fingerprint, provider=provider) from exc


async def _open(smtp: aiosmtplib.SMTP, settings: ServerSettings, context, login: bool,
                password: str | None, oauth_token: str | None, oauth_mechanism: str, provider: str,
                nameserver: str, timeout: float) -> None:
    if nameserver and not wire.is_ip(settings.host):
        # Looked up at the configured nameserver (aiosmtplib would ask the system resolver);
        # the name stays the TLS server name.
        sock = await asyncio.to_thread(wire.open_with_deadline, settings.host, settings.port, timeout,
                                       None, nameserver)
        sock.setblocking(False)
        await smtp.connect(sock=sock, port=None)
    else:
        await smtp.connect()
    smtp.local_hostname = _address_literal(smtp.get_transport_info("sockname"))
    await smtp.ehlo()
    if settings.security is Security.STARTTLS:
        if not smtp.supports_extension("starttls"):
            raise NetworkError(
                f"{settings.host}:{settings.port} does not offer STARTTLS, so the connection cannot be "
                "encrypted. tamago will not continue unencrypted; the password was not sent.",
                category="starttls_unavailable",
            )
        try:
            await smtp.starttls(tls_context=context, server_hostname=settings.host)
        except aiosmtplib.SMTPResponseException as exc:  # offered, then refused (454...)
            raise NetworkError(
                f"{settings.host}:{settings.port} refused STARTTLS ({exc.code} {exc.message}); tamago will "
                "not continue unencrypted and the password was not sent.",
                category="starttls_unavailable",
            ) from exc
        await smtp.ehlo()
    if login:
        try:
            await _authenticate(smtp, settings, password, oauth_token, oauth_mechanism, provider)
        except (aiosmtplib.SMTPResponseException, AuthError) as exc:
            if not is_temporary(exc):
                raise
            # 454 4.7.0: the server's authentication backend failed for a moment (RFC 4954 lets
            # the client AUTH again on the same connection): once more, a second later.
            log.info("SMTP login to %s:%s: a temporary failure; trying once more", settings.host, settings.port)
            await asyncio.sleep(TEMPORARY_RETRY_SECONDS)
            await _authenticate(smtp, settings, password, oauth_token, oauth_mechanism, provider)


TEMPORARY_RETRY_SECONDS = 1.0


def is_temporary(exc: Exception) -> bool:
    """A 454 answer to AUTH: "Temporary authentication failure", not a wrong password."""
    if getattr(exc, "code", None) == 454:
        return True
    return isinstance(exc, AuthError) and ": 454 " in exc.message


async def _authenticate(smtp: aiosmtplib.SMTP, settings: ServerSettings, password: str | None,
                        oauth_token: str | None, oauth_mechanism: str, provider: str) -> None:
    if oauth_token:
        await sasl.smtp_login(smtp, oauth_mechanism, settings.username, oauth_token,
                              host=settings.host, port=settings.port, provider=provider)
    else:
        await smtp.login(settings.username, password or "")


def _peek_fingerprint(settings: ServerSettings) -> str:
    from .diagnostics import peek_certificate  # lazy: diagnostics builds on this package

    cert = peek_certificate(settings, "smtp", timeout=5.0)
    return cert.sha256 if cert else ""


def _address_literal(sockname) -> str:
    if not sockname:
        return "[127.0.0.1]"
    address = sockname[0]
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _root(exc: BaseException) -> BaseException:
    seen = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return exc


def translate(exc: BaseException, settings: ServerSettings, *, fingerprint: str = "", provider: str = "") -> TamagoError:
    """An aiosmtplib or socket exception as a categorised `TamagoError`.

    `fingerprint`: the SHA-256 of an untrusted certificate, read separately, to show for pinning.
    """
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        text = f"{exc.code} {exc.message}"
        category = refine(text, "invalid_credentials", provider=provider, protocol="smtp", port=settings.port,
                          security=settings.security.value)
        return AuthError(f"The server refused the login for {settings.username}: {text}", category=category)
    root = _root(exc)
    if (error := network_error(root, settings, lambda: fingerprint)) is not None:
        return error
    if isinstance(exc, aiosmtplib.SMTPTimeoutError) or isinstance(root, (TimeoutError, asyncio.TimeoutError)):
        return NetworkError(f"{where} did not answer in time", category="timeout")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return NetworkError(f"{where} closed the connection: {exc}", category="server_unavailable")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        category = "server_unavailable" if exc.code in (421, 454) else "unknown"
        return NetworkError(f"{where}: {exc.code} {exc.message}", category=category)
    if isinstance(exc, aiosmtplib.SMTPException) and "AUTH" in str(exc).upper():
        return NetworkError(f"{where}: {exc}", category="smtp_auth_disabled")
    return other_os_error(root if isinstance(root, OSError) else exc, settings)
