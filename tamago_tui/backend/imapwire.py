"""A lean IMAP command channel for bulk work, on top of a logged-in connection.

Login, TLS and error translation belong to the connection code; this class
takes the already authenticated socket and runs the commands the header index
needs, reading raw responses itself because that is where the time goes:
imapclient's parsed ENVELOPE fetch of 100,000 messages takes 16 s, the raw
bytes 1.4 s.

It also enforces what a generic client does not:
- every command has a deadline, extended only by bytes that actually arrive
  (at `min_rate` bytes per second), so a server that trickles cannot hang us;
- a literal larger than `max_literal` is refused before anything is allocated,
  and the connection is then dropped, since its stream is no longer in step;
- a literal can be streamed to a file instead of memory (message bodies);
- `commands` and `round_trips` count what was sent, for tests and the benchmark.

Not thread-safe: one Wire belongs to one account worker at a time.
"""

from __future__ import annotations

import io
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterable, Iterator

from .errors import NetworkError, TamagoError
from .imap import LiteralTooLarge

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n?$")
_TAGGED = re.compile(rb"^(\S+) (OK|NO|BAD)\b ?(.*)", re.S)
MAX_LINE = 16 * 1024 * 1024


class CommandFailed(NetworkError):
    """The server answered NO or BAD."""

    category = "unknown"


@dataclass
class Response:
    """One untagged response: its text pieces, with each literal between two pieces.

    `pieces[i]` is the text before `literals[i]` (ending with the `{N}` marker);
    `pieces[-1]` is the text after the last literal. A literal streamed to a
    sink is recorded as None.
    """

    pieces: list[bytes]
    literals: list[bytes | None] = field(default_factory=list)

    @property
    def text(self) -> bytes:
        return b"".join(self.pieces)


@dataclass
class Result:
    status: str  # OK | NO | BAD
    text: bytes  # the tagged line after the status
    untagged: list[Response]


class _DeadlineReader(io.RawIOBase):
    """The socket, read against the current command's deadline."""

    def __init__(self, sock: socket.socket, timeout: float, min_rate: float):
        self.sock = sock
        self.timeout = timeout
        self.min_rate = min_rate
        self.deadline: float | None = None

    def apply(self, value: float) -> None:
        """Set the socket timeout; setting it is a system call, so only when it changes."""
        if self.sock.gettimeout() != value:
            self.sock.settimeout(value)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise NetworkError(
                    "The server is answering too slowly; the command ran past its deadline.",
                    category="timeout",
                )
            current = self.sock.gettimeout()
            if remaining < self.timeout:
                # Within half a second of the deadline is close enough: a full sync reads
                # thousands of TLS records, and re-arming the timeout for each one shows.
                if current is None or current <= 0 or remaining < current - 0.5:
                    self.sock.settimeout(remaining)
            elif current != self.timeout:
                self.sock.settimeout(self.timeout)
        try:
            count = self.sock.recv_into(buffer)
        except (socket.timeout, TimeoutError) as exc:
            raise NetworkError(
                f"The server stopped answering (no data for {self.timeout:g} s).", category="timeout"
            ) from exc
        if self.deadline is not None and count:
            self.deadline += count / self.min_rate
        return count


