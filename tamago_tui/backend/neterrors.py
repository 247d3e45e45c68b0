"""How a socket or TLS failure reads to a person, the same for IMAP and SMTP.

`network_error()` covers what happens below the mail protocol (certificate, TLS,
DNS, refused, timeout); each protocol's `translate()` handles its own replies
first and falls back to this.
"""

from __future__ import annotations

import socket
import ssl
from typing import Callable

from . import tls as tls_mod
from .errors import NetworkError
from .models import ServerSettings


def network_error(exc: BaseException, settings: ServerSettings,
                  fingerprint: Callable[[], str] = lambda: "") -> NetworkError | None:
    """A categorised error for a socket/TLS exception; None when `exc` is something else.

    `fingerprint` is asked only for an untrusted certificate: the SHA-256 to offer for pinning.
    """
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, tls_mod.PinMismatchError):
        return NetworkError(f"{where}: {exc}", category="certificate_invalid")
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = f"{where}: the certificate is not trusted ({tls_mod.verification_reason(exc)})"
        fp = fingerprint()
        if fp:
            message += f". Its SHA-256 fingerprint is {fp}; pin it for this account if you trust this server"
        error = NetworkError(message, category="certificate_invalid")
        error.fingerprint = fp  # type: ignore[attr-defined]
        return error
    if isinstance(exc, ssl.SSLError):
        return NetworkError(f"{where}: TLS failed ({exc.reason or exc})", category="tls_mismatch")
    if isinstance(exc, socket.gaierror):
        return NetworkError(f"Cannot resolve {settings.host}: {exc.strerror or exc}", category="dns_failure")
    if isinstance(exc, ConnectionRefusedError):
        return NetworkError(f"{where} refused the connection", category="connection_refused")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return NetworkError(f"{where} did not answer in time", category="timeout")
    return None


def other_os_error(exc: BaseException, settings: ServerSettings) -> NetworkError:
    """The last word: any other OSError reads as a failed connection, the rest as unknown."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, OSError):
        return NetworkError(f"{where}: {exc.strerror or exc}", category="connection_refused")
    return NetworkError(f"{where}: {type(exc).__name__}: {exc}", category="unknown")
