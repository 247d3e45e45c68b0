"""The SMTP submission checklist over our own socket: banner, EHLO, STARTTLS, AUTH."""

from __future__ import annotations

import base64
import re
import time
from typing import Iterator

from ..log import register_secret
from ..smtp import TEMPORARY_RETRY_SECONDS
from ..models import Security, ServerSettings
from ..wire import Conn, Deadline, StepTimeout, WireError
from . import steps as S
from .common import WireSession, oauth_blob, require_password_safe
from .steps import OK, SKIPPED, WARN, Step, StepFailed, StepResult

_REPLY_LINE = re.compile(r"^(\d{3})([ -]?)(.*)$")
MAX_REPLY_LINES = 200


def read_reply(conn: Conn) -> tuple[int, list[str]]:
    """One (possibly multi-line) reply: (code, text lines)."""
    lines: list[str] = []
    code = None
    while len(lines) < MAX_REPLY_LINES:
        raw = conn.readline().decode("utf-8", "replace").rstrip("\r\n")
        m = _REPLY_LINE.match(raw)
        if not m or (code is not None and int(m.group(1)) != code):
            raise WireError(f"this does not look like an SMTP server; it said: {raw[:200]!r}",
                            category="wrong_service")
        code = int(m.group(1))
        lines.append(m.group(3))
        if m.group(2) != "-":
            return code, lines
    raise WireError("an endless reply from the server", category="unknown")


def parse_ehlo(lines: list[str]) -> dict[str, str]:
    """EHLO reply lines after the first -> {KEYWORD: params}. `AUTH=` (old style) counts as AUTH."""
    extensions: dict[str, str] = {}
    for line in lines[1:]:
        keyword, _, params = line.strip().partition(" ")
        if "=" in keyword and keyword.upper().startswith("AUTH="):
            keyword, params = "AUTH", keyword[5:] + (" " + params if params else "")
        keyword = keyword.upper()
        if keyword == "AUTH" and "AUTH" in extensions:
            params = extensions["AUTH"] + " " + params
        extensions[keyword] = params.strip()
    return extensions


def ehlo_name(conn: Conn) -> str:
    """An address literal for our side of the connection: reveals nothing beyond what the server sees."""
    address = conn.local_address()
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