class Wire:
    """Raw commands over a logged-in imaplib connection (`client._imap` for imapclient)."""

    def __init__(
        self,
        imap,
        *,
        timeout: float = 20.0,
        max_literal: int = 64 * 1024 * 1024,
        min_rate: float = 64 * 1024,
        capabilities=None,
        owner=None,
    ):
        self.imap = imap
        self.owner = owner  # keeps the imapclient object alive (and lets us log out through it)
        self.timeout = timeout
        self.max_literal = max_literal
        self.reader = _DeadlineReader(imap.sock, timeout, min_rate)
        self.file = io.BufferedReader(self.reader, 256 * 1024)
        imap.file = self.file  # imaplib's own logout reads through the same buffer
        self.capabilities = {c.upper() for c in (capabilities or _imaplib_caps(imap))}
        self.commands = 0
        self.round_trips = 0
        self.broken = False
        self.selected: str | None = None
        self._tag = 0
        self.enabled: set[str] = set()

    # -- capabilities --------------------------------------------------

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    # -- sending and reading -------------------------------------------

    def _next_tag(self) -> bytes:
        self._tag += 1
        return b"tg%d" % self._tag

    def _send(self, data: bytes) -> None:
        if self.broken:
            raise NetworkError("The connection was closed after an earlier failure.", category="server_unavailable")
        try:
            self.reader.apply(self.timeout)
            self.imap.sock.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            self.broken = True
            raise _lost(exc) from exc

    def _readline(self) -> bytes:
        try:
            line = self.file.readline(MAX_LINE)
        except NetworkError:
            self.broken = True
            raise
        except (OSError, ssl.SSLError) as exc:
            self.broken = True
            raise _lost(exc) from exc
        if not line:
            self.broken = True
            raise NetworkError("The server closed the connection.", category="server_unavailable")
        if not line.endswith(b"\n"):
            self.broken = True
            if len(line) < MAX_LINE:
                raise NetworkError("The server closed the connection mid-response.", category="server_unavailable")
            raise NetworkError("The server sent an overlong response line.", category="unknown")
        return line

    def _read_exact(self, size: int, sink: BinaryIO | None) -> bytes | None:
        try:
            if sink is None:
                data = self.file.read(size)
                if len(data) != size:
                    raise NetworkError("The server closed the connection.", category="server_unavailable")
                return data
            left = size
            while left:
                chunk = self.file.read(min(left, 1024 * 1024))
                if not chunk:
                    raise NetworkError("The server closed the connection.", category="server_unavailable")
                sink.write(chunk)
                left -= len(chunk)
            return None
        except NetworkError:
            self.broken = True
            raise
        except (OSError, ssl.SSLError) as exc:
            self.broken = True
            raise _lost(exc) from exc

    def _read_response(self, sink_for: Callable[[bytes, int], BinaryIO | None] | None) -> tuple[bytes, Response]:
        """One whole response (a line plus any literals and continuation lines)."""
        line = self._readline()
        first = line
        response = Response(pieces=[])
        while True:
            match = _LITERAL.search(line, max(0, len(line) - 24))
            if not match:
                response.pieces.append(line.rstrip(b"\r\n"))
                return first, response
            size = int(match.group(1))
            if size > self.max_literal:
                self.broken = True
                self.close()
                raise LiteralTooLarge(
                    f"The server sent a {size / 1048576:.1f} MB item; the limit is "
                    f"{self.max_literal / 1048576:.0f} MB (setting max_literal_mb)."
                )
            prefix = line[: match.start()]
            response.pieces.append(prefix)
            sink = sink_for(prefix, size) if sink_for else None
            response.literals.append(self._read_exact(size, sink))
            line = self._readline()

    def _collect(
        self,
        tag: bytes,
        on_untagged: Callable[[Response], None] | None,
        sink_for=None,
    ) -> Result:
        untagged: list[Response] = []
        prefix = tag + b" "
        while True:
            first, response = self._read_response(sink_for)
            if first.startswith(prefix):
                match = _TAGGED.match(response.text)
                status = match.group(2).decode() if match else "BAD"
                return Result(status, match.group(3) if match else response.text, untagged)
            if first.startswith(b"* BYE"):
                self.broken = True
                text = response.text[5:].decode("utf-8", "replace").strip()
                raise NetworkError(f"The server closed the connection: {text}", category="server_unavailable")
            if first.startswith(b"+"):
                continue  # not used: we send LITERAL+ or quoted strings only
            if on_untagged is not None:
                on_untagged(response)
            else:
                untagged.append(response)

    def run(
        self,
        command: bytes,
        *,
        on_untagged: Callable[[Response], None] | None = None,
        sink_for=None,
        check: bool = True,
    ) -> Result:
        """Send one command and wait for its completion (one round-trip)."""
        return self.pipeline([command], on_untagged=on_untagged, sink_for=sink_for, check=check)[0]

    def pipeline(self, commands: list[bytes], *, on_untagged=None, sink_for=None, check: bool = True) -> list[Result]:
        """Send several commands at once and read every answer: one round-trip in all."""
        tags = self.send(*commands)
        return [self.collect(tag, command, on_untagged=on_untagged, sink_for=sink_for, check=check)
                for tag, command in zip(tags, commands)]

    def send(self, *commands: bytes) -> list[bytes]:
        """Send commands without waiting; `collect()` each tag, in order, afterwards."""
        tags = [self._next_tag() for _ in commands]
        self._send(b"".join(tag + b" " + command + b"\r\n" for tag, command in zip(tags, commands)))
        self.commands += len(commands)
        self.round_trips += 1
        return tags

    def collect(self, tag: bytes, command: bytes = b"", *, on_untagged=None, sink_for=None, check: bool = True) -> Result:
        """Read up to `tag`'s completion, against a fresh deadline."""
        self.reader.deadline = time.monotonic() + self.timeout
        try:
            result = self._collect(tag, on_untagged, sink_for)
        finally:
            self.reader.deadline = None
        if check and result.status != "OK":
            verb = b" ".join(command.split(b" ", 2)[:2]).decode("ascii", "replace") or "a command"
            raise CommandFailed(
                f"The server refused {verb}: {result.text.decode('utf-8', 'replace').strip()}",
            )
        return result

    # -- helpers -------------------------------------------------------

    def close(self) -> None:
        try:
            self.imap.sock.close()
        except OSError:
            pass

    def logout(self) -> None:
        if not self.broken:
            try:
                self.reader.deadline = time.monotonic() + min(self.timeout, 5)
                tag = self._next_tag()
                self._send(tag + b" LOGOUT\r\n")
                self._collect(tag, lambda r: None)
            except (TamagoError, OSError):
                pass
        self.broken = True
        self.close()


