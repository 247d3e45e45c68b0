"""Evidence for the troubleshooting classifier: what failed, reduced to comparable parts.

Whatever went wrong arrives as an exception, a server response, or text a
person pasted. `gather()` turns any of them into one `Evidence`: normalised
text for phrase matching plus the structured parts that carry the most weight
(exception kinds, OS errno values, OpenSSL reasons, SMTP reply and enhanced
status codes, IMAP response codes, protocol greetings, Microsoft AADSTS codes).

Nothing here decides a category; troubleshoot_rules.py does that.
"""

from __future__ import annotations

import errno as errno_mod
import imaplib
import re
import socket
import ssl
from dataclasses import dataclass, replace

# IMAP response codes worth recognising (RFC 3501, RFC 5530, provider extensions).
# Anything else in square brackets (server ids, timestamps, "[SSL: ...]") is ignored.
IMAP_CODES = frozenset(
    {
        "ALERT",
        "WEBALERT",
        "AUTHENTICATIONFAILED",
        "AUTHORIZATIONFAILED",
        "EXPIRED",
        "PRIVACYREQUIRED",
        "CONTACTADMIN",
        "NOPERM",
        "INUSE",
        "UNAVAILABLE",
        "LIMIT",
        "OVERQUOTA",
        "SERVERBUG",
        "TEMPFAIL",
        "THROTTLED",
        "CLIENTBUG",
        "CANNOT",
    }
)

# Exception class names shared by smtplib and aiosmtplib (and imapclient), mapped to kinds.
_KIND_BY_CLASS_NAME = {
    "SMTPAuthenticationError": "smtp_auth",
    "SMTPSenderRefused": "smtp_sender",
    "SMTPRecipientsRefused": "smtp_recipient",
    "SMTPRecipientRefused": "smtp_recipient",
    "SMTPServerDisconnected": "disconnected",
    "SMTPConnectError": "smtp_connect",
    "SMTPConnectResponseError": "smtp_greeting",
    "SMTPTimeoutError": "timeout",
    "SMTPConnectTimeoutError": "timeout",
    "SMTPReadTimeoutError": "timeout",
    "SMTPNotSupported": "smtp_not_supported",
    "SMTPHeloError": "smtp_helo",
    "LoginError": "login",
    "CapabilityError": "capability",
    "ProtocolError": "protocol",
}

_UNREACHABLE_ERRNOS = {
    getattr(errno_mod, name)
    for name in ("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN")
    if hasattr(errno_mod, name)
}
_RESET_ERRNOS = {
    getattr(errno_mod, name) for name in ("ECONNRESET", "ECONNABORTED", "EPIPE") if hasattr(errno_mod, name)
}

_SMTP_REPLY = re.compile(r"(?<![\w.\-/:])([2-5][0-5]\d)(?=[ \-,:)'\"]|$)")
_ENHANCED = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w.])")
_IMAP_CODE = re.compile(r"\[([A-Za-z][A-Za-z0-9\-]*)(?:[ \]])")
_IMAP_STATE = re.compile(r"(?:^|\s|['\"(])(?:\*|[A-Za-z0-9.]+)\s+(NO|BAD|BYE)\b")
_AADSTS = re.compile(r"\baadsts(\d{5,7})\b")
_SSL_REASON = re.compile(r"\[ssl: ([a-z0-9_]+)\]")
_LEAD = r"(?:^|[\s'\"(:>\[]|\\n)"
_GREETINGS = (
    ("pop3", re.compile(_LEAD + r"\+ok\b")),
    # "-ERR" is a POP3 server's reply to a command, not its greeting: weaker evidence.
    ("pop3_reply", re.compile(_LEAD + r"-err\b")),
    ("imap", re.compile(_LEAD + r"\* ok\b")),
    ("smtp", re.compile(_LEAD + r"220[ \-][^\n]{0,160}?\b(?:e?smtp|postfix|exim|sendmail|mail service)\b")),
    ("ftp", re.compile(_LEAD + r"220[ \-][^\n]{0,80}?\bftp\b")),
    ("http", re.compile(r"\bhttp/[12](?:\.[01])? \d{3}\b|<!doctype html|<html\b")),
    ("ssh", re.compile(r"\bssh-[12]\.\d+-")),
)
# Boilerplate that other clients wrap around the server's words. It says nothing
# about the cause and some of it reads like one (".NET: requires a secure connection").
_WRAPPERS = re.compile(
    r"the smtp server requires a secure connection or the client was not authenticated\.?"
    r"|the server response was:?"
    r"|the (?:mail )?server responded:?"
    r"|an error occurred while sending mail:?"
)


@dataclass(frozen=True)
class Evidence:
    """Everything the classifier may look at, already parsed."""

    raw: str
    text: str
    kinds: frozenset[str] = frozenset()
    errnos: frozenset[int] = frozenset()
    ssl_reasons: frozenset[str] = frozenset()
    smtp_codes: tuple[int, ...] = ()
    enhanced: tuple[str, ...] = ()
    imap_codes: frozenset[str] = frozenset()
    imap_states: frozenset[str] = frozenset()
    greetings: frozenset[str] = frozenset()
    aadsts: tuple[int, ...] = ()
    tamago_category: str | None = None
    library_protocol: str | None = None

    def has(self, *kinds: str) -> bool:
        return any(kind in self.kinds for kind in kinds)


def normalise(raw: str) -> str:
    """Lower case, escaped line breaks undone, whitespace collapsed."""
    text = raw.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\r", "\n")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text)
    return text.strip().lower()