class SmtpSession(WireSession):
    protocol = "smtp"

    def __init__(self, settings: ServerSettings, password: str | None, *, oauth_mechanism: str | None = None, **kw):
        super().__init__(settings, password, **kw)
        self.oauth_mechanism = (oauth_mechanism or "").upper() or None
        self.extensions: dict[str, str] = {}

    def plan(self):
        security = self.settings.security
        if security is Security.SSL:
            middle = [(S.TLS, self.step_tls), (S.GREETING, self.step_greeting), (S.EHLO, self.step_ehlo),
                      (S.STARTTLS, self.step_starttls)]
        elif security is Security.STARTTLS:
            middle = [(S.GREETING, self.step_greeting), (S.EHLO, self.step_ehlo), (S.STARTTLS, self.step_starttls),
                      (S.TLS, self.step_tls), (S.EHLO_TLS, self.step_ehlo)]
        else:
            middle = [(S.GREETING, self.step_greeting), (S.EHLO, self.step_ehlo), (S.STARTTLS, self.step_starttls),
                      (S.TLS, self.step_tls)]
        return [(S.DNS, self.step_dns), (S.TCP, self.step_tcp), *middle,
                (S.AUTH, self.step_auth), (S.LOGIN, self.step_login)]

    def close(self) -> None:
        if self.conn is not None and self.extensions:
            try:
                self.conn.set_deadline(Deadline(min(self.timeout, 3.0)))
                self.conn.send(b"QUIT\r\n")
                read_reply(self.conn)
            except Exception:  # best effort: the checks are already over
                pass
        super().close()

    def _command(self, line: bytes) -> tuple[int, list[str]]:
        assert self.conn is not None
        self.conn.send(line + b"\r\n")
        return read_reply(self.conn)

    def starttls_dance(self, conn: Conn) -> None:
        code, _ = read_reply(conn)
        if code != 220:
            raise StepFailed("no 220 banner", category="unknown")
        conn.send(b"EHLO " + ehlo_name(conn).encode() + b"\r\n")
        read_reply(conn)
        conn.send(b"STARTTLS\r\n")
        code, _ = read_reply(conn)
        if code != 220:
            raise StepFailed("STARTTLS refused", category="starttls_unavailable")

    # -- steps

    def step_greeting(self, deadline: Deadline) -> StepResult:
        assert self.conn is not None
        try:
            code, lines = read_reply(self.conn)
        except StepTimeout as exc:
            raise self.greeting_timeout(exc) from exc
        banner = f"{code} {' / '.join(lines)}"
        if code == 220:
            return StepResult(OK, banner)
        if code in (421, 554):
            raise StepFailed(f"the server refused the session: {banner}", category="server_unavailable")
        raise StepFailed(f"unexpected banner: {banner}", category="wrong_service")

    def step_ehlo(self, deadline: Deadline) -> StepResult:
        assert self.conn is not None
        code, lines = self._command(b"EHLO " + ehlo_name(self.conn).encode())
        if code != 250:
            raise StepFailed(f"EHLO refused: {code} {' / '.join(lines)}", category="unknown")
        # RFC 3207 4.2: after STARTTLS, forget everything learned before it.
        self.extensions = parse_ehlo(lines)
        shown = " ".join(f"{k} {v}".strip() for k, v in self.extensions.items()) or "no extensions"
        return StepResult(OK, f"{lines[0]}: {shown}", {"extensions": dict(self.extensions)})

    def step_starttls(self, deadline: Deadline) -> StepResult:
        offered = "STARTTLS" in self.extensions
        skipped = self.starttls_needed(offered)
        if skipped is not None:
            return skipped
        code, lines = self._command(b"STARTTLS")
        if code != 220:
            raise StepFailed(f"the server offers STARTTLS but refused it: {code} {' / '.join(lines)}; "
                             "the password was not sent", category="starttls_unavailable")
        self.extensions = {}
        return StepResult(OK, "offered and used")

    def _mechanisms(self) -> list[str]:
        return [m.upper() for m in self.extensions.get("AUTH", "").split()]

    def step_auth(self, deadline: Deadline) -> StepResult:
        mechanisms = self._mechanisms()
        data = {"mechanisms": mechanisms}
        if not mechanisms:
            unencrypted = self.conn is not None and not self.conn.tls
            why = " on an unencrypted connection (many servers only offer it after TLS)" if unencrypted else ""
            if not self.password:
                return StepResult(WARN, f"the server offers no AUTH{why}", data)
            raise StepFailed(f"the server offers no AUTH{why}, so tamago cannot log in",
                             category="tls_required" if unencrypted else "smtp_auth_disabled", data=data)
        wanted = [self.oauth_mechanism] if self.oauth_mechanism else ["PLAIN", "LOGIN"]
        usable = [m for m in wanted if m in mechanisms]
        if not usable:
            raise StepFailed(f"AUTH {' '.join(mechanisms)}: none of {', '.join(wanted)} is offered",
                             category="oauth_misconfigured" if self.oauth_mechanism else "basic_auth_disabled",
                             data=data)
        return StepResult(OK, f"AUTH {' '.join(mechanisms)}; will use {usable[0]}", data)

    def step_login(self, deadline: Deadline) -> StepResult:
        if not self.password:
            self.stop_reason = "not run: no password given, so the check stopped before login"
            return StepResult(SKIPPED, "no password given: stopped before login")
        register_secret(self.password)
        require_password_safe(self.settings, self.conn)
        user = self.settings.username
        how, code, lines = self._login_once(user)
        retried = ""
        if code == 454 and deadline.remaining() > TEMPORARY_RETRY_SECONDS:
            # "Temporary authentication failure": tamago's own logins try once more (smtp.py),
            # so the test does the same, and says so.
            time.sleep(TEMPORARY_RETRY_SECONDS)
            retried = f"; the first try was a temporary failure ({code} {' / '.join(lines)})"
            how, code, lines = self._login_once(user)
        if code == 235:
            return StepResult(OK, f"logged in as {user} (AUTH {how}){retried}")
        text = f"{code} {' / '.join(lines)}"
        category = {530: "tls_required", 504: "basic_auth_disabled", 421: "server_unavailable",
                    454: "server_unavailable"}.get(code, "invalid_credentials" if 500 <= code < 600 else "unknown")
        raise StepFailed(f"login as {user} refused: {text}", category=category)

    def _login_once(self, user: str) -> tuple[str, int, list[str]]:
        """(mechanism, code, reply lines) of one AUTH."""
        assert self.password is not None
        if self.oauth_mechanism:
            how = self.oauth_mechanism
            return how, *self._auth_initial(how, oauth_blob(how, user, self.password, self.host,
                                                            self.settings.port))
        if "PLAIN" in self._mechanisms():
            return "PLAIN", *self._auth_initial("PLAIN", b"\0" + user.encode() + b"\0" + self.password.encode())
        return "LOGIN", *self._auth_login(user, self.password)

    def _auth_initial(self, mechanism: str, blob: bytes) -> tuple[int, list[str]]:
        code, lines = self._command(b"AUTH " + mechanism.encode() + b" " + base64.b64encode(blob))
        if code == 334:  # a SASL error challenge (XOAUTH2) or a server that ignored the initial response
            code, lines = self._command(b"")
            if code == 334:
                code, lines = self._command(b"*")
        return code, lines

    def _auth_login(self, user: str, password: str) -> tuple[int, list[str]]:
        code, lines = self._command(b"AUTH LOGIN")
        if code != 334:
            return code, lines
        code, lines = self._command(base64.b64encode(user.encode()))
        if code != 334:
            return code, lines
        return self._command(base64.b64encode(password.encode()))


def run_smtp_checks(
    settings: ServerSettings,
    password: str | None = None,
    *,
    cafile: str = "",
    timeout: float = 10.0,
    nameserver: str = "",
    provider: str = "",
    oauth_mechanism: str | None = None,
) -> Iterator[Step]:
    """The SMTP checklist, one `Step` at a time. Same contract as `run_imap_checks`."""
    if password:
        register_secret(password)
    session = SmtpSession(settings, password, cafile=cafile, timeout=timeout, nameserver=nameserver,
                          provider=provider, oauth_mechanism=oauth_mechanism)
    return S.drive(session)
