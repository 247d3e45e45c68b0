"""Is there an IMAP or SMTP server here? A light probe for the lookup's last resort.

A probe connects, checks the greeting, asks for capabilities (IMAP
CAPABILITY, SMTP EHLO) and leaves politely. It never logs in and never sends
a password. On an implicit-TLS port it does the TLS handshake first; on a
STARTTLS port it requires STARTTLS to be offered and completes the upgrade,
so a server that would only talk in clear text is reported as unusable
rather than silently accepted. A certificate that fails verification ends the
probe at the handshake: the server is reported as found, with the problem,
and nothing is exchanged over the unverified channel.

The full step-by-step connection test lives in diagnostics; this module
only answers "does something that speaks the protocol live at host:port?".
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Callable

from .models import Security

MAX_LINE = 8192
MAX_LINES = 200


class ProbeFailed(Exception):
    pass


@dataclass(frozen=True)
class ProbeResult:
    protocol: str  # "imap" | "smtp"
    host: str
    port: int
    security: Security
    address: str
    ok: bool
    detail: str
    capabilities: tuple[str, ...] = ()
    certificate_problem: str = ""
    greeting: str = field(default="", compare=False)


class _Lines:
    """Reads CRLF lines from a socket within an overall deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def set_socket(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def line(self) -> str:
        while b"\n" not in self.buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise ProbeFailed("timed out waiting for the server")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                raise ProbeFailed("timed out waiting for the server") from None
            if not chunk:
                raise ProbeFailed("the server closed the connection")
            self.buffer += chunk
            if len(self.buffer) > MAX_LINE and b"\n" not in self.buffer:
                raise ProbeFailed("the server sent an overlong line")
        raw, _, self.buffer = self.buffer.partition(b"\n")
        return raw.rstrip(b"\r").decode("utf-8", "replace")

    def send(self, text: str) -> None:
        self.sock.settimeout(max(0.05, self.deadline - time.monotonic()))
        self.sock.sendall(text.encode("ascii") + b"\r\n")


def _connect(address: str, port: int, deadline: float) -> socket.socket:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProbeFailed("no time left to connect")
    try:
        return socket.create_connection((address, port), timeout=remaining)
    except socket.timeout:
        raise ProbeFailed("timed out connecting") from None
    except OSError as exc:
        raise ProbeFailed(exc.strerror or str(exc)) from None


def _wrap(sock: socket.socket, host: str, context: ssl.SSLContext, deadline: float) -> socket.socket:
    sock.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError:
        raise
    except (ssl.SSLError, OSError) as exc:
        raise ProbeFailed(f"no TLS here ({exc})") from None


def _wrong_service(greeting: str, expected: str) -> str:
    g = greeting.upper()
    if expected != "imap" and g.startswith("* OK"):
        return "an IMAP server answers instead"
    if expected != "smtp" and g[:3] in ("220", "554", "421"):
        return "an SMTP server answers instead"
    if g.startswith("+OK"):
        return "a POP3 server answers instead"
    if g.startswith("HTTP/") or g.startswith("SSH-"):
        return "another kind of server answers"
    return ""


def _imap_session(lines: _Lines) -> list[str]:
    greeting = lines.line()
    if not greeting.upper().startswith(("* OK", "* PREAUTH")):
        problem = _wrong_service(greeting, "imap") or f"unexpected greeting {greeting[:80]!r}"
        raise ProbeFailed(problem)
    return [greeting]


def _imap_capabilities(lines: _Lines, tag: str) -> tuple[str, ...]:
    lines.send(f"{tag} CAPABILITY")
    caps: list[str] = []
    for _ in range(MAX_LINES):
        line = lines.line()
        upper = line.upper()
        if upper.startswith("* CAPABILITY"):
            caps += line.split()[2:]
        elif upper.startswith(tag.upper() + " "):
            if " OK" not in upper[: len(tag) + 4]:
                raise ProbeFailed(f"CAPABILITY refused: {line[:80]}")
            return tuple(c.upper() for c in caps)
    raise ProbeFailed("no end to the CAPABILITY response")


class _Session:
    """The probe's connection: its line reader, and the STARTTLS upgrade in place."""

    def __init__(self, sock: socket.socket, host: str, context: ssl.SSLContext, deadline: float):
        self.sock, self.host, self.context, self.deadline = sock, host, context, deadline
        self.lines = _Lines(sock, deadline)

    def upgrade(self) -> None:
        self.sock = _wrap(self.sock, self.host, self.context, self.deadline)
        self.lines.set_socket(self.sock)


# What a protocol's conversation reports: (ok, detail, capabilities, greeting).
Outcome = tuple[bool, str, tuple[str, ...], str]


def _probe(protocol: str, host: str, address: str, port: int, security: Security, timeout: float,
           context: ssl.SSLContext, converse: Callable[["_Session", Security], Outcome]) -> ProbeResult:
    """Connect (TLS first for implicit TLS) within one deadline, let `converse` talk, always close."""
    deadline = time.monotonic() + timeout

    def result(ok: bool, detail: str, caps=(), cert="", greeting="") -> ProbeResult:
        return ProbeResult(protocol, host, port, security, address, ok, detail, tuple(caps), cert, greeting)

    sock = session = None
    try:
        sock = _connect(address, port, deadline)
        if security is Security.SSL:
            sock = _wrap(sock, host, context, deadline)
        session = _Session(sock, host, context, deadline)
        ok, detail, caps, greeting = converse(session, security)
        return result(ok, detail, caps, greeting=greeting)
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
        return result(True, f"{protocol.upper()} over TLS answered, but its certificate is not trusted",
                      cert=reason)
    except (ProbeFailed, OSError) as exc:
        return result(False, str(exc) or type(exc).__name__)
    finally:
        live = session.sock if session is not None else sock
        if live is not None:
            live.close()


def _converse_imap(session: _Session, security: Security) -> Outcome:
    lines = session.lines
    greeting = _imap_session(lines)[0]
    caps = _imap_capabilities(lines, "t1")
    if security is Security.STARTTLS:
        if "STARTTLS" not in caps:
            return False, "the server does not offer STARTTLS", caps, greeting
        lines.send("t2 STARTTLS")
        reply = lines.line()
        while reply.startswith("*"):
            reply = lines.line()
        if not reply.upper().startswith("T2 OK"):
            return False, f"STARTTLS refused: {reply[:80]}", caps, greeting
        session.upgrade()
        caps = _imap_capabilities(lines, "t3")
    if "IMAP4REV1" not in caps and "IMAP4REV2" not in caps:
        return False, "the server does not announce IMAP4rev1", caps, greeting
    try:
        lines.send("t9 LOGOUT")
    except OSError:
        pass
    return True, "IMAP server answered", caps, greeting


def probe_imap(
    host: str, address: str, port: int, security: Security, *, timeout: float, context: ssl.SSLContext
) -> ProbeResult:
    return _probe("imap", host, address, port, security, timeout, context, _converse_imap)


def _smtp_reply(lines: _Lines) -> tuple[int, list[str]]:
    texts = []
    for _ in range(MAX_LINES):
        line = lines.line()
        code, sep, text = line[:3], line[3:4], line[4:]
        if not code.isdigit():
            problem = _wrong_service(line, "smtp") or f"unexpected reply {line[:80]!r}"
            raise ProbeFailed(problem)
        texts.append(text)
        if sep != "-":
            return int(code), texts
    raise ProbeFailed("no end to the SMTP reply")


def _ehlo(lines: _Lines, sock: socket.socket) -> tuple[str, ...]:
    local = sock.getsockname()[0]
    literal = f"[IPv6:{local}]" if ":" in local else f"[{local}]"
    lines.send(f"EHLO {literal}")
    code, texts = _smtp_reply(lines)
    if code != 250:
        raise ProbeFailed(f"EHLO refused ({code} {texts[0][:60] if texts else ''})")
    return tuple(t.split()[0].upper() for t in texts[1:] if t.split())


def _converse_smtp(session: _Session, security: Security) -> Outcome:
    lines = session.lines
    code, texts = _smtp_reply(lines)
    greeting = f"{code} {texts[0] if texts else ''}"
    if code != 220:
        return False, f"the server refused the session: {greeting[:80]}", (), greeting
    caps = _ehlo(lines, session.sock)
    if security is Security.STARTTLS:
        if "STARTTLS" not in caps:
            return False, "the server does not offer STARTTLS", caps, greeting
        lines.send("STARTTLS")
        code, texts = _smtp_reply(lines)
        if code != 220:
            return False, f"STARTTLS refused ({code})", caps, greeting
        session.upgrade()
        caps = _ehlo(lines, session.sock)
    try:
        lines.send("QUIT")
    except OSError:
        pass
    return True, "SMTP server answered", caps, greeting


def probe_smtp(
    host: str, address: str, port: int, security: Security, *, timeout: float, context: ssl.SSLContext
) -> ProbeResult:
    return _probe("smtp", host, address, port, security, timeout, context, _converse_smtp)
