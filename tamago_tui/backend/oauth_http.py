"""Talking to OAuth endpoints: https only (loopback excepted), JSON answers, classified errors."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace

from . import troubleshoot
from .errors import NetworkError, OAuthError
from .log import register_secret
from .oauth_providers import ProviderConfig
from .wire import Watchdog

log = logging.getLogger("tamago.oauth")

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
DEFAULT_TIMEOUT = 20.0  # seconds for a whole request to an OAuth endpoint
MAX_RESPONSE = 1 << 20  # an OAuth JSON answer is a few hundred bytes; refuse to read a megabyte


# --------------------------------------------------------------------------- HTTP


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str) -> str:
    """Refuse anything but https, except plain http to this machine's loopback."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise OAuthError(
        f"Refusing OAuth endpoint {url!r}: it must be https:// (plain http is only "
        "allowed to 127.0.0.1 or ::1).",
        category="oauth_misconfigured",
    )


_NETWORK_CATEGORIES = (
    (ssl.SSLCertVerificationError, "certificate_invalid"),
    (ssl.SSLError, "tls_mismatch"),
    (ConnectionRefusedError, "connection_refused"),
    (TimeoutError, "timeout"),
)


def _network_error(url: str, exc: BaseException) -> NetworkError:
    reason = getattr(exc, "reason", exc)
    category = "server_unavailable"
    if isinstance(reason, socket.gaierror):
        category = "dns_failure"
    for kind, name in _NETWORK_CATEGORIES:
        if isinstance(reason, kind):
            category = name
            break
    host = urllib.parse.urlsplit(url).netloc
    return NetworkError(f"Could not reach the sign-in server {host}: {reason}", category=category)


def _opener(url: str, deadline: Watchdog):
    """A urllib opener whose connections hand their sockets to `deadline`, which shuts them
    when time is up: the socket timeout alone only bounds each read, so a server that
    trickles a byte every few seconds could otherwise hold a sign-in forever."""

    def connect(address, *args, **kwargs) -> socket.socket:
        sock = socket.create_connection(address, *args, **kwargs)
        deadline.watch(sock)  # before TLS, so a trickled handshake is bounded too
        return sock

    class HTTPS(http.client.HTTPSConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    class HTTP(http.client.HTTPConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = connect

    context = ssl.create_default_context()

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPS, req, context=context)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTP, req)

    handlers: list = [HTTPSHandler(), HTTPHandler()]
    if _is_loopback(urllib.parse.urlsplit(url).hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))  # never send loopback to a proxy
    return urllib.request.build_opener(*handlers)


def _read_body(response, deadline: Watchdog) -> bytes:
    body = bytearray()
    while chunk := response.read(16384):
        body += chunk
        if len(body) > MAX_RESPONSE:
            raise NetworkError(
                f"The sign-in server sent an answer larger than {MAX_RESPONSE // 1024} KiB; "
                "an OAuth answer is a few hundred bytes. Check the endpoint URL.",
                category="server_unavailable",
            )
    if deadline.expired:
        raise TimeoutError("timed out")
    return bytes(body)


def post_form(url: str, params: dict[str, str], *, timeout: float) -> tuple[int, dict]:
    """POST a form and return (HTTP status, JSON body). Never raises on HTTP 4xx/5xx.

    `timeout` bounds the whole request, not only each read.
    """
    check_endpoint(url)
    data = urllib.parse.urlencode(params).encode("ascii")
    request = urllib.request.Request(
        url,
        data=data,
        headers={
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "tamago",
        },
        method="POST",
    )
    started = time.monotonic()
    with Watchdog(timeout) as deadline:
        opener = _opener(url, deadline)
        try:
            try:
                with opener.open(request, timeout=timeout) as response:
                    status, body = response.status, _read_body(response, deadline)
            except urllib.error.HTTPError as exc:
                status, body = exc.code, _read_body(exc, deadline)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if deadline.expired:
                waited = time.monotonic() - started
                exc = TimeoutError(f"no complete answer within {waited:.0f} seconds")
            raise _network_error(url, exc) from exc
    try:
        payload = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if not payload and status >= 400:
        payload = {"error": "server_error", "error_description": f"HTTP {status} with no JSON body"}
    return status, payload


# --------------------------------------------------------------------------- errors

# OAuth error codes (RFC 6749 5.2, RFC 8628 3.5) and Entra ID AADSTS codes that
# need a fix rather than a retry. The troubleshooting classifier has the final
# say when it is sure; this table is the floor under it (see explain()).
_MISCONFIGURED = {
    "invalid_client", "unauthorized_client", "invalid_scope", "unsupported_grant_type",
    "invalid_request", "redirect_uri_mismatch", "org_internal", "deleted_client",
}
_AADSTS = {
    # admin consent required / admin must grant permission
    "65001": "consent_required", "90094": "consent_required", "90095": "consent_required",
    "65004": "consent_required",
    # application not found in the tenant; redirect URI mismatch; public client flows
    # disabled; app not enabled for personal accounts
    "700016": "oauth_misconfigured", "50011": "oauth_misconfigured",
    "7000218": "oauth_misconfigured", "70002": "oauth_misconfigured",
    "700025": "oauth_misconfigured", "50194": "oauth_misconfigured",
    # the refresh token expired, was revoked, or needs MFA / a password change
    "70008": "invalid_credentials", "50173": "invalid_credentials",
    "700082": "invalid_credentials", "50076": "invalid_credentials",
    "50079": "invalid_credentials", "54005": "invalid_credentials",
}
# Errors after which only a new interactive sign-in helps.
_SIGN_IN_AGAIN = {"invalid_grant", "interaction_required", "consent_required", "login_required"}


