"""TLS for every mail connection: verified contexts, certificate pinning, certificate facts.

- `client_context()` is what every connection uses: the system trust store plus an
  optional account CA file, TLS 1.2 or newer, hostname checking on.
- With a pinned SHA-256 fingerprint the context accepts exactly that leaf
  certificate (even self-signed or for another name) and nothing else; the pin
  is checked inside the handshake, before any byte of the mail protocol (let
  alone a password) goes over the connection.
- `describe_certificate()` turns a DER certificate into the facts a person needs
  to decide whether to trust it. Reading an *untrusted* certificate needs a
  second handshake with `reading_context()`; that context never verifies, so it
  is only ever used to display or pin a certificate, never to send credentials.

There is deliberately no "ignore certificate errors" switch anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone


from .errors import NetworkError

MIN_VERSION = ssl.TLSVersion.TLSv1_2
# A certificate this close to its expiry date gets a warning in the connection test.
EXPIRY_WARNING_DAYS = 14


def normalize_fingerprint(text: str) -> str:
    """`AB:CD:..`, `ab cd ..` or `sha256:abcd..` -> lower-case hex without separators."""
    value = (text or "").strip().lower()
    for prefix in ("sha256:", "sha-256:", "sha256 ", "sha-256 "):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    value = "".join(ch for ch in value if ch not in ": \t")
    return value


def is_valid_fingerprint(text: str) -> bool:
    value = normalize_fingerprint(text)
    return len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


def fingerprint(der: bytes) -> str:
    """SHA-256 of the DER certificate, lower-case hex: the format `pinned_sha256` stores."""
    return hashlib.sha256(der).hexdigest()


class PinMismatchError(ssl.SSLCertVerificationError):
    """The server presented a certificate other than the pinned one."""

    def __init__(self, expected: str, der: bytes | None):
        self.expected = expected
        self.der = der or b""
        self.actual = fingerprint(der) if der else ""
        got = self.actual or "no certificate"
        super().__init__(f"certificate does not match the pinned SHA-256 fingerprint (pinned {expected}, presented {got})")
        self.verify_message = "pinned certificate mismatch"
        self.reason = "PINNED_CERTIFICATE_MISMATCH"


def _check_pin(context: ssl.SSLContext, der: bytes | None) -> None:
    expected = getattr(context, "pinned_sha256", "")
    if not der or fingerprint(der) != expected:
        raise PinMismatchError(expected, der)


class _PinnedSSLSocket(ssl.SSLSocket):
    """Blocking sockets (imapclient, the connection test): check the pin when the handshake ends."""

    def do_handshake(self, block=False):
        super().do_handshake(block)
        _check_pin(self.context, self.getpeercert(binary_form=True))


class _PinnedSSLObject(ssl.SSLObject):
    """asyncio transports (aiosmtplib): the same check, on the memory-BIO object."""

    def do_handshake(self):
        super().do_handshake()
        _check_pin(self.context, self.getpeercert(binary_form=True))


class PinnedContext(ssl.SSLContext):
    """Trusts one leaf certificate by its SHA-256 fingerprint, regardless of CA and name.

    OpenSSL's own verification is off (the certificate may be self-signed or
    name another host); the socket classes above refuse every other certificate
    as soon as the handshake completes.
    """

    sslsocket_class = _PinnedSSLSocket
    sslobject_class = _PinnedSSLObject
    pinned_sha256 = ""


def client_context(*, cafile: str = "", pinned_sha256: str = "") -> ssl.SSLContext:
    """The context for a real connection (one that may carry a password)."""
    pin = normalize_fingerprint(pinned_sha256)
    if pin:
        if not is_valid_fingerprint(pin):
            raise ValueError(f"not a SHA-256 fingerprint: {pinned_sha256!r}")
        context = PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.pinned_sha256 = pin
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if cafile:
            # Adds to the system store (create_default_context(cafile=) would replace it).
            context.load_verify_locations(cafile=cafile)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = MIN_VERSION
    return context


class TlsSetupError(NetworkError):
    """The account's own TLS settings are unusable (a CA file that is not PEM, a bad pin)."""

    category = "certificate_invalid"
    title = "TLS setup problem"


