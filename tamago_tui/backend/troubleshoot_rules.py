"""Scoring rules: which evidence points at which troubleshooting category, and how strongly.

The vocabularies the phrase rules use live in troubleshoot_vocabulary.py.

The classifier adds up weighted signals per category. A signal comes from one
kind of evidence, and its weight reflects how much that kind of evidence is
worth:

* STRUCTURED (5): an exception type, an OpenSSL reason, an IMAP response code
  or an enhanced status code that names the cause on its own
  (ConnectionRefusedError, WRONG_VERSION_NUMBER, [WEBALERT], 5.7.57, AADSTS65001).
* PHRASE (4): a family of wordings for one cause, matched as concepts near each
  other ("IMAP" near "disabled / turned off / not enabled"), not as exact strings.
* CODE (3): a code that narrows things down without settling them
  ([AUTHENTICATIONFAILED], 535, [UNAVAILABLE], 421).
* GENERIC (2): vague wording ("authentication failed", "try again later").
* HINT (1.5): a library exception type with no detail, or context
  (port and security that do not belong together, the provider).

Generic signals describe symptoms. When another category has strong specific
evidence, the symptom is explained by it and its generic signals count less:
"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled"
is an SMTP AUTH problem even though it also says "authentication unsuccessful".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .troubleshoot_evidence import Evidence
from . import troubleshoot_vocabulary as v
from .troubleshoot_vocabulary import near

STRUCTURED = 5.0
PHRASE = 4.0
CODE = 3.0
GENERIC = 2.0
HINT = 1.5

# A category needs this much evidence to be reported instead of "unknown".
MIN_SCORE = 1.0
# Generic signals count this much when another category has specific evidence.
EXPLAINED_AWAY = 0.4

IMPLICIT_TLS_PORTS = {993, 465, 995}
PLAIN_OR_STARTTLS_PORTS = {143, 587, 25, 110, 2525}
POP3_PORTS = {110, 995}
IMAP_PORTS = {143, 993}
SMTP_PORTS = {25, 465, 587, 2525}
MICROSOFT_CLOUD = {"outlook", "office365"}
GOOGLE = {"gmail", "google_workspace"}
# OpenSSL reasons meaning "the other side does not speak TLS here" (or not a version we accept).
NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
    "WRONG_SSL_VERSION",
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
}


@dataclass(frozen=True)
class Context:
    """What is known about the failing connection besides the error itself."""

    provider: str | None = None
    protocol: str | None = None  # "imap" or "smtp"
    port: int | None = None
    security: str | None = None  # "ssl", "starttls" or "none"
    auth: str | None = None  # "password" or "oauth2"


@dataclass(frozen=True)
class Signal:
    category: str
    weight: float
    reason: str
    generic: bool = False
    # Categories this signal explains away entirely (a symptom of this cause).
    explains: frozenset[str] = frozenset()
    # Inferred from port, security or provider rather than from the error itself.
    context: bool = False


def _off_near(text: str, word: re.Pattern[str]) -> bool:
    return near(text, word, v.OFF_WORD, gap=4, forbid=v.NETWORK_WORD)


def _auth_failure(ev: Evidence) -> bool:
    """Did a login attempt take place and fail? (Explains away "not authenticated".)"""
    return (
        "AUTHENTICATIONFAILED" in ev.imap_codes
        or 535 in ev.smtp_codes
        or ev.has("smtp_auth", "login")
        or near(ev.text, v.AUTH_SUBJECT, v.AUTH_FAILED, gap=5, forbid=v.AUTH_GAP_FORBID)
    )


def signals(ev: Evidence, ctx: Context) -> list[Signal]:
    """Every signal the evidence and context give, before weighing."""
    found: list[Signal] = []
    # A category the backend already settled on (TamagoError.category).
    if ev.tamago_category:
        found.append(Signal(ev.tamago_category, STRUCTURED + 1, f"raised as a {ev.tamago_category} error by tamago"))
    found += _from_exceptions(ev)
    found += _from_codes(ev, ctx)
    found += _from_phrases(ev, ctx)
    found += _from_greetings(ev, ctx)
    found += _from_context(ev, ctx, found)
    return found


def _from_exceptions(ev: Evidence) -> list[Signal]:
    """Exception types and OpenSSL reasons."""
    out: list[Signal] = []
    add = out.append
    if ev.has("refused"):
        add(Signal("connection_refused", STRUCTURED, "the connection was refused (ConnectionRefusedError)"))
    if ev.has("dns"):
        add(Signal("dns_failure", STRUCTURED, "the host name could not be resolved (socket.gaierror)"))
    if ev.has("cert"):
        add(Signal("certificate_invalid", STRUCTURED, "the server certificate failed verification"))
    if ev.has("timeout"):
        add(Signal("timeout", STRUCTURED, "the operation timed out"))
    if ev.has("unreachable"):
        add(Signal("timeout", CODE, "the network or host is unreachable"))
    if ev.has("reset"):
        add(Signal("server_unavailable", HINT, "the connection was reset", generic=True))
    if ev.has("disconnected"):
        add(Signal("server_unavailable", HINT, "the server closed the connection", generic=True))
    if ev.has("imap_abort"):
        add(Signal("server_unavailable", 1.0, "the IMAP session was aborted", generic=True))
    if ev.has("login"):
        add(Signal("invalid_credentials", HINT, "the IMAP login was refused (LoginError)", generic=True))
    if ev.has("smtp_auth"):
        add(Signal("invalid_credentials", HINT, "the SMTP login was refused (SMTPAuthenticationError)", generic=True))
    if ev.has("smtp_sender"):
        add(Signal("sender_rejected", HINT, "the server refused the sender address", generic=True))
    if ev.has("imap_no_greeting"):
        add(Signal("pop3_only", CODE, "the server did not greet like an IMAP server (a '+OK' greeting)"))
    for reason in ev.ssl_reasons:
        if reason in NOT_TLS_REASONS:
            add(Signal("tls_mismatch", STRUCTURED, f"TLS handshake failed: {reason.lower().replace('_', ' ')}"))
        elif reason == "CERTIFICATE_VERIFY_FAILED":
            add(Signal("certificate_invalid", STRUCTURED, "certificate verify failed"))
    return out


def _from_codes(ev: Evidence, ctx: Context) -> list[Signal]:
    """IMAP response codes, SMTP reply and enhanced status codes, AADSTS codes."""
    out: list[Signal] = []
    add = out.append
    text = ev.text
    codes = ev.imap_codes
    if "WEBALERT" in codes:
        add(Signal("web_login_required", STRUCTURED, "[WEBALERT]: the server asks for a web sign-in"))
    if "PRIVACYREQUIRED" in codes:
        add(Signal("tls_required", STRUCTURED, "[PRIVACYREQUIRED]: login needs an encrypted connection"))
    if "AUTHENTICATIONFAILED" in codes:
        add(Signal("invalid_credentials", CODE, "[AUTHENTICATIONFAILED]", generic=True))
    if "AUTHORIZATIONFAILED" in codes:
        add(Signal("invalid_credentials", CODE - 0.5, "[AUTHORIZATIONFAILED]", generic=True))
    if "EXPIRED" in codes:
        add(Signal("invalid_credentials", CODE, "[EXPIRED]: the password or account has expired", generic=True))
    if "UNAVAILABLE" in codes:
        add(Signal("server_unavailable", CODE, "[UNAVAILABLE]: temporary server-side failure", generic=True))
    if "TEMPFAIL" in codes or "SERVERBUG" in codes:
        add(Signal("server_unavailable", CODE, "the server reports a temporary failure or bug", generic=True))
    if "THROTTLED" in codes:
        add(Signal("rate_limited", STRUCTURED, "[THROTTLED]"))
    if "OVERQUOTA" in codes:
        add(Signal("rate_limited", CODE, "[OVERQUOTA]: a quota or limit was reached"))
    if "LIMIT" in codes:
        add(Signal("too_many_connections", CODE - 0.5, "[LIMIT]: a server limit was reached", generic=True))
        add(Signal("rate_limited", 1.0, "[LIMIT]: a server limit was reached", generic=True))
    if "BYE" in ev.imap_states and not codes:
        # Below MIN_SCORE on purpose: "* BYE Logging out" alone is not a failure.
        add(Signal("server_unavailable", 0.8, "the server said BYE", generic=True))

    for code in dict.fromkeys(ev.enhanced):
        if code in v.ENHANCED_STRUCTURED:
            category, reason = v.ENHANCED_STRUCTURED[code]
            weight = STRUCTURED
            if code == "5.7.9":  # Google's use; elsewhere it can mean "mechanism too weak"
                weight = CODE + (1.5 if "google" in text or ctx.provider in GOOGLE else 0.0)
            add(Signal(category, weight, reason))
        elif code == "5.7.139":
            add(Signal("basic_auth_disabled", HINT, "5.7.139: Microsoft refused the authentication"))
            add(Signal("smtp_auth_disabled", 1.0, "5.7.139: Microsoft refused the authentication"))
            add(Signal("invalid_credentials", 1.0, "5.7.139: Microsoft refused the authentication", generic=True))
        elif code == "5.7.3" and _auth_failure(ev):
            microsoft = ctx.provider in MICROSOFT_CLOUD or re.search(r"outlook\.com|office365", text)
            add(Signal("smtp_auth_disabled", STRUCTURED if microsoft else CODE,
                       "535 5.7.3: Microsoft rejects SMTP AUTH for this mailbox"))
        elif code == "5.7.8":
            add(Signal("invalid_credentials", CODE, "5.7.8: authentication credentials invalid", generic=True))
        elif code == "5.4.5":
            add(Signal("rate_limited", CODE, "5.4.5: a sending quota was exceeded"))
        elif code in {"5.1.7", "5.1.8"}:
            add(Signal("sender_rejected", CODE, f"{code}: the sender address was refused"))

    smtp = set(ev.smtp_codes)
    if 535 in smtp:
        add(Signal("invalid_credentials", CODE - 0.5, "535: authentication failed", generic=True))
    if 530 in smtp:
        add(Signal("auth_required", CODE - 0.5, "530: the server wants something done first (usually AUTH)", generic=True))
    if 421 in smtp:
        add(Signal("server_unavailable", CODE, "421: service not available right now", generic=True))
    if smtp & {450, 451, 452, 454} and not ev.enhanced:
        add(Signal("server_unavailable", HINT, "4xx: a temporary failure", generic=True))
    if 553 in smtp or (550 in smtp and ev.has("smtp_sender")):
        add(Signal("sender_rejected", HINT, "the server refused the MAIL FROM address", generic=True))

    # POP3 response codes (RFC 2449, RFC 3206) name the cause after "-ERR", so they
    # outweigh the bare "a POP3 server replied" (CODE) that the same "-ERR" gives.
    for code in v.POP3_CODE.findall(text):
        category, reason = v.POP3_CODES[code]
        add(Signal(category, CODE + 1, reason))

    for number in ev.aadsts:
        category = v.AADSTS.get(number)
        if category:
            add(Signal(category, STRUCTURED, f"AADSTS{number} from Microsoft's sign-in service"))
        else:
            add(Signal("oauth_misconfigured", GENERIC, f"AADSTS{number}: Microsoft sign-in refused the request", generic=True))
    return out


def _from_phrases(ev: Evidence, ctx: Context) -> list[Signal]:
    """Families of wording, matched as concepts (see troubleshoot_vocabulary.py)."""
    out: list[Signal] = []
    add = out.append
    text = ev.text
    if v.APP_PASSWORD.search(text):
        add(Signal("app_password_required", PHRASE, "the server asks for an app password"))
    if v.WEB_LOGIN.search(text):
        add(Signal("web_login_required", PHRASE, "the server wants a sign-in through a web browser"))
    if _off_near(text, v.IMAP_WORD):
        add(Signal("imap_disabled", PHRASE, "IMAP access is switched off for the account"))
    elif near(text, v.ENABLE_WORD, v.IMAP_WORD, gap=4, forbid=v.NETWORK_WORD):
        add(Signal("imap_disabled", PHRASE - 0.5, "the server asks to enable IMAP"))
    if _off_near(text, v.BASIC_WORD) or "basicauthblocked" in text:
        add(Signal("basic_auth_disabled", PHRASE, "password (basic) authentication is switched off"))
    if v.USE_OAUTH.search(text):
        add(Signal("basic_auth_disabled", PHRASE - 1, "the server asks for OAuth instead of a password"))
    if v.POLICY_BLOCK.search(text):
        add(Signal("basic_auth_disabled", CODE, "an organisation sign-in policy blocks password logins"))
    if _off_near(text, v.SMTP_AUTH_WORD) or "aka.ms/smtp_auth_disabled" in text:
        add(Signal("smtp_auth_disabled", PHRASE + 1, "SMTP AUTH is switched off for the mailbox or tenant"))
    if v.AUTH_NOT_OFFERED.search(text):
        if re.search(r"try connecting via tls|starttls first|after starttls", text) or ctx.security == "none":
            add(Signal("tls_required", PHRASE + 1, "the server offers login only after TLS"))
        else:
            add(Signal("smtp_auth_disabled", PHRASE, "the server does not offer authentication"))
    if v.CONSENT.search(text) or near(text, v.ADMIN_WORD, v.APPROVE_WORD, gap=3):
        add(Signal("consent_required", PHRASE, "the app needs consent from an administrator"))
    if v.OAUTH_CONFIG.search(text):
        add(Signal("oauth_misconfigured", PHRASE, "the OAuth app registration does not match the request"))
    if v.INVALID_GRANT.search(text):
        add(Signal("invalid_credentials", CODE, "the saved sign-in (token) expired or was revoked"))
    if near(text, v.AUTH_SUBJECT, v.AUTH_FAILED, gap=5, forbid=v.AUTH_GAP_FORBID) or v.LOGIN_NOT_DONE.search(text):
        add(Signal("invalid_credentials", GENERIC, "the server says the login failed", generic=True))
    if v.AUTH_REQUIRED.search(text):
        add(Signal("auth_required", PHRASE, "the server wants authentication before it accepts mail"))
    if v.TLS_REQUIRED.search(text):
        add(Signal("tls_required", PHRASE, "the server refuses to log in without encryption"))
    elif near(text, v.REQUIRE_WORD, v.ENCRYPTION_WORD, gap=3) and not v.STARTTLS_MISSING.search(text):
        add(Signal("tls_required", PHRASE - 1, "the server wants an encrypted connection"))
    if v.STARTTLS_MISSING.search(text) or near(text, v.STARTTLS_WORD, v.NOT_OFFERED, gap=3):
        add(Signal("starttls_unavailable", PHRASE + 1, "the server does not offer STARTTLS"))
    if v.TOO_MANY_CONNECTIONS.search(text):
        add(Signal("too_many_connections", PHRASE, "too many connections are open for this account"))
    if v.RATE_LIMIT.search(text):
        add(Signal("rate_limited", PHRASE, "the provider is limiting logins or sending"))
    if v.TEMPORARY.search(text):
        add(Signal("server_unavailable", PHRASE if "try again later" not in text else GENERIC,
                   "the server reports a temporary problem", generic="try again later" in text))
    if v.CONNECTION_LOST.search(text):
        add(Signal("server_unavailable", GENERIC, "the connection was closed or lost", generic=True))
    if v.TLS_MISMATCH.search(text):
        add(Signal("tls_mismatch", PHRASE, "the TLS handshake met something that is not TLS"))
    if v.HANDSHAKE.search(text):
        add(Signal("tls_mismatch", GENERIC, "the TLS handshake failed", generic=True))
    if v.CERTIFICATE.search(text):
        add(Signal("certificate_invalid", PHRASE, "the server certificate is not trusted"))
    if v.DNS_TIMEOUT.search(text):
        add(Signal("dns_failure", PHRASE + 1, "the DNS server did not answer in time"))
    if v.DNS_OS.search(text):
        add(Signal("dns_failure", STRUCTURED, "the resolver could not find the server name"))
    elif v.DNS.search(text):
        add(Signal("dns_failure", PHRASE, "the server name could not be found"))
    if v.REFUSED.search(text):
        add(Signal("connection_refused", PHRASE, "the connection was refused"))
    elif v.CANNOT_CONNECT.search(text):
        add(Signal("connection_refused", GENERIC, "the app could not connect to the server", generic=True))
    if v.TIMEOUT.search(text) and not v.DNS_TIMEOUT.search(text):
        add(Signal("timeout", PHRASE, "the connection timed out"))
    if v.UNREACHABLE.search(text):
        add(Signal("timeout", CODE, "the server cannot be reached from this network"))
    if v.SENDER_SPECIFIC.search(text):
        add(Signal("sender_rejected", PHRASE, "the server refuses this sender (From) address"))
    if v.SENDER_GENERIC.search(text):
        add(Signal("sender_rejected", GENERIC, "the sender address was rejected", generic=True))
    if v.POP3_TEXT.search(text):
        add(Signal("pop3_only", PHRASE, "the server identifies as POP3"))
    if v.LOCAL_STORAGE.search(text):
        add(Signal("local_storage", PHRASE + 1, "this computer's disk or tamago's database cannot be written"))
    return out


def _from_greetings(ev: Evidence, ctx: Context) -> list[Signal]:
    """Who answered on the port: POP3, SMTP, IMAP, HTTP or SSH greetings."""
    out: list[Signal] = []
    add = out.append
    text = ev.text
    protocol = ctx.protocol or ev.library_protocol
    greetings = ev.greetings
    if "pop3" in greetings:
        add(Signal("pop3_only", STRUCTURED, "a POP3 server answered ('+OK' greeting)"))
    elif "pop3_reply" in greetings:
        add(Signal("pop3_only", CODE, "a POP3 server replied ('-ERR')"))
    imap_side = protocol == "imap" or (protocol is None and v.IMAP_MARKER.search(text))
    smtp_side = protocol == "smtp" or (
        protocol is None and v.SMTP_MARKER.search(text) and not v.IMAP_MARKER.search(text)
    )
    if "smtp" in greetings and imap_side:
        add(Signal("wrong_service", STRUCTURED, "an SMTP server answered where IMAP was expected"))
    if "imap" in greetings and smtp_side and protocol != "imap":
        add(Signal("wrong_service", STRUCTURED, "an IMAP server answered where SMTP was expected"))
    for other in ("http", "ssh", "ftp"):
        if other in greetings:
            add(Signal("wrong_service", STRUCTURED, f"an {other.upper()} server answered on the mail port"))
    if v.WRONG_SERVICE_TEXT.search(text):
        add(Signal("wrong_service", PHRASE - 1, "the server's greeting is not the expected protocol"))
    elif v.UNEXPECTED_RESPONSE.search(text):
        add(Signal("wrong_service", 1.0, "the server answered something unexpected", generic=True))
    return out


def _from_context(ev: Evidence, ctx: Context, found: list[Signal]) -> list[Signal]:
    """Port, security and provider: weak on their own, decisive between close candidates."""
    extra: list[Signal] = []

    def hint(category: str, weight: float, reason: str, explains: frozenset[str] = frozenset()) -> None:
        extra.append(Signal(category, weight, reason, explains=explains, context=True))

    present = {s.category for s in found}
    port, security = ctx.port, ctx.security
    protocol = ctx.protocol or ev.library_protocol
    connection_trouble = present & {"timeout", "server_unavailable", "tls_mismatch"} or ev.has("ssl")
    mismatch = (security == "ssl" and port in PLAIN_OR_STARTTLS_PORTS) or (
        security in {"starttls", "none"} and port in IMPLICIT_TLS_PORTS
    )
    if mismatch and connection_trouble:
        expected = "plain or STARTTLS" if security == "ssl" else "SSL/TLS"
        hint("tls_mismatch", STRUCTURED + 1, f"port {port} expects {expected}, not {security}",
             explains=frozenset({"timeout", "server_unavailable"}))
    elif mismatch and present & {"tls_mismatch"}:
        hint("tls_mismatch", HINT, f"port {port} does not go with {security}")
    other_greeting = ev.greetings & {"smtp", "imap", "http", "ssh", "ftp"}
    if port in POP3_PORTS and protocol != "pop3" and "wrong_service" in present and not other_greeting:
        # "Not an IMAP server" on a POP3 port: the server that answered is most likely POP3.
        hint("pop3_only", PHRASE, f"port {port} is a POP3 port and the server did not speak IMAP",
             explains=frozenset({"wrong_service"}))
    elif port in POP3_PORTS and protocol != "pop3" and (connection_trouble or present & {"pop3_only"}):
        hint("pop3_only", HINT, f"port {port} is a POP3 port")
    if (protocol == "imap" and port in SMTP_PORTS) or (protocol == "smtp" and port in IMAP_PORTS):
        hint("wrong_service", HINT, f"port {port} belongs to another mail protocol")
    if security == "none" and present & {"invalid_credentials", "smtp_auth_disabled"}:
        hint("tls_required", HINT, "the connection is unencrypted, and many servers refuse logins on it")
    # Microsoft's cloud refuses password logins over IMAP (and Outlook.com over SMTP too):
    # a plain "authentication failed" there means basic auth is off, or the OAuth token is wrong.
    auth_failed = present & {"invalid_credentials"} and not present & {
        "app_password_required", "smtp_auth_disabled", "basic_auth_disabled", "tls_required", "oauth_misconfigured"}
    if ctx.provider in MICROSOFT_CLOUD and auth_failed and (protocol != "smtp" or ctx.provider == "outlook"):
        target = "oauth_misconfigured" if ctx.auth == "oauth2" else "basic_auth_disabled"
        why = ("Microsoft refuses OAuth tokens without the IMAP/SMTP permission for this mailbox"
               if target == "oauth_misconfigured" else "Microsoft no longer accepts passwords here; it needs OAuth")
        hint(target, PHRASE, why)
    return extra


def weigh(found: list[Signal], ev: Evidence) -> dict[str, float]:
    """Add up the signals per category, explaining symptoms away by specific causes."""
    specific: dict[str, float] = {}
    generic: dict[str, float] = {}
    for s in found:
        bucket = generic if s.generic else specific
        bucket[s.category] = bucket.get(s.category, 0.0) + s.weight
    categories = set(specific) | set(generic)
    scores: dict[str, float] = {}
    for category in categories:
        own = specific.get(category, 0.0)
        explained = any(v >= PHRASE - 0.5 and v > own for c, v in specific.items() if c != category)
        scores[category] = own + generic.get(category, 0.0) * (EXPLAINED_AWAY if explained else 1.0)
    for s in found:
        for symptom in s.explains:
            if symptom in scores and s.category in scores:
                scores[symptom] *= EXPLAINED_AWAY
    # "Not authenticated" is what happens after a failed login, not a cause of its own.
    if "auth_required" in scores and _auth_failure(ev):
        scores["auth_required"] *= EXPLAINED_AWAY
    return scores


def confidence(top: float, second: float, support: list[Signal]) -> float:
    """0..1: grows with the amount of evidence, shrinks when a rival is close, and is
    capped by the best kind of evidence behind the category (structured codes >
    phrases > codes > vague wording > context alone)."""
    if top < MIN_SCORE:
        return 0.0
    amount = 1.0 - math.exp(-top / 2.5)
    margin = 1.0 - 0.5 * (second / top)
    direct = [s for s in support if not s.context]
    specific = max((s.weight for s in direct if not s.generic), default=0.0)
    if specific >= STRUCTURED:
        cap = 0.99
    elif specific >= PHRASE - 0.5:
        cap = 0.95
    elif specific > 0:
        cap = 0.85
    elif direct:
        cap = 0.6  # only vague wording: we know what failed, not why
    else:
        cap = 0.5  # only the context: an educated guess
    return round(min(cap, amount * margin), 2)