def gather(source: object) -> Evidence:
    """Evidence from an exception, bytes, a string, or None (Evidence passes through)."""
    if isinstance(source, Evidence):
        return source
    if isinstance(source, BaseException):
        return _from_exception(source)
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8", "replace")
    return _from_text("" if source is None else str(source))


def _from_text(raw: str) -> Evidence:
    text = normalise(raw)
    text = _WRAPPERS.sub(" ", text)
    return Evidence(
        raw=raw,
        text=text,
        smtp_codes=tuple(int(m.group(1)) for m in _SMTP_REPLY.finditer(text)),
        enhanced=tuple(".".join(m.groups()) for m in _ENHANCED.finditer(text)),
        imap_codes=frozenset(c.upper() for c in _IMAP_CODE.findall(raw) if c.upper() in IMAP_CODES),
        imap_states=frozenset(_IMAP_STATE.findall(raw)),
        greetings=frozenset(name for name, pattern in _GREETINGS if pattern.search(text)),
        aadsts=tuple(int(code) for code in _AADSTS.findall(text)),
        ssl_reasons=frozenset(r.upper() for r in _SSL_REASON.findall(text)),
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its explicit causes and implicit contexts, without loops."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 8:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return chain


def _arg_text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return " ".join(_arg_text(v) for v in value)
    return str(value)


def _exception_text(exc: BaseException) -> str:
    """The words an exception carries, with bytes decoded and SMTP codes kept."""
    parts: list[str] = []
    code = getattr(exc, "smtp_code", None) or getattr(exc, "code", None)
    message = getattr(exc, "smtp_error", None)
    if message is None:
        message = getattr(exc, "message", None)
    if isinstance(code, int) and code > 0:
        parts.append(str(code))
    if message:
        parts.append(_arg_text(message))
    recipients = getattr(exc, "recipients", None)
    if isinstance(recipients, (list, tuple)):
        for item in recipients:
            if isinstance(item, BaseException):
                parts.append(_exception_text(item))
    if isinstance(recipients, dict):  # smtplib.SMTPRecipientsRefused
        for code_msg in recipients.values():
            parts.append(_arg_text(code_msg))
    if not parts:
        if isinstance(exc, OSError) or len(exc.args) != 1:
            parts.append(str(exc))
        else:
            parts.append(_arg_text(exc.args[0]))
    return " ".join(p for p in parts if p)


def _kinds(exc: BaseException) -> set[str]:
    kinds: set[str] = set()
    if isinstance(exc, ssl.SSLCertVerificationError):
        kinds.add("cert")
    if isinstance(exc, ssl.SSLError):
        kinds.add("ssl")
    if isinstance(exc, socket.gaierror):
        kinds.add("dns")
    if isinstance(exc, ConnectionRefusedError):
        kinds.add("refused")
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        kinds.add("reset")
    if isinstance(exc, TimeoutError):
        kinds.add("timeout")
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS:
        kinds.add("unreachable")
    if isinstance(exc, OSError) and exc.errno in _RESET_ERRNOS:
        kinds.add("reset")
    if isinstance(exc, EOFError):
        kinds.add("disconnected")
    if isinstance(exc, imaplib.IMAP4.abort):
        kinds.add("imap_abort")
    elif isinstance(exc, imaplib.IMAP4.error):
        kinds.add("imap_error")
    for cls in type(exc).__mro__:
        kind = _KIND_BY_CLASS_NAME.get(cls.__name__)
        if kind:
            kinds.add(kind)
        # dnspython (account discovery): NXDOMAIN, NoAnswer, NoNameservers, LifetimeTimeout ...
        if (cls.__module__ or "").startswith("dns.") and cls.__name__ != "DNSException":
            kinds.add("dns")
    return kinds


def _library_protocol(exc: BaseException) -> str | None:
    for cls in type(exc).__mro__:
        module = cls.__module__ or ""
        if module.startswith(("imapclient", "imaplib")):
            return "imap"
        if module.startswith(("aiosmtplib", "smtplib")):
            return "smtp"
    return None


def _from_exception(exc: BaseException) -> Evidence:
    texts: list[str] = []
    kinds: set[str] = set()
    errnos: set[int] = set()
    reasons: set[str] = set()
    codes: list[int] = []
    category: str | None = None
    protocol: str | None = None
    for item in _chain(exc):
        texts.append(_exception_text(item))
        kinds |= _kinds(item)
        number = getattr(item, "errno", None)
        if isinstance(number, int):
            errnos.add(number)
        reason = getattr(item, "reason", None)
        if isinstance(item, ssl.SSLError) and isinstance(reason, str):
            reasons.add(reason.upper())
        code = getattr(item, "smtp_code", None) or getattr(item, "code", None)
        if isinstance(code, int) and 200 <= code < 600:
            codes.append(code)
        item_category = getattr(item, "category", None)
        if category is None and isinstance(item_category, str) and item_category != "unknown":
            category = item_category
            kinds.add("tamago")
        protocol = protocol or _library_protocol(item)
    # imaplib reports a "+OK" (POP3) greeting as the bare text "None" (CPython gh-108280).
    if "imap_error" in kinds and texts and texts[0].strip() == "None":
        kinds.add("imap_no_greeting")
    raw = "\n".join(dict.fromkeys(t for t in texts if t))
    evidence = _from_text(raw)
    return replace(
        evidence,
        kinds=frozenset(kinds),
        errnos=frozenset(errnos),
        ssl_reasons=frozenset(reasons) | evidence.ssl_reasons,
        smtp_codes=tuple(codes) + evidence.smtp_codes,
        tamago_category=category,
        library_protocol=protocol,
    )
