"""The IMAP checklist, spoken over our own socket so each step can be seen and timed out.

Only what the checks need is implemented: greeting, CAPABILITY, STARTTLS,
LOGIN / AUTHENTICATE, LIST and LOGOUT.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Iterator

from imapclient import imap_utf7

from ..imap import TEMPORARY_RETRY_SECONDS, is_temporary
from ..log import register_secret
from ..models import Security, ServerSettings
from ..wire import Conn, Deadline, StepTimeout, WireError
from . import steps as S
from .common import WireSession, oauth_blob, require_password_safe
from .steps import OK, SKIPPED, WARN, Step, StepFailed, StepResult

MAX_RESPONSE = 4 * 1024 * 1024
SPECIAL_USE = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash", "\\Important")
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n$")
_CAPABILITY_CODE = re.compile(r"\[CAPABILITY ([^\]]*)\]", re.IGNORECASE)
_TAGGED = re.compile(rb"^(\S+) (OK|NO|BAD)\b ?(.*?)\r?\n?$", re.IGNORECASE | re.DOTALL)


class ImapWire:
    """Tagged commands and responses (with literals) over a `Conn`."""

    def __init__(self, conn: Conn):
        self.conn = conn
        self.counter = 0

    def response(self) -> bytes:
        """One response, literals included: `... {5}\\r\\nhello ...\\r\\n`."""
        data = self.conn.readline()
        total = len(data)
        while (m := _LITERAL.search(data)) is not None and total < MAX_RESPONSE:
            size = int(m.group(1))
            if total + size > MAX_RESPONSE:
                raise WireError("an oversized response from the server", category="unknown")
            data += self.conn.read_exact(size)
            data += self.conn.readline()
            total = len(data)
        return data

    def next_tag(self) -> bytes:
        self.counter += 1
        return b"t%d" % self.counter

    def command(self, *parts: bytes) -> tuple[list[bytes], str, str]:
        """Send a command; return (untagged responses, OK|NO|BAD, text of the tagged line).

        A part that is a `Literal` is sent as a synchronising literal after the
        server's "+" continuation.
        """
        tag = self.next_tag()
        pending = tag + b" "
        for part in parts:
            if isinstance(part, Literal):
                self.conn.send(pending + b"{%d}\r\n" % len(part.data))
                reply = self.response()
                if not reply.startswith(b"+"):
                    return self._finish(tag, [], first=reply)
                self.conn.send(part.data)
                pending = b""
            else:
                pending += part
        self.conn.send(pending + b"\r\n")
        return self._finish(tag, [])

    def _finish(self, tag: bytes, untagged: list[bytes], first: bytes | None = None) -> tuple[list[bytes], str, str]:
        line = first if first is not None else self.response()
        while True:
            if line.startswith(tag + b" "):
                m = _TAGGED.match(line)
                if not m:
                    raise WireError(f"malformed reply: {_text(line)}", category="unknown")
                return untagged, m.group(2).decode().upper(), _text(m.group(3))
            if line.startswith(b"+"):
                # A continuation we did not ask for (e.g. a SASL error challenge): answer with
                # an empty line, which aborts the exchange.
                self.conn.send(b"\r\n")
            else:
                untagged.append(line)
            line = self.response()


class Literal:
    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()


def astring(value: str) -> bytes | Literal:
    """A quoted string when it is plain printable ASCII, a literal otherwise."""
    if value and all(32 <= ord(ch) < 127 for ch in value):
        return b'"' + value.replace("\\", "\\\\").replace('"', '\\"').encode("ascii") + b'"'
    return Literal(value.encode("utf-8"))


def parse_capabilities(text: str) -> list[str]:
    return [cap for cap in text.split() if cap]


# -- LIST parsing -------------------------------------------------------------


def _take_string(data: bytes, pos: int) -> tuple[bytes | None, int]:
    """An IMAP astring/nstring at `pos`: quoted, literal, NIL or atom."""
    if data.startswith(b'"', pos):
        out = bytearray()
        pos += 1
        while pos < len(data):
            ch = data[pos : pos + 1]
            if ch == b"\\":
                out += data[pos + 1 : pos + 2]
                pos += 2
                continue
            if ch == b'"':
                return bytes(out), pos + 1
            out += ch
            pos += 1
        raise ValueError("unterminated quoted string")
    m = re.compile(rb"\{(\d+)\+?\}\r\n").match(data, pos)
    if m:
        start = m.end()
        end = start + int(m.group(1))
        return data[start:end], end
    m = re.compile(rb"[^\s()]+").match(data, pos)
    if not m:
        raise ValueError("expected a string")
    word = m.group(0)
    return (None if word.upper() == b"NIL" else word), m.end()


def parse_list_line(line: bytes) -> dict | None:
    """`* LIST (\\HasNoChildren \\Sent) "/" Sent` -> {"name", "flags", "delimiter"}."""
    m = re.compile(rb"^\* (?:X?LIST|LSUB) \(([^)]*)\) ", re.IGNORECASE).match(line)
    if not m:
        return None
    flags = tuple(f.decode("ascii", "replace") for f in m.group(1).split())
    try:
        delimiter, pos = _take_string(line, m.end())
        while line[pos : pos + 1] == b" ":
            pos += 1
        raw_name, _ = _take_string(line, pos)
    except ValueError:
        return None
    if raw_name is None:
        return None
    try:
        name = imap_utf7.decode(raw_name)
    except Exception:  # not valid modified UTF-7: show it as it is
        name = raw_name.decode("utf-8", "replace")
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    # Gmail's XLIST names INBOX \Inbox; normalise it the way LIST does.
    return {
        "name": name,
        "flags": flags,
        "delimiter": delimiter.decode("utf-8", "replace") if delimiter else "",
    }


def special_use(folder: dict) -> list[str]:
    wanted = {f.lower(): f for f in SPECIAL_USE}
    return [wanted[f.lower()] for f in folder["flags"] if f.lower() in wanted]


# -- the checks ---------------------------------------------------------------


class ImapSession(WireSession):
    protocol = "imap"

    def __init__(self, settings: ServerSettings, password: str | None, *, oauth_mechanism: str | None = None, **kw):
        super().__init__(settings, password, **kw)
        self.oauth_mechanism = (oauth_mechanism or "").upper() or None
        self.wire: ImapWire | None = None
        self.capabilities: list[str] = []
        self.logged_in = False

    def plan(self):
        security = self.settings.security
        if security is Security.SSL:
            middle = [(S.TLS, self.step_tls), (S.GREETING, self.step_greeting),
                      (S.CAPABILITIES, self.step_capabilities), (S.STARTTLS, self.step_starttls)]
        elif security is Security.STARTTLS:
            middle = [(S.GREETING, self.step_greeting), (S.CAPABILITIES, self.step_capabilities),
                      (S.STARTTLS, self.step_starttls), (S.TLS, self.step_tls),
                      (S.CAPABILITIES_TLS, self.step_capabilities_tls)]
        else:
            middle = [(S.GREETING, self.step_greeting), (S.CAPABILITIES, self.step_capabilities),
                      (S.STARTTLS, self.step_starttls), (S.TLS, self.step_tls)]
        return [(S.DNS, self.step_dns), (S.TCP, self.step_tcp), *middle,
                (S.AUTH, self.step_auth), (S.LOGIN, self.step_login), (S.FOLDERS, self.step_folders)]

    def close(self) -> None:
        if self.wire is not None and self.conn is not None:
            try:
                self.conn.set_deadline(Deadline(min(self.timeout, 3.0)))
                self.wire.command(b"LOGOUT")
            except Exception:  # best effort: the checks are already over
                pass
        self.wire = None
        super().close()

    # -- the plain-text exchange before TLS (shared with the certificate peek)

    @staticmethod
    def read_greeting(conn: Conn) -> str:
        line = _text(conn.readline())
        if not line.startswith("* "):
            raise StepFailed(f"this does not look like an IMAP server; it said: {line[:200]!r}",
                             category="wrong_service")
        return line

    def starttls_dance(self, conn: Conn) -> None:
        self.read_greeting(conn)
        _, status, text = ImapWire(conn).command(b"STARTTLS")
        if status != "OK":
            raise StepFailed(f"STARTTLS refused: {status} {text}", category="starttls_unavailable")

    # -- steps

    def step_greeting(self, deadline: Deadline) -> StepResult:
        assert self.conn is not None
        try:
            line = self.read_greeting(self.conn)
        except StepTimeout as exc:
            raise self.greeting_timeout(exc) from exc
        self.wire = ImapWire(self.conn)
        if m := _CAPABILITY_CODE.search(line):
            self.capabilities = parse_capabilities(m.group(1))
        shown = _CAPABILITY_CODE.sub("", line).replace("  ", " ")
        word = line.split()[1].upper() if len(line.split()) > 1 else ""
        if word == "OK":
            return StepResult(OK, shown)
        if word == "PREAUTH":
            self.logged_in = True
            return StepResult(WARN, f"{shown} (already authenticated without a login)")
        if word == "BYE":
            raise StepFailed(f"the server refused the session: {shown}", category="server_unavailable")
        raise StepFailed(f"unexpected greeting: {shown}", category="wrong_service")

    def _capability(self) -> list[str]:
        assert self.wire is not None
        untagged, status, text = self.wire.command(b"CAPABILITY")
        if status != "OK":
            raise StepFailed(f"CAPABILITY failed: {status} {text}", category="unknown")
        caps: list[str] = []
        for line in untagged:
            decoded = _text(line)
            if decoded.upper().startswith("* CAPABILITY "):
                caps += parse_capabilities(decoded[len("* CAPABILITY ") :])
        if not caps:
            raise StepFailed("the server did not list its capabilities", category="unknown")
        return caps

    def _has(self, capability: str) -> bool:
        return capability.upper() in {c.upper() for c in self.capabilities}

    def step_capabilities(self, deadline: Deadline) -> StepResult:
        source = "from the greeting"
        if not self.capabilities:
            self.capabilities = self._capability()
            source = "from CAPABILITY"
        if not any(c.upper() in ("IMAP4REV1", "IMAP4REV2") for c in self.capabilities):
            return StepResult(WARN, f"{' '.join(self.capabilities)} ({source}; no IMAP4rev1 listed)",
                              {"capabilities": list(self.capabilities)})
        return StepResult(OK, f"{' '.join(self.capabilities)} ({source})", {"capabilities": list(self.capabilities)})

    def step_starttls(self, deadline: Deadline) -> StepResult:
        offered = self._has("STARTTLS")
        skipped = self.starttls_needed(offered)
        if skipped is not None:
            return skipped
        assert self.wire is not None
        _, status, text = self.wire.command(b"STARTTLS")
        if status != "OK":
            raise StepFailed(f"the server offers STARTTLS but refused it: {status} {text}; "
                             "the password was not sent", category="starttls_unavailable")
        return StepResult(OK, "offered and used")

    def step_capabilities_tls(self, deadline: Deadline) -> StepResult:
        # RFC 3501 6.2.1: forget what was learned before TLS; ask again.
        self.capabilities = self._capability()
        return StepResult(OK, " ".join(self.capabilities), {"capabilities": list(self.capabilities)})

    def _mechanisms(self) -> list[str]:
        return [c[5:].upper() for c in self.capabilities if c.upper().startswith("AUTH=")]

    def step_auth(self, deadline: Deadline) -> StepResult:
        mechanisms = self._mechanisms()
        login_disabled = self._has("LOGINDISABLED")
        data = {"mechanisms": mechanisms, "login_disabled": login_disabled}
        listed = " ".join(mechanisms) if mechanisms else "none listed"
        if self.logged_in:
            return StepResult(SKIPPED, "already authenticated (PREAUTH)", data)
        if self.oauth_mechanism:
            if self.oauth_mechanism not in mechanisms:
                raise StepFailed(f"SASL {listed}: {self.oauth_mechanism} is not offered, so OAuth cannot log in",
                                 category="oauth_misconfigured", data=data)
            return StepResult(OK, f"SASL {listed}; will use {self.oauth_mechanism}", data)
        if login_disabled and "PLAIN" not in mechanisms:
            unencrypted = self.conn is not None and not self.conn.tls
            why = (" on an unencrypted connection: use STARTTLS or SSL/TLS" if unencrypted else "")
            raise StepFailed(f"SASL {listed}; LOGINDISABLED: the server accepts no password{why}",
                             category="tls_required" if unencrypted else "basic_auth_disabled", data=data)
        how = "AUTHENTICATE PLAIN" if login_disabled else "LOGIN"
        return StepResult(OK, f"SASL {listed}; password login with {how}", data)

    def step_login(self, deadline: Deadline) -> StepResult:
        if self.logged_in:
            return StepResult(SKIPPED, "already authenticated (PREAUTH)")
        if not self.password:
            self.stop_reason = "not run: no password given, so the check stopped before login"
            return StepResult(SKIPPED, "no password given: stopped before login")
        register_secret(self.password)
        require_password_safe(self.settings, self.conn)
        assert self.wire is not None
        username = self.settings.username
        status, text, how = self._login_once(username)
        retried = ""
        if status == "NO" and is_temporary(text) and deadline.remaining() > TEMPORARY_RETRY_SECONDS:
            # The server's authentication backend failed for a moment: tamago's own logins try
            # once more (imap.py), so the test does the same, and says so.
            time.sleep(TEMPORARY_RETRY_SECONDS)
            retried = f"; the first try was a temporary failure ({text})"
            status, text, how = self._login_once(username)
        if status != "OK":
            raise StepFailed(f"login as {username} refused: {status} {text}", category="invalid_credentials"
                             if status == "NO" else "unknown")
        self.logged_in = True
        if m := _CAPABILITY_CODE.search(text):
            self.capabilities = parse_capabilities(m.group(1))
        return StepResult(OK, f"logged in as {username} ({how}){retried}")

    def _login_once(self, username: str) -> tuple[str, str, str]:
        """(status, text, how) of one LOGIN or AUTHENTICATE."""
        assert self.wire is not None and self.password is not None
        if self.oauth_mechanism:
            status, text = self._authenticate(self.oauth_mechanism, oauth_blob(self.oauth_mechanism, username,
                                                                                 self.password, self.host,
                                                                                 self.settings.port))
            return status, text, self.oauth_mechanism
        if self._has("LOGINDISABLED"):
            status, text = self._authenticate("PLAIN", b"\0" + username.encode() + b"\0" + self.password.encode())
            return status, text, "AUTHENTICATE PLAIN"
        _, status, text = self.wire.command(b"LOGIN ", astring(username), b" ", astring(self.password))
        return status, text, "LOGIN"

    def _authenticate(self, mechanism: str, initial: bytes) -> tuple[str, str]:
        assert self.wire is not None and self.conn is not None
        blob = base64.b64encode(initial)
        if self._has("SASL-IR"):
            _, status, text = self.wire.command(b"AUTHENTICATE " + mechanism.encode() + b" " + blob)
            return status, text
        tag = self.wire.next_tag()
        self.conn.send(tag + b" AUTHENTICATE " + mechanism.encode() + b"\r\n")
        reply = self.wire.response()
        if not reply.startswith(b"+"):
            _, status, text = self.wire._finish(tag, [], first=reply)
            return status, text
        self.conn.send(blob + b"\r\n")
        _, status, text = self.wire._finish(tag, [])
        return status, text

    def step_folders(self, deadline: Deadline) -> StepResult:
        assert self.wire is not None
        if self._has("SPECIAL-USE") and self._has("LIST-EXTENDED"):
            command = b'LIST "" "*" RETURN (SPECIAL-USE)'
        elif self._has("XLIST") and not self._has("SPECIAL-USE"):
            command = b'XLIST "" "*"'
        else:
            command = b'LIST "" "*"'
        untagged, status, text = self.wire.command(command)
        if status != "OK":
            raise StepFailed(f"listing folders failed: {status} {text}", category="unknown")
        folders = [f for f in (parse_list_line(line) for line in untagged) if f is not None]
        uses = [(u, f["name"]) for f in folders for u in special_use(f)]
        # (name, flags) pairs: the shape providers.default_folders() and the editor take.
        data = {"folders": [(f["name"], f["flags"]) for f in folders],
                "delimiter": next((f["delimiter"] for f in folders if f["delimiter"]), "")}
        if not folders:
            return StepResult(WARN, "the server listed no folders", data)
        count = f"{len(folders)} folder{'s' if len(folders) != 1 else ''}"
        if not uses:
            names = ", ".join(f["name"] for f in folders[:12])
            return StepResult(WARN, f"{count} ({names}); no special-use flags, so Sent and others "
                                    "must be picked by name", data)
        shown = ", ".join(f"{u} {name}" for u, name in uses)
        return StepResult(OK, f"{count}; special-use: {shown}", data)


def run_imap_checks(
    settings: ServerSettings,
    password: str | None = None,
    *,
    cafile: str = "",
    timeout: float = 10.0,
    nameserver: str = "",
    provider: str = "",
    oauth_mechanism: str | None = None,
) -> Iterator[Step]:
    """The IMAP checklist, one `Step` at a time as each completes.

    `timeout` is each step's deadline in seconds. Without a password the run
    stops before login. Closing the generator early closes the connection.
    """
    if password:
        register_secret(password)
    session = ImapSession(settings, password, cafile=cafile, timeout=timeout, nameserver=nameserver,
                          provider=provider, oauth_mechanism=oauth_mechanism)
    return S.drive(session)

