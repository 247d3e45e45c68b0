"""The words of the troubleshooting classifier: concept vocabularies and code tables.

Each pattern stands for one concept ("IMAP", "switched off", "app password",
"encryption"), written as the family of ways servers and clients phrase it.
troubleshoot_rules.py combines concepts ("IMAP" near "switched off") rather
than matching whole messages, so new wordings of a known cause still match.
All patterns run on the normalised (lower-case) text.
"""

from __future__ import annotations

import re


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _any(*alternatives: str) -> re.Pattern[str]:
    """One concept: any of its wordings."""
    return _re("|".join(alternatives))


def near(
    text: str, first: re.Pattern[str], second: re.Pattern[str], gap: int = 4, forbid: re.Pattern[str] | None = None
) -> bool:
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


IMAP_WORD = _re(r"\bimap4?\b")
SMTP_AUTH_WORD = _any(
    r"smtp ?client ?authentication",
    r"smtp[ \-]?auth(?:entication)?\b",
    r"authenticated (?:client )?smtp",
    r"client submission",
    r"\bsmtp\b (?:login|sign[ -]?in)",
)
BASIC_WORD = _any(
    r"basic ?auth(?:entication)?",
    r"legacy (?:\(?password\)? )?(?:auth\w*|sign[ \-]?ins?|logins?|protocols?)",
    r"password[ \-]based (?:auth\w*|sign[ \-]?in|login)",
    r"(?:username|user name)\s*(?:/|and|&)\s*password (?:sign[ \-]?in|login|logon|authentication)",
    r"password (?:logins?|logons?|sign[ \-]?ins?)",
)
USE_OAUTH = _any(
    r"(?:please |must |need to |you have to )?use (?:oauth|modern auth\w*|xoauth2?|oauthbearer)",
    r"requires? (?:oauth|modern auth\w*|xoauth2?)",
    r"only (?:oauth|modern auth\w*) (?:is )?(?:supported|allowed|accepted)",
)
POLICY_BLOCK = _any(
    r"security defaults",
    r"conditional access",
    r"did not meet the criteria to be authenticated",
    r"blocked by (?:your )?(?:organi[sz]ation'?s? )?(?:sign-in |authentication )?polic",
)
OFF_WORD = _any(
    r"disabled",
    r"not enabled",
    r"isn'?t enabled",
    r"not been enabled",
    r"turned off",
    r"switched off",
    r"deactivated",
    r"not activated",
    r"not allowed",
    r"not permitted",
    r"blocked",
    r"no longer (?:supported|available|allowed|works?)",
    r"not supported",
    r"not available (?:for|on|in) (?:your|this)",
    r"retired",
    r"deprecated",
    r"not included",
    r"(?:does not|doesn'?t) (?:include|allow|permit)",
)
ENABLE_WORD = _any(
    r"\benabl(?:e|ed|ing)\b",
    r"\bturn (?:it )?on\b",
    r"\bactivate\b",
)
NETWORK_WORD = _re(r"\b(?:server|host|port|connection|network|socket|ssl|tls)\b")