def _local_category(error: str, description: str) -> str:
    for code in re.findall(r"AADSTS(\d+)", description):
        if code in _AADSTS:
            return _AADSTS[code]
    if error in ("consent_required", "access_denied"):
        return "consent_required"
    if error in _MISCONFIGURED:
        return "oauth_misconfigured"
    if error in ("invalid_grant", "interaction_required", "login_required", "expired_token"):
        return "invalid_credentials"
    if error in ("temporarily_unavailable", "server_error"):
        return "server_unavailable"
    return "unknown"


# The shared classifier names presets, not authorization servers.
_PRESET_FOR_SERVER = {"google": "gmail", "microsoft": "office365"}
# Below this confidence the classifier yields to the OAuth error code's own meaning.
_TRUST_CLASSIFIER = 0.7


def explain(error: str, description: str = "", *, provider: str = ""):
    """(category, troubleshoot.Explanation) for a token-endpoint or redirect error.

    The text goes through the troubleshooting classifier like every failure the
    app shows. The RFC 6749 / Entra ID code table above decides when the
    classifier has no answer, or only a weak one where the code is known.
    """
    text = f"{error}: {description}".strip(": ")
    local = _local_category(error, description)
    context = troubleshoot.FailureContext(provider=_PRESET_FOR_SERVER.get(provider, provider) or None,
                                          auth="oauth2")
    try:
        explanation = troubleshoot.diagnose(text, context)
    except Exception:  # the classifier must never hide the real error
        log.warning("the troubleshooting classifier failed on an OAuth error", exc_info=True)
        return local, None
    category = explanation.category
    if category == "unknown" or (local != "unknown" and category != local
                                 and explanation.confidence < _TRUST_CLASSIFIER):
        category = local
        if category != "unknown":
            try:
                guide = troubleshoot.guide_for(category, explanation.provider)
            except Exception:  # the classifier must never hide the real error
                guide = None
            if guide is not None:
                explanation = replace(explanation, category=category, title=guide.title, cause=guide.cause,
                                      steps=list(guide.steps), links=list(guide.links))
    return category, explanation


def classify(error: str, description: str = "", *, provider: str = "") -> str:
    """The troubleshooting category of a token-endpoint or redirect error."""
    return explain(error, description, provider=provider)[0]


def token_error(payload: dict, *, provider: ProviderConfig, preset: str = "", doing: str) -> OAuthError:
    """An `OAuthError` for an error response, classified, with the next step spelled out.

    `.explanation` carries the troubleshooting guide (as `troubleshoot.to_error` does).
    """
    error = str(payload.get("error") or "unknown_error")
    description = str(payload.get("error_description") or "").strip()
    # Entra ID puts the request's trace and timestamps after the first line.
    first_line = description.splitlines()[0].strip() if description else ""
    category, explanation = explain(error, description, provider=preset or provider.key)
    # Decided from the OAuth error code alone, never from free text, because it
    # makes a refresh token be thrown away.
    local = _local_category(error, description)
    needs_sign_in = error in _SIGN_IN_AGAIN or (
        local in ("invalid_credentials", "consent_required") and error != "access_denied"
    )
    detail = f"{error}: {first_line}" if first_line else error
    where = provider.name or provider.key
    if category == "consent_required":
        message = (
            f"{where} refused {doing}: the app needs permission ({detail}). An administrator "
            "may have to approve the app for your organisation; then sign in again."
        )
    elif category == "oauth_misconfigured":
        message = (
            f"{where} refused {doing} because of the app registration ({detail}). Check the "
            f"client ID and its settings in [oauth.{provider.key}]; see docs/oauth.md."
        )
    elif error == "invalid_grant":
        message = f"{where} no longer accepts the saved sign-in ({detail}). Sign in again."
    else:
        message = f"{where} refused {doing} ({detail})."
    failure = OAuthError(message, category=category, error=error, needs_sign_in=needs_sign_in)
    failure.explanation = explanation  # type: ignore[attr-defined]
    return failure


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class TokenSet:
    """A token endpoint's answer. Its repr never shows a token."""

    access_token: str = field(repr=False)
    expires_at: float  # time.time() seconds
    refresh_token: str = field(default="", repr=False)
    scope: str = ""
    token_type: str = "Bearer"

    @classmethod
    def from_response(cls, payload: dict, *, now: float, provider: ProviderConfig) -> "TokenSet":
        access = str(payload.get("access_token") or "")
        if not access:
            raise OAuthError(
                f"{provider.name or provider.key} answered without an access token.",
                category="server_unavailable",
            )
        token_type = str(payload.get("token_type") or "Bearer")
        if token_type.lower() != "bearer":
            raise OAuthError(
                f"{provider.name or provider.key} issued a {token_type!r} token; mail servers need Bearer.",
                category="oauth_misconfigured",
            )
        refresh = str(payload.get("refresh_token") or "")
        register_secret(access)
        register_secret(refresh)
        try:
            lifetime = float(payload.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        return cls(
            access_token=access,
            expires_at=now + max(lifetime, 0.0),
            refresh_token=refresh,
            scope=str(payload.get("scope") or ""),
            token_type="Bearer",
        )
