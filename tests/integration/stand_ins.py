"""TEMPORARY stand-ins for backend.smtp / backend.imap until the diagnostics branch lands.

Removed as soon as the real modules are on main.
"""

from __future__ import annotations

import asyncio
import ssl
import types

import aiosmtplib
from imapclient import IMAPClient, SocketTimeout

from tamago_tui.backend.errors import AuthError, NetworkError


def _context(account):
    return ssl.create_default_context(cafile=account.cafile)


def translate(exc, settings):
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return AuthError(f"The server refused the login: {exc.code} {exc.message}")
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return NetworkError(f"{where} did not answer in time", category="timeout")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return NetworkError(f"{where} refused the connection", category="connection_refused")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return NetworkError(f"{where}: {exc.code} {exc.message}")
    return NetworkError(f"{where}: {exc}")


async def smtp_connect(account, password, *, oauth_token=None, timeout=20.0):
    smtp = aiosmtplib.SMTP(hostname=account.smtp.host, port=account.smtp.port, timeout=timeout,
                           start_tls=True, tls_context=_context(account))
    try:
        await smtp.connect()
        await smtp.login(account.smtp.username, password)
    except Exception as exc:
        smtp.close()
        raise translate(exc, account.smtp) from exc
    return smtp


def imap_connect(account, password, *, oauth_token=None, timeout=20.0):
    try:
        client = IMAPClient(account.imap.host, port=account.imap.port, ssl=True, ssl_context=_context(account),
                            timeout=SocketTimeout(timeout, timeout))
    except (TimeoutError, OSError) as exc:
        raise NetworkError(f"{account.imap.host}:{account.imap.port} did not answer in time",
                           category="timeout") from exc
    client.login(account.imap.username, password)
    return client


smtp_module = types.SimpleNamespace(connect=smtp_connect, translate=translate)
imap_module = types.SimpleNamespace(connect=imap_connect)