def checked_context(*, cafile: str = "", pinned_sha256: str = "") -> ssl.SSLContext:
    """`client_context()`, with a problem in the account's settings explained."""
    try:
        return client_context(cafile=cafile, pinned_sha256=pinned_sha256)
    except ValueError as exc:
        raise TlsSetupError(f"The pinned certificate fingerprint is unusable: {exc}.") from exc
    except FileNotFoundError as exc:
        raise TlsSetupError(f"The CA file {cafile} does not exist.") from exc
    except ssl.SSLError as exc:
        raise TlsSetupError(
            f"The CA file {cafile} holds no usable CA certificate ({exc.reason or exc}); it must be "
            "PEM text (-----BEGIN CERTIFICATE-----)."
        ) from exc
    except OSError as exc:
        raise TlsSetupError(f"Cannot read the CA file {cafile}: {exc.strerror or exc}.") from exc


def reading_context() -> ssl.SSLContext:
    """A NON-verifying context, only to read a certificate for display or pinning.

    Never send anything but the handshake (and the plain-text STARTTLS dance
    before it) over a socket wrapped with this context.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = MIN_VERSION
    return context


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:  # pragma: no cover - undecodable attribute
        return repr(name)


def _common_name(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _dns_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    # RFC 6125: a wildcard only as the whole left-most label, matching exactly one label.
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:] and pattern.count("*") == 1
    return False


@dataclass(frozen=True)
class CertificateInfo:
    """What a certificate says about itself. Nothing here is verified."""

    subject: str
    issuer: str
    common_name: str
    san_dns: tuple[str, ...]
    san_ip: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    sha256: str

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def days_left(self, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        return (self.not_after - now).days

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(timezone.utc)) > self.not_after

    def matches_host(self, host: str) -> bool:
        """Does the SAN cover `host`? (No common-name fallback, like OpenSSL's check.)"""
        try:
            wanted = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return any(_dns_matches(name, host) for name in self.san_dns)
        return any(ipaddress.ip_address(ip) == wanted for ip in self.san_ip)

    @property
    def san(self) -> str:
        parts = [f"DNS:{n}" for n in self.san_dns] + [f"IP:{ip}" for ip in self.san_ip]
        return ", ".join(parts) if parts else "none"

    def summary(self, host: str, now: datetime | None = None) -> str:
        days = self.days_left(now)
        when = self.not_after.strftime("%Y-%m-%d")
        expiry = f"expired {when}" if days < 0 else f"expires {when} ({days} days)"
        match = "yes" if self.matches_host(host) else "NO"
        return (
            f"subject {self.subject or '(empty)'}; SAN {self.san}; issuer {self.issuer or '(empty)'}"
            f"{' (self-signed)' if self.self_signed else ''}; {expiry}; "
            f"hostname {host} matches: {match}; SHA-256 {self.sha256}"
        )


def describe_certificate(der: bytes) -> CertificateInfo:
    # cryptography loads only when a certificate is described (the connection test),
    # so a plain `tamago sync` starts faster.
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    cert = x509.load_der_x509_certificate(der)
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        dns = tuple(ext.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        pass
    return CertificateInfo(
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        common_name=_common_name(cert.subject),
        san_dns=dns,
        san_ip=ips,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=fingerprint(der),
    )


@dataclass(frozen=True)
class TlsInfo:
    """An established TLS session: protocol, cipher and the leaf certificate."""

    protocol: str
    cipher: str
    certificate: CertificateInfo | None
    # True: verified by a trusted CA and the hostname; False: accepted because it is pinned.
    verified: bool

    def summary(self, host: str) -> str:
        head = f"{self.protocol} {self.cipher}"
        if self.certificate is None:
            return f"{head}; no certificate"
        how = "verified" if self.verified else "accepted by its pinned fingerprint (not CA-verified)"
        return f"{head}; {how}; {self.certificate.summary(host)}"


def session_info(sock: ssl.SSLSocket | ssl.SSLObject) -> TlsInfo:
    der = sock.getpeercert(binary_form=True)
    cipher = sock.cipher()
    return TlsInfo(
        protocol=sock.version() or "?",
        cipher=cipher[0] if cipher else "?",
        certificate=describe_certificate(der) if der else None,
        verified=not isinstance(sock.context, PinnedContext),
    )


def verification_reason(exc: ssl.SSLError) -> str:
    """A short reason for a failed verification, e.g. 'self-signed certificate'."""
    if isinstance(exc, PinMismatchError):
        return str(exc)
    message = getattr(exc, "verify_message", "") or getattr(exc, "reason", "") or str(exc)
    return str(message)
