"""Raw sockets with deadlines, for the step-by-step connection test.

imapclient and aiosmtplib hide the moments a support person needs to see (the
greeting, STARTTLS, the handshake), and their timeouts are per read: a server
that trickles one byte a second never trips them. Here every operation runs
against a `Deadline`, and each read waits at most the time that is left, so a
silent or trickling server fails at the step it stalls in.

Failures are `WireError`s carrying a troubleshooting category; the checks
turn them into failed steps.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from .errors import NetworkError

MAX_LINE = 64 * 1024


class WireError(NetworkError):
    """A failure at the socket level, already categorised."""


class StepTimeout(WireError):
    category = "timeout"
    title = "Timed out"


class Deadline:
    """A point in time a step must finish by."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self, what: str = "the server") -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise StepTimeout(f"no complete answer from {what} within {self.seconds:g} s")
        return left


# -- name resolution -----------------------------------------------------


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _resolve_with(nameserver: str, host: str, timeout: float) -> list[str]:
    from .resolver import DnsTimeout, Resolver

    resolver = Resolver(nameserver, timeout=timeout)
    try:
        addresses = resolver.addresses(host, timeout=timeout)
    except DnsTimeout as exc:
        raise WireError(f"{host}: DNS lookup via {nameserver} timed out", category="dns_failure") from exc
    except NetworkError as exc:  # SERVFAIL, REFUSED, a malformed name...
        raise WireError(f"{host}: {exc.message}", category="dns_failure") from exc
    if not addresses:
        raise WireError(f"{host}: no such host (no address records at {nameserver})", category="dns_failure")
    return addresses