APP_PASSWORD = _any(
    r"app(?:lication)?[ \-]?specific password",
    r"\bapp[ \-]?passwords?\b",
    r"application password",
    r"third[ \-]party (?:app )?password",
    r"invalidsecondfactor",
    r"anwendungsspezifische",
)
WEB_LOGIN = _any(
    r"(?:log|sign) ?(?:in|on) (?:again )?(?:via|through|using|with|from|in|on|to) (?:your |a |the )?(?:web ?)?browser",
    r"web ?login required",
    r"(?:log|sign) ?in (?:to|on|at|through|via) (?:your account on )?(?:the|their|its|our) web(?:site)?\b(?! ?mail)",
    r"use (?:the )?web(?:mail| interface)? (?:for|to)\b",
    r"prove (?:that )?you are not a robot",
    r"captcha",
    r"verify (?:it'?s you|your identity|your account) (?:in|via|on|using) (?:a |your |the )?(?:web|browser)",
    r"accounts\.google\.com/signin/continue",
    r"answer/78754",
    r"answer=78754",
    r"unusual sign[ \-]?in activity",
    r"blocked (?:a |the |your )?(?:suspicious )?sign[ \-]?in attempt",
    r"confirm (?:that )?it(?: was|'?s| is) (?:really )?(?:you|me)\b",
    r"suspicious (?:sign[ \-]?in|login) (?:attempt|activity)",
)
ADMIN_WORD = _any(
    r"\badmin(?:istrator)?s?\b",
    r"\bit department\b",
)
APPROVE_WORD = _any(
    r"\bapprov\w*",
    r"\bgrant\w*\b",
    r"\bconsent\w*",
)
CONSENT = _any(
    r"\bconsent(?:ed|ing)?\b",
    r"admin(?:istrator)?(?:'s)? approval",
    r"approval required",
    r"needs? (?:an? )?(?:admin|administrator)(?:'s)? (?:approval|permission)",
    r"requires? (?:an? )?admin(?:istrator)? (?:approval|permission|consent)",
    r"grant requires admin",
    r"only an admin can grant",
    r"admin_policy_enforced",
    r"restricted by policies within your organi[sz]ation",
    r"third[ \-]party (?:email )?authori[sz]ation",
)
OAUTH_CONFIG = _any(
    r"invalid_client",
    r"unauthorized_client",
    r"invalid_scope",
    r"unsupported_grant_type",
    r"unsupported_response_type",
    r"redirect[_ ]uri",
    r"reply ur[il]",
    r"reply address",
    r"redirect_uri_mismatch",
    r"client[_ ]secret",
    r"oauth client was not found",
    r"application with identifier",
    r"not found in the directory",
    r"deleted_client",
    r"\bclient id\b",
    r"scopes? (?:is |are )?(?:invalid|not valid|missing)",
    r"invalid scopes?",
    r"has not completed the google verification",
    r"app (?:is blocked|has not been verified|isn'?t verified)",
    r"this app'?s request is invalid",
    r"doesn'?t comply with google'?s (?:oauth|policies)",
)
INVALID_GRANT = _any(
    r"invalid_grant",
    r"token has been expired or revoked",
    r"refresh token (?:has )?expired",
)
AUTH_SUBJECT = _any(
    r"\b(?:credentials?|password|passwd|user ?name|login|log ?in|logon|authentication|authenticate|auth|sign[ \-]?in|user)\b",
)
AUTH_GAP_FORBID = _re(r"\b(?:connection|network|server|host|port|socket|certificate|dns|relay)\b")
AUTH_FAILED = _any(
    r"\b(?:failed|failure|fails|invalid|incorrect|wrong|not accepted|rejected|denied|unsuccessful|bad|mismatch|not valid|not recognized|unknown|refused)\b",
)
# "Unable to authenticate", "could not log in": a login was tried and did not succeed.
LOGIN_NOT_DONE = _any(
    r"(?:unable|failed|could not|couldn'?t|cannot|can'?t) (?:to )?(?:authenticate|log ?in|sign ?in)\b(?! (?:before|first|via|through|with your web))",
)
AUTH_REQUIRED = _any(
    r"auth(?:entication)? (?:is )?required",
    r"must (?:issue an auth|authenticate)",
    r"(?:client|you) (?:was |were |are |is )?not authenticated",
    r"authentication is required",
    r"not logged in",
    r"relay(?:ing)? (?:access )?(?:denied|not permitted|not allowed|prohibited|disallowed(?! as))",
    r"(?:unable|not (?:allowed|permitted|authori[sz]ed)) to relay",
    r"we do not relay",
    r"(?:not|n't) in my list of allowed rcpthosts",
    r"need to authenticate",
    r"please authenticate",
    r"requires? authentication",
    r"anonymous mail",
    r"without authentication",
)
ENCRYPTION_WORD = _any(
    r"\b(?:ssl|tls|ssl/tls|starttls|encrypt\w*|secure (?:connection|channel|layer))\b",
    r"\(tls\)",
    r"\(ssl\)",
)
REQUIRE_WORD = _re(r"\b(?:requires?|required|must|mandatory|needed|needs|only (?:over|with|via|after))\b")
TLS_REQUIRED = _any(
    r"(?:plaintext|cleartext|plain text|clear text) (?:auth(?:entication)?|logins?|passwords?) (?:is |are )?(?:disallowed|not allowed|disabled|not permitted)",
    r"(?:cleartext|plaintext) logins? disabled",
    r"(?:disallowed|not allowed|disabled|forbidden) (?:plaintext|cleartext|plain text|clear text) (?:auth\w*|logins?|passwords?)",
    r"login only available under a layer",
    r"must issue a starttls command first",
    r"(?:starttls|tls|ssl|encryption) (?:is )?(?:required|needed|mandatory)",
    r"requires? (?:an? )?(?:encrypted|secure|ssl|tls|ssl/tls) (?:connection|channel|layer)",
    r"without (?:ssl/tls |ssl |tls )?encryption is not allowed",
    r"non-secure (?:\(ssl/tls\) )?connections?",
    r"(?:login|logins|authentication|auth) (?:is )?(?:not allowed|not permitted|disabled|disallowed) (?:without|before|on) ",
    r"\blogindisabled\b",
    r"try connecting via tls",
    r"over an? (?:encrypted|secure) (?:connection|channel)",
    r"encryption needed",
)
AUTH_NOT_OFFERED = _any(
    r"(?:does not|doesn'?t) support (?:smtp[ \-]?)?authentication",
    r"auth(?:entication)? (?:extension )?(?:is )?not (?:supported|offered|available|advertised|enabled)",
    r"no suitable authentication method",
    r"smtp auth extension is not supported",
    r"auth(?:entication)? command used when not advertised",
    r"unrecognized authentication (?:type|mechanism)",
    r"authentication (?:type|mechanism|method) (?:is )?not (?:supported|recognized|available)",
)
STARTTLS_WORD = _re(r"\b(?:starttls|stls)\b")
NOT_OFFERED = _any(
    r"\bnot (?:supported|offered|available|advertised|enabled|present)\b",
    r"\bunsupported\b",
    r"\bmissing\b",
    r"(?:did|does|do) not (?:offer|advertise|support|announce)",
    r"(?:didn|doesn|don)'?t (?:offer|advertise|support|announce)",
)
STARTTLS_MISSING = _any(
    r"(?:starttls|stls|tls)(?: extension| command)? (?:is )?not (?:supported|offered|available|advertised|enabled)",
    r"(?:doesn'?t|does not) (?:advertise|offer|support) (?:that feature|starttls|tls)",
    r"tls support is not enabled",
    r"no starttls",
    r"starttls (?:is )?unavailable",
    r"server (?:does not|doesn'?t) (?:support|offer) (?:starttls|tls)",
)
TOO_MANY_CONNECTIONS = _any(
    r"too many (?:\w+ ){0,2}(?:connections|sessions)",
    r"maximum (?:number of )?(?:\w+ )?connections?",
    r"connection limit",
    r"max(?:imum)? (?:number of )?connections",
    r"mail_max_userip_connections",
    r"exceeded the maximum number of connections",
    r"concurrent connection",
)
RATE_LIMIT = _any(
    r"too many (?:\w+ ){0,2}(?:attempts|requests|commands|messages|recipients|logins)",
    r"rate[ \-]?limit\w*",
    r"throttl\w*",
    r"(?:sending|send|daily|hourly|user) (?:\w+ )?(?:quota|limits?) (?:exceeded|reached)",
    r"quota exceeded",
    r"limits? exceeded",
    r"exceeded (?:the |its |your )?(?:\d+[ \-]hour |daily |hourly )?(?:sending |command or bandwidth |bandwidth )?(?:limits?|quota)",
    r"bandwidth limits?",
    r"unusual sending activity",
    r"slow down",
    r"too (?:fast|frequent|quickly)",
    r"reached (?:your |the )?(?:daily )?limit",
)
TEMPORARY = _any(
    r"temporar(?:y|ily)(?: \w+){0,2} (?:unavailable|failure|error|problem|down)",
    r"temporary system (?:error|problem)",
    r"service (?:is )?(?:not |un)available",
    r"server (?:is )?(?:busy|unavailable|overloaded)",
    r"shutting down",
    r"(?:server|service|daemon) (?:was |has been )?shut ?down",
    r"shut ?down by signal",
    r"server shutdown",
    r"system error",
    r"internal (?:server )?error",
    r"under maintenance",
    r"maintenance mode",
    r"account is temporarily unavailable",
    r"server has disconnected",
    r"server may have gone down",
    r"try again later",
    r"please try again in a (?:few|little)",
)
CONNECTION_LOST = _any(
    r"connection (?:was )?(?:lost|closed unexpectedly|reset|dropped|interrupted)",
    r"closed the connection",
    r"unexpectedly closed",
    r"connection reset by peer",
    r"forcibly closed",
    r"server not connected",
    r"server disconnected",
    r"socket error: eof",
    r"unexpected eof received",
)
TLS_MISMATCH = _any(
    r"wrong version number",
    r"unknown protocol",
    r"record layer failure",
    r"packet length too long",
    r"wrong ssl version",
    r"record (?:that )?exceeded the maximum permissible length",
    r"ssl_error_rx_record_too_long",
    r"(?:does not|doesn'?t) support the (?:specified )?(?:connection )?encryption (?:type|method)",
    r"encryption (?:type|method) you have specified",
    r"ssl3_get_record",
    r"unrecognized ssl message",
    r"tlsv1 alert protocol version",
    r"unsupported protocol",
    r"http request (?:on|to) (?:an )?(?:https|ssl|tls)",
)
HANDSHAKE = _any(
    r"eof occurred in violation of protocol",
    r"unexpected eof while reading",
    r"handshake (?:failure|failed|timed? ?out)",
    r"tls handshake",
    r"ssl handshake",
    r"ssl routines",
    r"ssl: ",
)
CERTIFICATE = _any(
    r"certificate (?:verify|verification) failed",
    r"certificate has expired",
    r"self[ \-]signed certificate",
    r"unable to get local issuer certificate",
    r"hostname mismatch",
    r"certificate is not valid for",
    r"not valid for '",
    r"certificate (?:is )?(?:not trusted|untrusted|invalid|expired|revoked)",
    r"cannot verify server identity",
    r"identity of .{0,80} cannot be verified",
    r"(?:can'?t|cannot|unable to|could not) verify the identity of",
    r"pretending to be",
    r"certificate for (?:this|the) server is (?:invalid|not valid|expired|not trusted)",
    r"hostname '[^']*' (?:doesn'?t|does not) match",
    r"(?:doesn'?t|does not) match (?:either|any) of '",
    r"certificate'?s? altnames?",
    r"cert'?s? altnames?",
    r"err_tls_cert_\w+",
    r"\bcertificateerror\b",
    r"\bsslcertverificationerror\b",
    r"security certificate",
    r"certificate (?:chain|error|problem|name)",
    r"unknown (?:ca|certificate authority)",
    r"signed by unknown authority",
    r"\bx509\b",
    r"sec_error_\w+",
    r"err_cert_\w+",
    r"remotecertificate\w+",
    r"certificate_verify_failed",
    r"target principal name is incorrect",
    r"certificate .{0,40}(?:does not|doesn'?t) match",
)
DNS_OS = _any(
    r"name or service not known",
    r"nodename nor servname",
    r"temporary failure in name resolution",
    r"no address associated with hostname",
    r"getaddrinfo (?:failed|enotfound)",
    r"\benotfound\b",
    r"wsahost_not_found",
    r"no such host is known",
    r"errno 1100[14]",
    r"errno -[235]\b",
)
DNS = _any(
    r"name or service not known",
    r"nodename nor servname",
    r"temporary failure in name resolution",
    r"no address associated with hostname",
    r"getaddrinfo (?:failed|enotfound)",
    r"\benotfound\b",
    r"(?:could not|couldn'?t|unable to|cannot|can'?t|failed to) (?:resolve|look ?up)",
    r"name resolution",
    r"host not found",
    r"unknown (?:\w+ )?host\b",
    r"unknownhostexception",
    r"no such host",
    r"host(?:name)? could not be found",
    r"server could not be found",
    r"query name does not exist",
    r"wsahost_not_found",
    r"\bnxdomain\b",
    r"dns (?:lookup|resolution|query) failed",
    r"(?:server|host)(?: \(\w+\))? \S+ is unknown",
    r"errno 11001",
    r"errno 11004",
    r"errno -[235]\b",
    r"\b0x800ccc0d\b",
)
# A DNS server that does not answer: a name problem, not a mail server that is slow.
DNS_TIMEOUT = _any(
    r"dns (?:lookup|resolution|query|request)(?: (?:via|at|to|for) \S+)* (?:timed? ?out|got no answer)",
    r"(?:resolver|name ?server|dns server)s? (?:\S+ )?(?:timed? ?out|did not answer|(?:is )?not responding)",
    r"lookup timed out",
)
REFUSED = _any(
    r"connection (?:was )?refused",
    r"actively refused",
    r"\beconnrefused\b",
    r"wsaeconnrefused",
    r"\b10061\b",
    r"refused (?:to allow )?(?:a |the )?connection",
    r"refusing (?:\w+ )?connections",
    r"errno 111\b",
    r"errno 61\b",
    r"no connection could be made",
    r"connect call failed",
)
CANNOT_CONNECT = _any(
    r"(?:cannot|can'?t|could not|couldn'?t|unable to|failed to) connect(?:ing)? to (?:the |your )?(?:\w+ ){0,3}server",
    r"\b0x800ccc0e\b",
)
TIMEOUT = _any(
    r"timed? ?out",
    r"\btimeout\b",
    r"\b10060\b",
    r"wsaetimedout",
    r"\betimedout\b",
    r"errno 110\b",
    r"errno 60\b",
    r"did not properly respond after a period of time",
    r"failed to respond",
    r"greeting never received",
    r"took too long",
    r"no response from (?:the )?server",
    r"disconnected for inactivity",
    r"autologout",
    r"idle (?:for )?too long",
)
UNREACHABLE = _any(
    r"network is unreachable",
    r"no route to host",
    r"host is unreachable",
    r"unreachable host",
    r"\b1006[45]\b",
    r"\b10051\b",
)
SENDER_SPECIFIC = _any(
    r"send ?as ?denied",
    r"sendasdenied",
    r"not (?:allowed|authori[sz]ed|permitted) to send (?:email |mail |messages? )?(?:as|from|on behalf)",
    r"not owned by (?:auth(?:enticated)? )?user",
    r"(?:do(?:es)? not|don'?t) have (?:the )?permissions? to send",
    r"permission to send (?:the message )?on behalf",
    r"sender (?:address )?(?:is )?not (?:allowed|permitted|authori[sz]ed)",
    r"from address (?:is )?not (?:allowed|verified|permitted)",
    r"sender verify failed",
    r"invalid sender",
    r"bad sender",
    r"sender domain (?:must exist|not found|does not exist)",
    r"relaying disallowed as",
)
SENDER_GENERIC = _any(
    r"sender address rejected",
    r"sender (?:was )?refused",
    r"mail from (?:command )?(?:rejected|failed)",
    r"from address failed",
)
POP3_TEXT = _any(
    r"\bpop3?\b (?:server|service|ready)",
    r"\+ok pop3?",
    r"is (?:a|an) pop3? (?:server|account)",
    r"only (?:supports |offers )?pop3?\b",
    r"pop3 only",
)
# This machine's disk or tamago's database: strerror texts (ENOSPC, EROFS, EDQUOT) and SQLite's.
LOCAL_STORAGE = _any(
    r"no space left on device",
    r"database or disk is full",
    r"disk quota exceeded",
    r"read-only file system",
    r"attempt to write a readonly database",
    r"disk i/o error",
    r"database is locked",
    r"database disk image is malformed",
    r"file is not a database",
)
WRONG_SERVICE_TEXT = _any(
    r"not an imap4? (?:mail )?server",
    r"unexpected token in imap greeting",
    r"syntax error in imap server greeting",
    r"malformed smtp response",
    r"(?:sent an )?(?:invalid|unexpected|incorrect) greeting",
    r"greeting from server",
)
UNEXPECTED_RESPONSE = _any(
    r"unexpected response",
    r"unexpected (?:server )?reply",
)
IMAP_MARKER = _any(
    r"imaplib",
    r"imapclient",
    r"\bimap4?\b",
    r"imap greeting",
    r"imap server",
)
SMTP_MARKER = _any(
    r"smtplib",
    r"aiosmtplib",
    r"\bsmtp\b",
    r"smtp response",
    r"ehlo",
    r"helo",
)

# POP3 extended response codes after "-ERR" (RFC 2449, RFC 3206).
POP3_CODE = _re(r"-err \[(auth|sys/temp|sys/perm|in-use|login-delay)\]")
POP3_CODES = {
    "auth": ("invalid_credentials", "POP3 -ERR [AUTH]: the credentials were refused"),
    "sys/temp": ("server_unavailable", "POP3 -ERR [SYS/TEMP]: a temporary server problem"),
    "sys/perm": ("server_unavailable", "POP3 -ERR [SYS/PERM]: a server-side problem"),
    "in-use": ("too_many_connections", "POP3 -ERR [IN-USE]: the mailbox is in use by another session"),
    "login-delay": ("rate_limited", "POP3 -ERR [LOGIN-DELAY]: logging in again too soon"),
}

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
