"""Steps every protocol shares: DNS, TCP connect and the TLS handshake.

When the handshake fails verification, a second connection with a
non-verifying context reads the certificate so the step can show what the
server presented, with its SHA-256 fingerprint for pinning. That second
connection sends nothing but the plain-text STARTTLS dance and the handshake.
"""

from __future__ import annotations

import ssl

from .. import tls as tls_mod
from ..models import Security, ServerSettings
from ..sasl import initial_response
from ..wire import Conn, Deadline, StepTimeout, WireError, open_tcp, resolve
from .steps import OK, SKIPPED, WARN, Session, StepFailed, StepResult

PLAIN_PORTS = {143, 25, 587, 2525}
IMPLICIT_TLS_PORTS = {993, 465}


class WireSession(Session):
    """A check driven over our own socket. Subclasses add the protocol steps."""

    def __init__(
        self,
        settings: ServerSettings,
        password: str | None,
        *,
        cafile: str = "",
        timeout: float = 10.0,
        nameserver: str = "",
        provider: str = "",
    ):
        super().__init__(timeout=timeout, port=settings.port, security=settings.security.value, provider=provider)
        self.settings = settings
        self.password = password
        self.cafile = cafile
        self.nameserver = nameserver
        self.addresses: list[str] = []
        self.conn: Conn | None = None
        self.tls_info: tls_mod.TlsInfo | None = None

    # -- plumbing ------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def use_tls_now(self) -> bool:
        return self.settings.security is Security.SSL

    def begin_step(self, deadline: Deadline) -> None:
        if self.conn is not None:
            self.conn.set_deadline(deadline)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def starttls_needed(self, offered: bool) -> StepResult | None:
        """The STARTTLS policy both protocols share: None means "issue STARTTLS now".

        Implicit TLS and security "none" skip it; a missing STARTTLS under security
        "starttls" fails the step before any password could be sent (never a downgrade).
        """
        security = self.settings.security
        if security is Security.SSL:
            return StepResult(SKIPPED, "not needed: the connection is TLS from the start (implicit TLS)")
        if security is Security.NONE:
            if offered:
                return StepResult(WARN, "offered but not used, because security is 'none': "
                                        "choose STARTTLS to encrypt this connection")
            return StepResult(SKIPPED, "not offered, and not used (security is 'none')")
        if not offered:
            raise StepFailed(
                "the server does not offer STARTTLS, so the connection cannot be encrypted; "
                "tamago will not continue unencrypted and did not send the password",
                category="starttls_unavailable",
            )
        return None

    def starttls_dance(self, conn: Conn) -> None:
        """Plain-text exchange up to the point the handshake starts (for the certificate peek)."""
        raise NotImplementedError

    # -- steps ---------------------------------------------------------------

    def step_dns(self, deadline: Deadline) -> StepResult:
        via = f" via {self.nameserver}" if self.nameserver else ""
        self.addresses = resolve(self.host, nameserver=self.nameserver, timeout=deadline.remaining())
        if self.addresses == [self.host.strip("[]")]:
            return StepResult(OK, f"{self.host} is an address; no lookup needed", {"addresses": self.addresses})
        return StepResult(OK, f"{self.host}{via} -> {', '.join(self.addresses)}", {"addresses": self.addresses})

    def step_tcp(self, deadline: Deadline) -> StepResult:
        try:
            sock, info = open_tcp(self.addresses, self.settings.port, deadline)
        except WireError as exc:
            if exc.category == "connection_refused":
                exc.message += f": nothing listens on port {self.settings.port}, or a firewall rejects it"
            raise
        self.conn = Conn(sock, self.host)
        detail = f"connected to {_hostport(info.address, info.port)} in {info.elapsed_ms:.1f} ms"
        data = {"address": info.address, "port": info.port, "elapsed_ms": round(info.elapsed_ms, 1)}
        if info.failures:
            return StepResult(WARN, f"{detail} (failed first: {'; '.join(info.failures)})", data)
        return StepResult(OK, detail, data)

    def step_tls(self, deadline: Deadline) -> StepResult:
        if self.settings.security is Security.NONE:
            return StepResult(
                WARN,
                "not encrypted: security is 'none' as chosen, so everything, the password included, "
                "crosses the network in clear text",
            )
        assert self.conn is not None
        try:
            context = tls_mod.checked_context(cafile=self.cafile, pinned_sha256=self.settings.pinned_sha256)
        except tls_mod.TlsSetupError as exc:
            raise StepFailed(exc.message, category=exc.category) from exc
        try:
            sock = self.conn.start_tls(context)
        except tls_mod.PinMismatchError as exc:
            self.close()
            info = tls_mod.describe_certificate(exc.der) if exc.der else None
            detail = str(exc)
            if info:
                detail += f"; presented: {info.summary(self.host)}"
            raise StepFailed(detail, category="certificate_invalid",
                             data={"sha256": exc.actual, "certificate": info}) from exc
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise self._untrusted(exc) from exc
        except ssl.SSLError as exc:
            self.close()
            raise StepFailed(self._handshake_hint(exc), category="tls_mismatch") from exc
        except StepTimeout as exc:
            self.close()
            raise StepFailed(f"{exc.message}{self._silence_hint()}", category="timeout") from exc
        except OSError as exc:
            self.close()
            raise StepFailed(f"connection lost during the TLS handshake: {exc.strerror or exc}",
                             category="tls_mismatch") from exc
        self.tls_info = tls_mod.session_info(sock)
        data = {"tls": self.tls_info, "sha256": self.tls_info.certificate.sha256 if self.tls_info.certificate else ""}
        detail = self.tls_info.summary(self.host)
        cert = self.tls_info.certificate
        if cert is not None and cert.days_left() < tls_mod.EXPIRY_WARNING_DAYS:
            return StepResult(WARN, f"{detail}; the certificate expires in {cert.days_left()} days", data)
        return StepResult(OK, detail, data)

    # -- helpers -------------------------------------------------------------

    def _untrusted(self, exc: ssl.SSLCertVerificationError) -> StepFailed:
        reason = tls_mod.verification_reason(exc)
        der = self.peek_certificate_der()
        if der is None:
            return StepFailed(
                f"certificate not trusted: {reason}; the certificate could not be read for display",
                category="certificate_invalid",
            )
        info = tls_mod.describe_certificate(der)
        detail = (
            f"certificate not trusted: {reason}; {info.summary(self.host)}. "
            "If you trust this server, pin that SHA-256 fingerprint for this account"
        )
        return StepFailed(detail, category="certificate_invalid", data={"sha256": info.sha256, "certificate": info})

    def peek_certificate_der(self) -> bytes | None:
        """Second, non-verifying handshake: only to read the certificate. Sends no credentials."""
        deadline = Deadline(self.timeout)
        try:
            sock, _ = open_tcp(self.addresses, self.settings.port, deadline)
        except WireError:
            return None
        conn = Conn(sock, self.host)
        conn.set_deadline(deadline)
        try:
            if self.settings.security is Security.STARTTLS:
                self.starttls_dance(conn)
            tls_sock = conn.start_tls(tls_mod.reading_context())
            return tls_sock.getpeercert(binary_form=True)
        except (WireError, OSError, StepFailed):
            return None
        finally:
            conn.close()

    def _handshake_hint(self, exc: ssl.SSLError) -> str:
        reason = exc.reason or str(exc)
        text = f"TLS handshake failed: {reason}"
        if "WRONG_VERSION_NUMBER" in str(reason).upper() or "wrong version" in str(exc).lower():
            text += (
                f" (port {self.settings.port} does not seem to speak TLS right away; "
                "if it expects STARTTLS or plain text, change the security setting)"
            )
        elif "UNSUPPORTED_PROTOCOL" in str(reason).upper() or "VERSION" in str(reason).upper():
            text += " (the server may only offer TLS versions older than 1.2, which tamago refuses)"
        return text

    def _silence_hint(self) -> str:
        if self.settings.security is not Security.SSL and self.settings.port in IMPLICIT_TLS_PORTS:
            return f" (port {self.settings.port} usually expects TLS right away: try security SSL/TLS)"
        if self.settings.security is Security.SSL and self.settings.port in PLAIN_PORTS:
            return f" (port {self.settings.port} usually expects STARTTLS: try security STARTTLS)"
        return ""

    def greeting_timeout(self, exc: StepTimeout) -> StepFailed:
        return StepFailed(f"no greeting: {exc.message}{self._silence_hint()}", category="timeout")


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def oauth_blob(mechanism: str, user: str, token: str, host: str, port: int) -> bytes:
    """The SASL initial response for XOAUTH2 or OAUTHBEARER (RFC 7628), from sasl.py."""
    return initial_response(mechanism, user, token, host, port)


def require_password_safe(settings: ServerSettings, conn: Conn | None) -> None:
    """The last guard before a credential is written to a socket."""
    if conn is None:
        raise StepFailed("not connected", category="unknown")
    if not conn.tls and settings.security is not Security.NONE:
        # Unreachable by design (STARTTLS failures stop the run); kept as a tripwire.
        raise StepFailed("refusing to send a password over an unencrypted connection",
                         category="starttls_unavailable")