def _imaplib_caps(imap) -> set[str]:
    caps = getattr(imap, "capabilities", ()) or ()
    return {c.decode() if isinstance(c, bytes) else str(c) for c in caps}


def _lost(exc: BaseException) -> NetworkError:
    return NetworkError(f"The connection to the server was lost ({exc}).", category="server_unavailable")


# -- formatting ---------------------------------------------------------


def quote(value: str | bytes) -> bytes:
    """An astring for a command: a quoted string (mailbox names are 7-bit after UTF-7)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if b"\r" in value or b"\n" in value or any(b > 127 for b in value):
        return b"{%d+}\r\n" % len(value) + value  # LITERAL+; only where the server offers it
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def uid_runs(uids: Iterable[int]) -> Iterator[tuple[int, int]]:
    """`[1, 2, 3, 7, 9, 10]` -> (1, 3), (7, 7), (9, 10) (sorted input)."""
    start = prev = None
    for uid in uids:
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            yield start, prev
            start = prev = uid
    if start is not None:
        yield start, prev


def uid_range(lo: int, hi: int) -> bytes:
    return b"%d" % lo if lo == hi else b"%d:%d" % (lo, hi)


def uid_ranges(uids: list[int]) -> bytes:
    """`[1, 2, 3, 7, 9, 10]` -> `1:3,7,9:10` (sorted input)."""
    return b",".join(uid_range(lo, hi) for lo, hi in uid_runs(uids))


def parse_sequence_set(text: bytes) -> list[int]:
    """`1:3,7` -> [1, 2, 3, 7]. For ESEARCH ALL results."""
    out: list[int] = []
    for part in text.split(b","):
        if not part:
            continue
        if b":" in part:
            a, b = part.split(b":", 1)
            lo, hi = sorted((int(a), int(b)))
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    return out