def _system_resolve(host: str, timeout: float, port: int | None = None) -> list[str]:
    """getaddrinfo has no timeout of its own: run it in a thread and stop waiting."""
    result: dict = {}

    def work():
        try:
            result["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            result["error"] = exc

    thread = threading.Thread(target=work, name="tamago-resolve", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise WireError(f"{host}: DNS lookup timed out after {timeout:g} s", category="dns_failure")
    if "error" in result:
        exc = result["error"]
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        raise WireError(f"{host}: {reason}", category="dns_failure") from exc
    seen: list[str] = []
    for info in result["infos"]:
        address = info[4][0]
        if address not in seen:
            seen.append(address)
    return seen


def resolve(host: str, *, nameserver: str = "", timeout: float = 10.0) -> list[str]:
    """The addresses of `host`, via `nameserver` (HOST[:PORT]) or the system resolver."""
    if is_ip(host):
        return [host.strip("[]")]
    if not host:
        raise WireError("no host name given", category="dns_failure")
    if nameserver:
        return _resolve_with(nameserver, host, timeout)
    return _system_resolve(host, timeout)


# -- connections ---------------------------------------------------------


@dataclass
class Connected:
    address: str
    port: int
    elapsed_ms: float
    failures: list[str]


def open_tcp(addresses: list[str], port: int, deadline: Deadline) -> tuple[socket.socket, Connected]:
    """Connect to the first address that answers, all within the deadline."""
    failures: list[str] = []
    last: WireError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        started = time.monotonic()
        try:
            sock.settimeout(deadline.remaining(f"{address}:{port}"))
            sock.connect((address, port))
        except StepTimeout:
            sock.close()
            raise
        except (socket.timeout, TimeoutError) as exc:
            sock.close()
            last = WireError(f"connecting to {_hostport(address, port)} timed out", category="timeout")
            failures.append(f"{_hostport(address, port)} timed out")
            last.__cause__ = exc
            continue
        except ConnectionRefusedError as exc:
            sock.close()
            last = WireError(f"{_hostport(address, port)} refused the connection", category="connection_refused")
            failures.append(f"{_hostport(address, port)} refused")
            last.__cause__ = exc
            continue
        except OSError as exc:
            sock.close()
            last = WireError(
                f"cannot reach {_hostport(address, port)}: {exc.strerror or exc}", category="connection_refused"
            )
            failures.append(f"{_hostport(address, port)}: {exc.strerror or exc}")
            last.__cause__ = exc
            continue
        elapsed = (time.monotonic() - started) * 1000
        return sock, Connected(address, port, elapsed, failures)
    if last is None:
        raise WireError("no address to connect to", category="dns_failure")
    if len(failures) > 1:
        last.message = "; ".join(failures)
    raise last


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class Conn:
    """A line-oriented connection whose every read and write honours the current deadline."""

    def __init__(self, sock: socket.socket, server_hostname: str):
        self.sock: socket.socket = sock
        self.server_hostname = server_hostname
        self.deadline = Deadline(30.0)
        self._buf = bytearray()

    @property
    def tls(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def local_address(self) -> str:
        return self.sock.getsockname()[0]

    def set_deadline(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def _fill(self) -> None:
        self.sock.settimeout(self.deadline.remaining())
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError) as exc:
            raise StepTimeout(f"the server sent nothing more within {self.deadline.seconds:g} s") from exc
        except ssl.SSLError as exc:
            raise WireError(f"TLS error while reading: {exc.reason or exc}", category="tls_mismatch") from exc
        except OSError as exc:
            raise WireError(f"connection lost: {exc.strerror or exc}", category="server_unavailable") from exc
        if not chunk:
            raise WireError("the server closed the connection", category="server_unavailable")
        self._buf += chunk

    def readline(self, limit: int = MAX_LINE) -> bytes:
        """One line including its CRLF."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                return line
            if len(self._buf) > limit:
                raise WireError(f"a line longer than {limit} bytes from the server", category="unknown")
            self._fill()
            self.deadline.remaining()  # a trickling server runs out of time here

    def read_exact(self, size: int) -> bytes:
        while len(self._buf) < size:
            self._fill()
            self.deadline.remaining()
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.remaining())
        try:
            self.sock.sendall(data)
        except (socket.timeout, TimeoutError) as exc:
            raise StepTimeout("the server stopped accepting data") from exc
        except OSError as exc:
            raise WireError(f"connection lost while sending: {exc.strerror or exc}", category="server_unavailable") from exc

    def start_tls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        """Handshake within the deadline (non-blocking, so a slow server cannot stretch it)."""
        if self._buf:
            # Bytes the server sent before the handshake would be read as if they were
            # protected (the STARTTLS injection flaw). Refuse rather than guess.
            raise WireError(
                "the server sent unexpected data before the TLS handshake", category="unknown"
            )
        raw = self.sock
        raw.setblocking(False)
        tls_sock = context.wrap_socket(raw, server_hostname=self.server_hostname, do_handshake_on_connect=False)
        self.sock = tls_sock  # owns the file descriptor now, so close() closes it
        while True:
            try:
                tls_sock.do_handshake()
                break
            except ssl.SSLWantReadError:
                ready = select.select([tls_sock], [], [], self.deadline.remaining("the TLS handshake"))
            except ssl.SSLWantWriteError:
                ready = select.select([], [tls_sock], [], self.deadline.remaining("the TLS handshake"))
            if not any(ready):
                raise StepTimeout(f"the TLS handshake did not finish within {self.deadline.seconds:g} s")
        tls_sock.setblocking(True)
        return tls_sock

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# -- an overall deadline for library calls -------------------------------------


class Watchdog:
    """An overall deadline for blocking library code (imapclient) that only has per-read timeouts.

    `watch()` each socket the code opens; when the deadline passes, the watchdog
    shuts the sockets down, so whatever read or write is blocked ends at once, and
    `expired` tells the caller that this, not the server, ended it. It holds its own
    duplicate of each descriptor: the shutdown still reaches the connection after
    the library wraps the socket in TLS (which detaches the original object).
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._done = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.name = "tamago-watchdog"

    def __enter__(self) -> "Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.finish()

    def remaining(self) -> float:
        """Seconds left (never below a tiny positive value, so it can be a socket timeout)."""
        return max(0.01, self.end - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        try:
            dup = sock.dup()
        except OSError:
            return
        with self._lock:
            if self.expired:
                _shutdown(dup)
            self._socks.append(dup)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._socks:
                _shutdown(sock)

    def finish(self) -> bool:
        """Stop watching. True when the work finished in time (the deadline never fired)."""
        self._timer.cancel()
        with self._lock:
            self._done = True
            socks, self._socks = self._socks, []
        for sock in socks:
            try:
                sock.close()
            except OSError:
                pass
        return not self.expired


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def open_with_deadline(host: str, port: int, timeout: float, watchdog: Watchdog | None = None,
                       nameserver: str = "") -> socket.socket:
    """`socket.create_connection`, but the name lookup has a timeout too (getaddrinfo has
    none of its own), goes to `nameserver` when one is set (the `nameserver` setting, as
    the connection test's lookup does), and the socket is handed to `watchdog` before
    anything is read from it."""
    budget = min(timeout, watchdog.remaining()) if watchdog else timeout
    addresses = resolve(host, nameserver=nameserver, timeout=budget)
    last: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if watchdog:
                watchdog.watch(sock)
            sock.settimeout(min(timeout, watchdog.remaining()) if watchdog else timeout)
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            last = exc
            if watchdog and watchdog.expired:
                break
    raise last if last is not None else WireError(f"{host}: no address to connect to", category="dns_failure")
