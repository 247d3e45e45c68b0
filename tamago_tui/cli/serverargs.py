"""Server options shared by `tamago doctor` and `tamago accounts add`, and reading the password.

Passwords come from stdin (`--password-stdin`) or an interactive prompt, never argv.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass

from tamago_tui.backend.errors import UsageError
from tamago_tui.backend.log import register_secret
from tamago_tui.backend.models import DEFAULT_PORTS, Protocol, Security, ServerSettings
from tamago_tui.backend.resolver import parse_nameserver
from tamago_tui.backend.tls import is_valid_fingerprint, normalize_fingerprint

from .output import read_password_stdin

SECURITY_CHOICES = [s.value for s in Security]
_PORT_SECURITY = {
    Protocol.IMAP: {993: Security.SSL, 143: Security.STARTTLS},
    Protocol.SMTP: {465: Security.SSL, 587: Security.STARTTLS, 25: Security.STARTTLS, 2525: Security.STARTTLS},
}
_DEFAULT_SECURITY = {Protocol.IMAP: Security.SSL, Protocol.SMTP: Security.STARTTLS}


def _port(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return value


def add_server_options(parser, *, password_help: str) -> None:
    group = parser.add_argument_group("server settings (looked up from the address when left out)")
    group.add_argument("--imap-host", metavar="H", help="IMAP server host name or address")
    group.add_argument("--imap-port", metavar="P", type=_port, help="IMAP port (default from the security: 993 or 143)")
    group.add_argument("--imap-security", choices=SECURITY_CHOICES, help="ssl (implicit TLS), starttls or none")
    group.add_argument("--smtp-host", metavar="H", help="SMTP submission server host name or address")
    group.add_argument("--smtp-port", metavar="P", type=_port, help="SMTP port (default from the security: 465 or 587)")
    group.add_argument("--smtp-security", choices=SECURITY_CHOICES, help="ssl (implicit TLS), starttls or none")
    group.add_argument("--username", metavar="U", help="login name (default: the address)")
    group.add_argument("--smtp-username", metavar="U", help="SMTP login name (default: the IMAP one)")
    group.add_argument("--cafile", metavar="PEM", help="also trust the CA certificates in this PEM file")
    group.add_argument("--imap-pin", metavar="SHA256",
                       help="trust exactly this IMAP server certificate (its SHA-256 fingerprint)")
    group.add_argument("--smtp-pin", metavar="SHA256",
                       help="trust exactly this SMTP server certificate (its SHA-256 fingerprint)")
    group.add_argument("--nameserver", metavar="HOST[:PORT]", help="DNS server for lookups (default: the system's)")
    group.add_argument("--timeout", metavar="SECONDS", type=_seconds, help="deadline for each step (default from settings)")
    parser.add_argument("--password-stdin", action="store_true", help=password_help)


def check_address(address: str) -> str:
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "." not in domain.strip("."):
        raise UsageError(f"{address!r} is not an email address.")
    return address


@dataclass(frozen=True)
class Endpoints:
    imap: ServerSettings | None
    smtp: ServerSettings | None
    provider: str = "custom"
    # Where missing hosts came from: "" (all given as options), "preset", "srv", "mx"...
    source: str = ""
    confidence: str = ""

    def describe(self) -> str:
        parts = [f"{p.upper()} {s.host}:{s.port} {s.security.value}" for p, s in (("imap", self.imap),
                                                                                  ("smtp", self.smtp)) if s]
        how = f" (looked up: {self.source}" + (f", {self.confidence} confidence)" if self.confidence else ")")
        return "Servers: " + ", ".join(parts) + (how if self.source else "")


def _security_and_port(protocol: Protocol, security: str | None, port: int | None,
                       found: ServerSettings | None = None) -> tuple[Security, int]:
    if security:
        sec = Security(security)
        return sec, port or DEFAULT_PORTS[(protocol, sec)]
    if port:
        return _PORT_SECURITY[protocol].get(port, _DEFAULT_SECURITY[protocol]), port
    if found is not None and found.port:
        return found.security, found.port
    sec = _DEFAULT_SECURITY[protocol]
    return sec, DEFAULT_PORTS[(protocol, sec)]


def _pin(text: str | None, option: str) -> str:
    if not text:
        return ""
    if not is_valid_fingerprint(text):
        raise UsageError(f"{option}: {text!r} is not a SHA-256 fingerprint (64 hex digits).")
    return normalize_fingerprint(text)


def _preset(provider_id: str | None, address: str):
    from tamago_tui.backend import providers
    from tamago_tui.backend.errors import NotFound

    if provider_id:
        try:
            return providers.get(provider_id)
        except NotFound as exc:
            raise UsageError(str(exc)) from exc
    return providers.for_email(address)


def _lookup(address: str, nameserver: str, preset) -> tuple[ServerSettings | None, ServerSettings | None, str, str, str]:
    """(imap, smtp, provider, source, confidence) for an address whose hosts were not given."""
    from tamago_tui.backend import providers
    from tamago_tui.backend.discovery import lookup

    if preset is not None and preset.has_servers:
        imap, smtp = providers.fill(preset, address)
        return imap, smtp, preset.id, "preset", "high"
    result = lookup(address, nameserver=nameserver)
    if not result.found:
        raise UsageError(f"{result.message} Then give them with --imap-host and --smtp-host.")
    return result.imap, result.smtp, result.provider, result.source or "", result.confidence or ""


def endpoints(args, address: str, *, want_imap: bool = True, want_smtp: bool = True, nameserver: str = "",
              provider: str | None = None) -> Endpoints:
    """ServerSettings from the options; hosts left out come from the preset or a lookup."""
    if args.cafile and not os.path.isfile(args.cafile):
        raise UsageError(f"--cafile: no such file: {args.cafile}")
    if args.cafile:
        from tamago_tui.backend.tls import TlsSetupError, checked_context

        try:
            checked_context(cafile=args.cafile)
        except TlsSetupError as exc:
            raise UsageError(f"--cafile: {exc}") from None
    if nameserver:
        parse_nameserver(nameserver)  # a UsageError now rather than a failed DNS step later
    preset = _preset(provider, address)
    provider_id = preset.id if preset is not None else "custom"
    missing = [p for p, want, host in (("imap", want_imap, args.imap_host), ("smtp", want_smtp, args.smtp_host))
               if want and not host]
    found: dict[str, ServerSettings | None] = {"imap": None, "smtp": None}
    source = confidence = ""
    if missing:
        found["imap"], found["smtp"], provider_id, source, confidence = _lookup(address, nameserver, preset)
        unknown = [p for p in missing if found[p] is None or not found[p].host]
        if unknown:
            raise UsageError(f"The {unknown[0].upper()} server of {address} could not be looked up: "
                             f"give --{unknown[0]}-host (ask your email administrator for it).")
    username = args.username or (found["imap"].username if found["imap"] and found["imap"].username else address)
    smtp_username = args.smtp_username or args.username or (
        found["smtp"].username if found["smtp"] and found["smtp"].username else username)
    result = {}
    for protocol, want, host, port, security, user, pin in (
        (Protocol.IMAP, want_imap, args.imap_host, args.imap_port, args.imap_security, username, args.imap_pin),
        (Protocol.SMTP, want_smtp, args.smtp_host, args.smtp_port, args.smtp_security, smtp_username, args.smtp_pin),
    ):
        if not want:
            result[protocol] = None
            continue
        base = found[protocol.value] if not host else None
        sec, port = _security_and_port(protocol, security, port, base)
        result[protocol] = ServerSettings(host=(host or base.host).strip(), port=port, security=sec, username=user,
                                          pinned_sha256=_pin(pin, f"--{protocol.value}-pin"))
    return Endpoints(result[Protocol.IMAP], result[Protocol.SMTP], provider_id, source, confidence)


def read_password(args, address: str, *, prompt_note: str = "") -> str | None:
    """From stdin with --password-stdin, else a prompt when stdin is a terminal, else none."""
    if args.password_stdin:
        secret = read_password_stdin()
    elif sys.stdin is not None and sys.stdin.isatty():
        try:
            secret = getpass.getpass(f"Password for {address}{prompt_note}: ")
        except EOFError:
            secret = ""
    else:
        return None
    register_secret(secret)
    return secret or None
