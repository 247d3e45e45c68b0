"""Helpers for tests against the real servers: certificate fingerprints and Dovecot's log."""

from __future__ import annotations

import ssl
import time

from tamago_tui.backend import tls


def leaf_fingerprint(test_ca, variant: str) -> str:
    """SHA-256 of the leaf certificate a server of this variant presents."""
    pem = test_ca.pair(variant).cert.read_text()
    first = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return tls.fingerprint(ssl.PEM_cert_to_DER_cert(first))


def log_size(server) -> int:
    return server.log_path.stat().st_size


def imap_login_log_since(server, offset: int, timeout: float = 10.0) -> str:
    """Dovecot's log written after `offset`, once it shows the client disconnecting.

    Dovecot writes that line asynchronously, so wait for it (an event, not a clock).
    """
    deadline = time.monotonic() + timeout
    while True:
        with open(server.log_path, encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            text = handle.read()
        if ("imap-login" in text and "Disconnected" in text) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def assert_no_login_attempt(log: str) -> None:
    assert "imap-login" in log and "Disconnected" in log  # the client's visit was logged...
    assert "no auth attempts" in log or "before auth was ready" in log  # ...without authenticating
    assert "Login: user=" not in log and "auth failed" not in log
