"""Scoring rules: which evidence points at which troubleshooting category, and how strongly.

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
from dataclasses import dataclass, replace

from .troubleshoot_evidence import Evidence

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


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def near(text: str, first: re.Pattern[str], second: re.Pattern[str], gap: int = 4, forbid: re.Pattern[str] | None = None) -> bool:
    """True when a match of `first` and one of `second` are at most `gap` words apart, in either order."""
    a = [m.span() for m in first.finditer(text)][:20]
    b = [m.span() for m in second.finditer(text)][:20]
    for a_start, a_end in a:
        for b_start, b_end in b:
            if a_end <= b_start:
                between = text[a_end:b_start]
            elif b_end <= a_start:
                between = text[b_end:a_start]
            else:
                return True
            if len(re.findall(r"\w+", between)) <= gap and "\n" not in between.strip():
                if forbid is None or not forbid.search(between):
                    return True
    return False


# --- concept vocabularies -------------------------------------------------
IMAP_WORD = _re(r"\bimap4?\b")
SMTP_AUTH_WORD = _re(
    r"smtp ?client ?authentication|smtp[ \-]?auth(?:entication)?\b|authenticated (?:client )?smtp"
    r"|client submission|\bsmtp\b (?:login|sign[ -]?in)"
)
BASIC_WORD = _re(
    r"basic ?auth(?:entication)?|legacy auth(?:entication)?|password[ \-]based (?:auth\w*|sign[ \-]?in|login)"
    r"|(?:username|user name)\s*(?:/|and|&)\s*password (?:sign[ \-]?in|login|logon|authentication)"
    r"|password (?:logins?|logons?|sign[ \-]?ins?)"
)
USE_OAUTH = _re(
    r"(?:please |must |need to |you have to )?use (?:oauth|modern auth\w*|xoauth2?|oauthbearer)|requires? (?:oauth|modern auth\w*|xoauth2?)"
    r"|only (?:oauth|modern auth\w*) (?:is )?(?:supported|allowed|accepted)"
)
POLICY_BLOCK = _re(
    r"security defaults|conditional access|did not meet the criteria to be authenticated"
    r"|blocked by (?:your )?(?:organi[sz]ation'?s? )?(?:sign-in |authentication )?polic"
)
OFF_WORD = _re(
    r"disabled|not enabled|isn'?t enabled|not been enabled|turned off|switched off|deactivated|not activated"
    r"|not allowed|not permitted|blocked|no longer (?:supported|available|allowed|works?)|not supported"
    r"|not available (?:for|on|in) (?:your|this)|retired|deprecated|not included|(?:does not|doesn'?t) (?:include|allow|permit)"
)
ENABLE_WORD = _re(r"\benabl(?:e|ed|ing)\b|\bturn (?:it )?on\b|\bactivate\b")
NETWORK_WORD = _re(r"\b(?:server|host|port|connection|network|socket|ssl|tls)\b")

APP_PASSWORD = _re(
    r"app(?:lication)?[ \-]?specific password|\bapp[ \-]?passwords?\b|application password"
    r"|third[ \-]party (?:app )?password|invalidsecondfactor|anwendungsspezifische"
)
WEB_LOGIN = _re(
    r"(?:log|sign) ?(?:in|on) (?:again )?(?:via|through|using|with|from|in|on|to) (?:your |a |the )?(?:web ?)?browser"
    r"|web ?login required|(?:log|sign) ?in (?:to|on|at) (?:your account on )?the web(?:site)?\b"
    r"|use (?:the )?web(?:mail| interface)? (?:for|to)\b|prove (?:that )?you are not a robot|captcha"
    r"|verify (?:it'?s you|your identity|your account) (?:in|via|on|using) (?:a |your |the )?(?:web|browser)"
    r"|accounts\.google\.com/signin/continue|answer/78754|answer=78754|unusual sign[ \-]?in activity"
    r"|blocked (?:a |the |your )?(?:suspicious )?sign[ \-]?in attempt|confirm (?:that )?it was you|suspicious (?:sign[ \-]?in|login) (?:attempt|activity)"
)
ADMIN_WORD = _re(r"\badmin(?:istrator)?s?\b|\bit department\b")
APPROVE_WORD = _re(r"\bapprov\w*|\bgrant\w*\b|\bconsent\w*")
CONSENT = _re(
    r"\bconsent(?:ed|ing)?\b|admin(?:istrator)?(?:'s)? approval|approval required|needs? (?:an? )?(?:admin|administrator)(?:'s)? (?:approval|permission)"
    r"|requires? (?:an? )?admin(?:istrator)? (?:approval|permission|consent)|grant requires admin"
    r"|only an admin can grant|admin_policy_enforced|restricted by policies within your organi[sz]ation"
    r"|third[ \-]party (?:email )?authori[sz]ation"
)
OAUTH_CONFIG = _re(
    r"invalid_client|unauthorized_client|invalid_scope|unsupported_grant_type|unsupported_response_type"
    r"|redirect[_ ]uri|reply ur[il]|reply address|redirect_uri_mismatch|client[_ ]secret|oauth client was not found"
    r"|application with identifier|not found in the directory|deleted_client|\bclient id\b"
    r"|scopes? (?:is |are )?(?:invalid|not valid|missing)|invalid scopes?"
    r"|has not completed the google verification|app (?:is blocked|has not been verified|isn'?t verified)"
    r"|this app'?s request is invalid|doesn'?t comply with google'?s (?:oauth|policies)"
)
INVALID_GRANT = _re(r"invalid_grant|token has been expired or revoked|refresh token (?:has )?expired")
AUTH_SUBJECT = _re(
    r"\b(?:credentials?|password|passwd|user ?name|login|log ?in|logon|authentication|authenticate|auth|sign[ \-]?in|user)\b"
)
AUTH_GAP_FORBID = _re(r"\b(?:connection|network|server|host|port|socket|certificate|dns|relay)\b")
AUTH_FAILED = _re(
    r"\b(?:failed|failure|fails|invalid|incorrect|wrong|not accepted|rejected|denied|unsuccessful|bad|mismatch"
    r"|not valid|not recognized|unknown|refused)\b"
)
AUTH_REQUIRED = _re(
    r"auth(?:entication)? (?:is )?required|must (?:issue an auth|authenticate)|(?:client|you) (?:was |were |are |is )?not authenticated"
    r"|authentication is required|not logged in|relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited|disallowed(?! as))"
    r"|(?:unable|not (?:allowed|permitted|authori[sz]ed)) to relay|we do not relay|(?:not|n't) in my list of allowed rcpthosts"
    r"|need to authenticate|please authenticate|requires? authentication|anonymous mail|without authentication"
)
ENCRYPTION_WORD = _re(r"\b(?:ssl|tls|ssl/tls|starttls|encrypt\w*|secure (?:connection|channel|layer))\b|\(tls\)|\(ssl\)")
REQUIRE_WORD = _re(r"\b(?:requires?|required|must|mandatory|needed|needs|only (?:over|with|via|after))\b")
TLS_REQUIRED = _re(
    r"(?:plaintext|cleartext|plain text|clear text) (?:auth(?:entication)?|logins?|passwords?) (?:is |are )?(?:disallowed|not allowed|disabled|not permitted)"
    r"|(?:cleartext|plaintext) logins? disabled|login only available under a layer|must issue a starttls command first"
    r"|(?:starttls|tls|ssl|encryption) (?:is )?(?:required|needed|mandatory)|requires? (?:an? )?(?:encrypted|secure|ssl|tls|ssl/tls) (?:connection|channel|layer)"
    r"|without (?:ssl/tls |ssl |tls )?encryption is not allowed|non-secure (?:\(ssl/tls\) )?connections?"
    r"|(?:login|logins|authentication|auth) (?:is )?(?:not allowed|not permitted|disabled|disallowed) (?:without|before|on) "
    r"|\blogindisabled\b|try connecting via tls|over an? (?:encrypted|secure) (?:connection|channel)|encryption needed"
)
AUTH_NOT_OFFERED = _re(
    r"(?:does not|doesn'?t) support (?:smtp[ \-]?)?authentication|auth(?:entication)? (?:extension )?(?:is )?not (?:supported|offered|available|advertised|enabled)"
    r"|no suitable authentication method|smtp auth extension is not supported|unrecognized authentication (?:type|mechanism)"
    r"|authentication (?:type|mechanism|method) (?:is )?not (?:supported|recognized|available)"
)
STARTTLS_WORD = _re(r"\b(?:starttls|stls)\b")
NOT_OFFERED = _re(
    r"\bnot (?:supported|offered|available|advertised|enabled|present)\b|\bunsupported\b|\bmissing\b"
    r"|(?:did|does|do) not (?:offer|advertise|support|announce)|(?:didn|doesn|don)'?t (?:offer|advertise|support|announce)"
)
STARTTLS_MISSING = _re(
    r"(?:starttls|stls|tls)(?: extension| command)? (?:is )?not (?:supported|offered|available|advertised|enabled)"
    r"|(?:doesn'?t|does not) (?:advertise|offer|support) (?:that feature|starttls|tls)|tls support is not enabled"
    r"|no starttls|starttls (?:is )?unavailable|server (?:does not|doesn'?t) (?:support|offer) (?:starttls|tls)"
)
TOO_MANY_CONNECTIONS = _re(
    r"too many (?:\w+ ){0,2}(?:connections|sessions)"
    r"|maximum (?:number of )?(?:\w+ )?connections?|connection limit|max(?:imum)? (?:number of )?connections"
    r"|mail_max_userip_connections|exceeded the maximum number of connections|concurrent connection"
)
RATE_LIMIT = _re(
    r"too many (?:\w+ ){0,2}(?:attempts|requests|commands|messages|recipients|logins)|rate[ \-]?limit\w*|throttl\w*"
    r"|(?:sending|send|daily|hourly|user) (?:\w+ )?(?:quota|limits?) (?:exceeded|reached)|quota exceeded|limits? exceeded"
    r"|exceeded (?:the |its |your )?(?:\d+[ \-]hour |daily |hourly )?(?:sending |command or bandwidth |bandwidth )?(?:limits?|quota)"
    r"|bandwidth limits?|unusual sending activity|slow down|too (?:fast|frequent|quickly)|reached (?:your |the )?(?:daily )?limit"
)
TEMPORARY = _re(
    r"temporar(?:y|ily)(?: \w+){0,2} (?:unavailable|failure|error|problem|down)|temporary system (?:error|problem)"
    r"|service (?:is )?(?:not |un)available|server (?:is )?(?:busy|unavailable|overloaded)|shutting down|server shutdown"
    r"|system error|internal (?:server )?error|under maintenance|maintenance mode|account is temporarily unavailable"
    r"|server has disconnected|server may have gone down|try again later|please try again in a (?:few|little)"
)
CONNECTION_LOST = _re(
    r"connection (?:was )?(?:lost|closed unexpectedly|reset|dropped|interrupted)|closed the connection|unexpectedly closed"
    r"|connection reset by peer|forcibly closed|server not connected|server disconnected|socket error: eof|unexpected eof received"
)
TLS_MISMATCH = _re(
    r"wrong version number|unknown protocol|record layer failure|packet length too long|wrong ssl version"
    r"|record (?:that )?exceeded the maximum permissible length|ssl_error_rx_record_too_long"
    r"|(?:does not|doesn'?t) support the (?:specified )?(?:connection )?encryption (?:type|method)"
    r"|encryption (?:type|method) you have specified|ssl3_get_record|tlsv1 alert protocol version|unsupported protocol"
    r"|http request (?:on|to) (?:an )?(?:https|ssl|tls)"
)
HANDSHAKE = _re(
    r"eof occurred in violation of protocol|unexpected eof while reading|handshake (?:failure|failed|timed? ?out)"
    r"|tls handshake|ssl handshake|ssl routines|ssl: "
)
CERTIFICATE = _re(
    r"certificate (?:verify|verification) failed|certificate has expired|self[ \-]signed certificate"
    r"|unable to get local issuer certificate|hostname mismatch|certificate is not valid for|not valid for '"
    r"|certificate (?:is )?(?:not trusted|untrusted|invalid|expired|revoked)|cannot verify server identity"
    r"|identity of .{0,80} cannot be verified|security certificate|certificate (?:chain|error|problem|name)"
    r"|unknown (?:ca|certificate authority)|signed by unknown authority|\bx509\b|sec_error_\w+|err_cert_\w+"
    r"|remotecertificate\w+|certificate_verify_failed|target principal name is incorrect|certificate .{0,40}(?:does not|doesn'?t) match"
)
DNS_OS = _re(
    r"name or service not known|nodename nor servname|temporary failure in name resolution|no address associated with hostname"
    r"|getaddrinfo (?:failed|enotfound)|\benotfound\b|wsahost_not_found|no such host is known|errno 1100[14]|errno -[235]\b"
)
DNS = _re(
    r"name or service not known|nodename nor servname|temporary failure in name resolution|no address associated with hostname"
    r"|getaddrinfo (?:failed|enotfound)|\benotfound\b|(?:could not|couldn'?t|unable to|cannot|can'?t|failed to) (?:resolve|look ?up)"
    r"|name resolution|host not found|unknown host|no such host|host(?:name)? could not be found|server could not be found"
    r"|wsahost_not_found|\bnxdomain\b|dns (?:lookup|resolution|query) failed|(?:server|host)(?: \(\w+\))? \S+ is unknown"
    r"|errno 11001|errno 11004|errno -[235]\b|\b0x800ccc0d\b"
)
REFUSED = _re(
    r"connection (?:was )?refused|actively refused|\beconnrefused\b|wsaeconnrefused|\b10061\b|refused (?:to allow )?(?:a |the )?connection"
    r"|refusing (?:\w+ )?connections|errno 111\b|errno 61\b|no connection could be made|connect call failed"
)
CANNOT_CONNECT = _re(r"(?:cannot|can'?t|could not|couldn'?t|unable to|failed to) connect(?:ing)? to (?:the |your )?(?:\w+ ){0,3}server|\b0x800ccc0e\b")
TIMEOUT = _re(
    r"timed? ?out|\btimeout\b|\b10060\b|wsaetimedout|\betimedout\b|errno 110\b|errno 60\b"
    r"|did not properly respond after a period of time|failed to respond|greeting never received|took too long"
    r"|no response from (?:the )?server|disconnected for inactivity"
)
UNREACHABLE = _re(r"network is unreachable|no route to host|host is unreachable|unreachable host|\b1006[45]\b|\b10051\b")
SENDER_SPECIFIC = _re(
    r"send ?as ?denied|sendasdenied|not (?:allowed|authori[sz]ed|permitted) to send (?:email |mail |messages? )?(?:as|from|on behalf)"
    r"|not owned by (?:auth(?:enticated)? )?user|(?:do(?:es)? not|don'?t) have (?:the )?permissions? to send"
    r"|permission to send (?:the message )?on behalf|sender (?:address )?(?:is )?not (?:allowed|permitted|authori[sz]ed)"
    r"|from address (?:is )?not (?:allowed|verified|permitted)|sender verify failed|invalid sender|bad sender"
    r"|sender domain (?:must exist|not found|does not exist)|relaying disallowed as"
)
SENDER_GENERIC = _re(r"sender address rejected|sender (?:was )?refused|mail from (?:command )?(?:rejected|failed)|from address failed")
POP3_TEXT = _re(r"\bpop3?\b (?:server|service|ready)|\+ok pop3?|is (?:a|an) pop3? (?:server|account)|only (?:supports |offers )?pop3?\b|pop3 only")
WRONG_SERVICE_TEXT = _re(
    r"not an imap4? (?:mail )?server|unexpected token in imap greeting|syntax error in imap server greeting"
    r"|malformed smtp response|(?:sent an )?(?:invalid|unexpected|incorrect) greeting|greeting from server"
)
UNEXPECTED_RESPONSE = _re(r"unexpected response|unexpected (?:server )?reply")
IMAP_MARKER = _re(r"imaplib|imapclient|\bimap4?\b|imap greeting|imap server")
SMTP_MARKER = _re(r"smtplib|aiosmtplib|\bsmtp\b|smtp response|ehlo|helo")

# Microsoft identity platform (AADSTS) codes whose meaning is fixed.
AADSTS = {
    65001: "consent_required",  # user or administrator has not consented
    65004: "consent_required",  # user declined to consent
    90093: "consent_required",  # calling principal cannot consent (no access to consent)
    90094: "consent_required",  # the grant requires admin permission
    90095: "consent_required",  # admin consent is required / requested
    700016: "oauth_misconfigured",  # application not found in the directory
    50011: "oauth_misconfigured",  # redirect URI mismatch
    7000215: "oauth_misconfigured",  # invalid client secret
    7000222: "oauth_misconfigured",  # client secret expired
    70011: "oauth_misconfigured",  # invalid scope
    900144: "oauth_misconfigured",  # request misses a required parameter
    700054: "oauth_misconfigured",  # response type not enabled for the app
    50194: "oauth_misconfigured",  # app not configured as multi-tenant
    650057: "oauth_misconfigured",  # invalid resource / permission not configured
    50126: "invalid_credentials",  # invalid username or password
    50034: "invalid_credentials",  # user account does not exist
    50055: "invalid_credentials",  # password expired
    70008: "invalid_credentials",  # expired or revoked grant: sign in again
    700082: "invalid_credentials",  # refresh token expired through inactivity
    50053: "rate_limited",  # account locked after too many sign-in attempts
}

# Enhanced status codes (RFC 3463 and providers' own use of them) with a fixed meaning.
ENHANCED_STRUCTURED = {
    "5.7.9": ("app_password_required", "534 5.7.9: Google's 'application-specific password required'"),
    "5.7.14": ("web_login_required", "534 5.7.14: the provider wants a sign-in through the web first"),
    "5.7.57": ("auth_required", "5.7.57: the client was not authenticated before sending"),
    "5.7.30": ("basic_auth_disabled", "5.7.30: basic authentication is not supported for client submission"),
    "5.7.60": ("sender_rejected", "5.7.60: no permission to send as this sender"),
    "5.2.252": ("sender_rejected", "5.2.252: SendAsDenied"),
    "5.7.10": ("tls_required", "5.7.10: encryption needed for this authentication mechanism"),
    "5.7.11": ("tls_required", "5.7.11: encryption required"),
}


def _off_near(text: str, word: re.Pattern[str]) -> bool:
    return near(text, word, OFF_WORD, gap=4, forbid=NETWORK_WORD)


def _auth_failure(ev: Evidence) -> bool:
    """Did a login attempt take place and fail? (Explains away "not authenticated".)"""
    return (
        "AUTHENTICATIONFAILED" in ev.imap_codes
        or 535 in ev.smtp_codes
        or ev.has("smtp_auth", "login")
        or near(ev.text, AUTH_SUBJECT, AUTH_FAILED, gap=5, forbid=AUTH_GAP_FORBID)
    )


def signals(ev: Evidence, ctx: Context) -> list[Signal]:
    """Every signal the evidence and context give, before weighing."""
    out: list[Signal] = []
    add = out.append
    text = ev.text
    protocol = ctx.protocol or ev.library_protocol

    # A category the backend already settled on (TamagoError.category).
    if ev.tamago_category:
        add(Signal(ev.tamago_category, STRUCTURED + 1, f"raised as a {ev.tamago_category} error by tamago"))

    # --- exceptions, OpenSSL reasons, errno ---------------------------------
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
        if reason in {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                      "HTTP_REQUEST", "WRONG_SSL_VERSION", "UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION"}:
            add(Signal("tls_mismatch", STRUCTURED, f"TLS handshake failed: {reason.lower().replace('_', ' ')}"))
        elif reason == "CERTIFICATE_VERIFY_FAILED":
            add(Signal("certificate_invalid", STRUCTURED, "certificate verify failed"))

    # --- codes -------------------------------------------------------------
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
        add(Signal("server_unavailable", 1.0, "the server said BYE", generic=True))

    for code in dict.fromkeys(ev.enhanced):
        if code in ENHANCED_STRUCTURED:
            category, reason = ENHANCED_STRUCTURED[code]
            weight = STRUCTURED if code != "5.7.9" else CODE + (1.5 if "google" in text or ctx.provider in {"gmail", "google_workspace"} else 0)
            add(Signal(category, weight, reason))
        elif code == "5.7.139":
            add(Signal("basic_auth_disabled", HINT, "5.7.139: Microsoft refused the authentication"))
            add(Signal("smtp_auth_disabled", 1.0, "5.7.139: Microsoft refused the authentication"))
            add(Signal("invalid_credentials", 1.0, "5.7.139: Microsoft refused the authentication", generic=True))
        elif code == "5.7.3" and (535 in ev.smtp_codes or near(text, AUTH_SUBJECT, AUTH_FAILED, gap=5, forbid=AUTH_GAP_FORBID)):
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

    for number in ev.aadsts:
        category = AADSTS.get(number)
        if category:
            add(Signal(category, STRUCTURED, f"AADSTS{number} from Microsoft's sign-in service"))
        else:
            add(Signal("oauth_misconfigured", GENERIC, f"AADSTS{number}: Microsoft sign-in refused the request", generic=True))

    # --- phrase families -----------------------------------------------------
    if APP_PASSWORD.search(text):
        add(Signal("app_password_required", PHRASE, "the server asks for an app password"))
    if WEB_LOGIN.search(text):
        add(Signal("web_login_required", PHRASE, "the server wants a sign-in through a web browser"))
    if _off_near(text, IMAP_WORD):
        add(Signal("imap_disabled", PHRASE, "IMAP access is switched off for the account"))
    elif near(text, ENABLE_WORD, IMAP_WORD, gap=4, forbid=NETWORK_WORD):
        add(Signal("imap_disabled", PHRASE - 0.5, "the server asks to enable IMAP"))
    if _off_near(text, BASIC_WORD) or "basicauthblocked" in text:
        add(Signal("basic_auth_disabled", PHRASE, "password (basic) authentication is switched off"))
    if USE_OAUTH.search(text) and not ev.has("tamago"):
        add(Signal("basic_auth_disabled", PHRASE - 1, "the server asks for OAuth instead of a password"))
    if POLICY_BLOCK.search(text):
        add(Signal("basic_auth_disabled", CODE, "an organisation sign-in policy blocks password logins"))
    if _off_near(text, SMTP_AUTH_WORD) or "aka.ms/smtp_auth_disabled" in text:
        add(Signal("smtp_auth_disabled", PHRASE + 1, "SMTP AUTH is switched off for the mailbox or tenant"))
    if AUTH_NOT_OFFERED.search(text):
        if re.search(r"try connecting via tls|starttls first|after starttls", text) or ctx.security == "none":
            add(Signal("tls_required", PHRASE + 1, "the server offers login only after TLS"))
        else:
            add(Signal("smtp_auth_disabled", PHRASE, "the server does not offer authentication"))
    if CONSENT.search(text) or near(text, ADMIN_WORD, APPROVE_WORD, gap=3):
        add(Signal("consent_required", PHRASE, "the app needs consent from an administrator"))
    if OAUTH_CONFIG.search(text):
        add(Signal("oauth_misconfigured", PHRASE, "the OAuth app registration does not match the request"))
    if INVALID_GRANT.search(text):
        add(Signal("invalid_credentials", CODE, "the saved sign-in (token) expired or was revoked"))
    if near(text, AUTH_SUBJECT, AUTH_FAILED, gap=5, forbid=AUTH_GAP_FORBID):
        add(Signal("invalid_credentials", GENERIC, "the server says the login failed", generic=True))
    if AUTH_REQUIRED.search(text):
        add(Signal("auth_required", PHRASE, "the server wants authentication before it accepts mail"))
    if TLS_REQUIRED.search(text):
        add(Signal("tls_required", PHRASE, "the server refuses to log in without encryption"))
    elif near(text, REQUIRE_WORD, ENCRYPTION_WORD, gap=3) and not STARTTLS_MISSING.search(text):
        add(Signal("tls_required", PHRASE - 1, "the server wants an encrypted connection"))
    if STARTTLS_MISSING.search(text) or near(text, STARTTLS_WORD, NOT_OFFERED, gap=3):
        add(Signal("starttls_unavailable", PHRASE + 1, "the server does not offer STARTTLS"))
    if TOO_MANY_CONNECTIONS.search(text):
        add(Signal("too_many_connections", PHRASE, "too many connections are open for this account"))
    if RATE_LIMIT.search(text):
        add(Signal("rate_limited", PHRASE, "the provider is limiting logins or sending"))
    if TEMPORARY.search(text):
        add(Signal("server_unavailable", PHRASE if "try again later" not in text else GENERIC,
                   "the server reports a temporary problem", generic="try again later" in text))
    if CONNECTION_LOST.search(text):
        add(Signal("server_unavailable", GENERIC, "the connection was closed or lost", generic=True))
    if TLS_MISMATCH.search(text):
        add(Signal("tls_mismatch", PHRASE, "the TLS handshake met something that is not TLS"))
    if HANDSHAKE.search(text):
        add(Signal("tls_mismatch", GENERIC, "the TLS handshake failed", generic=True))
    if CERTIFICATE.search(text):
        add(Signal("certificate_invalid", PHRASE, "the server certificate is not trusted"))
    if DNS_OS.search(text):
        add(Signal("dns_failure", STRUCTURED, "the resolver could not find the server name"))
    elif DNS.search(text):
        add(Signal("dns_failure", PHRASE, "the server name could not be found"))
    if REFUSED.search(text):
        add(Signal("connection_refused", PHRASE, "the connection was refused"))
    elif CANNOT_CONNECT.search(text):
        add(Signal("connection_refused", GENERIC, "the app could not connect to the server", generic=True))
    if TIMEOUT.search(text):
        add(Signal("timeout", PHRASE, "the connection timed out"))
    if UNREACHABLE.search(text):
        add(Signal("timeout", CODE, "the server cannot be reached from this network"))
    if SENDER_SPECIFIC.search(text):
        add(Signal("sender_rejected", PHRASE, "the server refuses this sender (From) address"))
    if SENDER_GENERIC.search(text):
        add(Signal("sender_rejected", GENERIC, "the sender address was rejected", generic=True))
    if POP3_TEXT.search(text):
        add(Signal("pop3_only", PHRASE, "the server identifies as POP3"))

    # --- who answered on the port ------------------------------------------
    greetings = ev.greetings
    if "pop3" in greetings:
        add(Signal("pop3_only", STRUCTURED, "a POP3 server answered ('+OK' greeting)"))
    imap_side = protocol == "imap" or (protocol is None and IMAP_MARKER.search(text))
    smtp_side = protocol == "smtp" or (protocol is None and SMTP_MARKER.search(text) and not IMAP_MARKER.search(text))
    if "smtp" in greetings and imap_side:
        add(Signal("wrong_service", STRUCTURED, "an SMTP server answered where IMAP was expected"))
    if "imap" in greetings and smtp_side and protocol != "imap":
        add(Signal("wrong_service", STRUCTURED, "an IMAP server answered where SMTP was expected"))
    for other in ("http", "ssh", "ftp"):
        if other in greetings:
            add(Signal("wrong_service", STRUCTURED, f"an {other.upper()} server answered on the mail port"))
    if WRONG_SERVICE_TEXT.search(text):
        add(Signal("wrong_service", PHRASE - 1, "the server's greeting is not the expected protocol"))
    elif UNEXPECTED_RESPONSE.search(text):
        add(Signal("wrong_service", 1.0, "the server answered something unexpected", generic=True))

    out.extend(_context_signals(ev, ctx, out))
    return out


def _context_signals(ev: Evidence, ctx: Context, found: list[Signal]) -> list[Signal]:
    """Port, security and provider: weak on their own, decisive between close candidates."""
    extra = _ContextList()
    present = {s.category for s in found}
    port, security = ctx.port, ctx.security
    protocol = ctx.protocol or ev.library_protocol
    connection_trouble = present & {"timeout", "server_unavailable", "tls_mismatch"} or ev.has("ssl")
    mismatch = (security == "ssl" and port in PLAIN_OR_STARTTLS_PORTS) or (
        security in {"starttls", "none"} and port in IMPLICIT_TLS_PORTS
    )
    if mismatch and connection_trouble:
        extra.append(Signal("tls_mismatch", STRUCTURED + 1,
                            f"port {port} expects {'plain/STARTTLS' if security == 'ssl' else 'SSL/TLS'}, not {security}",
                            explains=frozenset({"timeout", "server_unavailable"})))
    elif mismatch and present & {"tls_mismatch"}:
        extra.append(Signal("tls_mismatch", HINT, f"port {port} does not go with {security}"))
    if port in POP3_PORTS and protocol != "pop3" and (connection_trouble or present & {"wrong_service", "pop3_only"}):
        extra.append(Signal("pop3_only", HINT, f"port {port} is a POP3 port"))
    if (protocol == "imap" and port in SMTP_PORTS) or (protocol == "smtp" and port in IMAP_PORTS):
        extra.append(Signal("wrong_service", HINT, f"port {port} belongs to another mail protocol"))
    if security == "none" and present & {"invalid_credentials", "smtp_auth_disabled"}:
        extra.append(Signal("tls_required", HINT, "the connection is unencrypted, and many servers refuse logins on it"))
    # Microsoft's cloud refuses password logins over IMAP (and Outlook.com over SMTP too):
    # a plain "authentication failed" there means basic auth is off, or the OAuth token is wrong.
    auth_failed = present & {"invalid_credentials"} and not present & {
        "app_password_required", "smtp_auth_disabled", "basic_auth_disabled", "tls_required", "oauth_misconfigured"}
    if ctx.provider in MICROSOFT_CLOUD and auth_failed and (protocol != "smtp" or ctx.provider == "outlook"):
        target = "oauth_misconfigured" if ctx.auth == "oauth2" else "basic_auth_disabled"
        why = ("Microsoft refuses OAuth tokens without the IMAP/SMTP permission for this mailbox"
               if target == "oauth_misconfigured" else "Microsoft no longer accepts passwords here; it needs OAuth")
        extra.append(Signal(target, PHRASE, why))
    return extra


class _ContextList(list):
    """Collects signals and marks them as inferred from context."""

    def append(self, signal: Signal) -> None:
        super().append(replace(signal, context=True))


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
