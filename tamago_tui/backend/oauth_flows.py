"""Interactive OAuth sign-in that works over SSH on a machine with no browser.

- `DeviceCodeFlow` (RFC 8628): show a short code and a URL; the person enters the
  code on any device while we poll the token endpoint. Microsoft's default.
- `AuthCodeFlow` (RFC 6749 4.1 with PKCE, RFC 7636 S256): the browser is sent to
  `http://127.0.0.1:PORT/` afterwards. Either a one-shot listener on that port
  catches the redirect (`wait()`), which also works through `ssh -L PORT:127.0.0.1:PORT`,
  or the person copies the address the browser could not open and pastes it
  (`complete()`). Google's default.

Both return an `oauth.TokenSet`; `OAuth.save_sign_in()` stores it. Nothing here
prints: the front ends show `DeviceAuthorization` and `authorization_url`.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import html
import http.server
import secrets
import socket
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

from .errors import OAuthError, UsageError
from .log import register_secret
from .oauth_http import DEFAULT_TIMEOUT, TokenSet, check_endpoint, post_form, token_error
from .oauth_providers import ProviderConfig


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# --------------------------------------------------------------------------- PKCE


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"

    @classmethod
    def new(cls) -> "Pkce":
        # 64 random bytes give 86 characters of the unreserved set (RFC 7636 4.1: 43-128).
        verifier = secrets.token_urlsafe(64)
        register_secret(verifier)
        return cls(verifier=verifier, challenge=s256(verifier))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# --------------------------------------------------------------------------- device code


@dataclass(frozen=True)
class DeviceAuthorization:
    """What to show the person: go to `verification_uri` and enter `user_code`."""

    user_code: str
    verification_uri: str
    expires_at: float  # time.monotonic() seconds
    interval: float
    device_code: str = field(repr=False)
    verification_uri_complete: str = ""
    message: str = ""


class DeviceCodeFlow:
    def __init__(self, provider: ProviderConfig, *, timeout: float = DEFAULT_TIMEOUT):
        if not provider.device_authorization_endpoint:
            raise OAuthError(
                f"{provider.name or provider.key} does not offer the device-code flow; "
                "use --flow loopback or --flow paste.",
                category="oauth_misconfigured",
            )
        provider.require_client_id()
        self.provider = provider
        self.timeout = timeout
        self.pkce = Pkce.new() if provider.device_pkce else None

    def start(self) -> DeviceAuthorization:
        params = {"scope": self.provider.scope, "client_id": self.provider.client_id}
        if self.pkce:
            params.update(code_challenge=self.pkce.challenge, code_challenge_method=self.pkce.method)
        status, payload = post_form(self.provider.endpoint("device_authorization"), params, timeout=self.timeout)
        if status != 200 or "error" in payload:
            raise token_error(payload, provider=self.provider, doing="to start the device sign-in")
        try:
            device_code = str(payload["device_code"])
            user_code = str(payload["user_code"])
            # Google and the old Azure endpoint spell it verification_url.
            uri = str(payload.get("verification_uri") or payload["verification_url"])
        except KeyError as exc:
            raise OAuthError(
                f"{self.provider.name} answered the device-code request without {exc.args[0]!r}.",
                category="server_unavailable",
            ) from None
        register_secret(device_code)
        return DeviceAuthorization(
            user_code=user_code,
            verification_uri=uri,
            verification_uri_complete=str(payload.get("verification_uri_complete") or ""),
            expires_at=time.monotonic() + float(payload.get("expires_in") or 900),
            interval=max(float(payload["interval"]), 0.0) if payload.get("interval") is not None else 5.0,
            device_code=device_code,
            message=str(payload.get("message") or ""),
        )

    def poll(
        self,
        auth: DeviceAuthorization,
        *,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] | None = None,
    ) -> TokenSet:
        """Poll until the person approves, declines or the code expires (RFC 8628 3.4-3.5)."""
        interval = auth.interval
        params = {"grant_type": DEVICE_GRANT, "device_code": auth.device_code,
                  **self.provider.client_params()}
        if self.pkce:
            params["code_verifier"] = self.pkce.verifier
        while True:
            if time.monotonic() >= auth.expires_at:
                raise OAuthError(
                    f"The code {auth.user_code} expired before it was entered. Start the sign-in again.",
                    category="timeout", error="expired_token", needs_sign_in=True,
                )
            sleep(interval)
            if should_stop and should_stop():
                raise OAuthError("Sign-in cancelled.", category="unknown", error="cancelled")
            status, payload = post_form(self.provider.endpoint("token"), params, timeout=self.timeout)
            error = payload.get("error")
            if status == 200 and not error:
                return TokenSet.from_response(payload, now=time.time(), provider=self.provider)
            if error == "authorization_pending":
                continue
            if error == "slow_down":
                interval += 5  # RFC 8628 3.5: add 5 seconds, for this and every later request
                continue
            if error == "expired_token":
                raise OAuthError(
                    f"The code {auth.user_code} expired before it was entered. Start the sign-in again.",
                    category="timeout", error="expired_token", needs_sign_in=True,
                )
            if error == "access_denied":
                raise OAuthError(
                    "The sign-in was declined, so tamago got no access. Start it again to retry.",
                    category="consent_required", error="access_denied",
                )
            raise token_error(payload, provider=self.provider, doing="the device sign-in")


# --------------------------------------------------------------------------- authorization code


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ssh_forward_hint(port: int, host: str = "") -> str:
    """The command to run on the machine with the browser, to reach our listener."""
    if not host:
        try:
            user = getpass.getuser()
        except Exception:  # no user name in the environment or passwd
            user = ""
        host = (f"{user}@" if user else "") + socket.gethostname()
    return f"ssh -L {port}:127.0.0.1:{port} {host}"


def parse_redirect(text: str) -> dict[str, str]:
    """The query parameters of a pasted redirect: a full URL, `?a=b&...` or `a=b&...`."""
    text = text.strip().strip("'\"<>")
    if "://" in text:
        parts = urllib.parse.urlsplit(text)
        query = parts.query or parts.fragment
    else:
        query = text.lstrip("?")
    return {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>tamago</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body></html>"""


class _RedirectCatcher(http.server.BaseHTTPRequestHandler):
    server_version = "tamago"
    sys_version = ""
    # Browsers open speculative connections and leave them idle: drop them.
    timeout = 10

    def do_GET(self):  # noqa: N802 (http.server's naming)
        server: _OneShotServer = self.server  # type: ignore[assignment]
        parts = urllib.parse.urlsplit(self.path)
        params = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
        if parts.path != "/" or not ({"code", "error"} & params.keys()):
            self._reply(404, "Not found", "This address only receives the sign-in redirect.")
            return
        if server.result is not None or params.get("state") != server.expected_state:
            # A stale tab or someone else's link: ignore it and keep waiting.
            self._reply(400, "This sign-in link is out of date",
                        "Use the most recent link that tamago printed.")
            return
        if "error" in params:
            self._reply(200, "Sign-in was not completed", "Return to tamago to see why.")
        else:
            self._reply(200, "Signed in", "You can close this tab and return to tamago.")
        server.result = params  # after the reply, so the page is out before tamago moves on

    def _reply(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002
        pass  # the request line holds the authorization code: never print it


class _OneShotServer(http.server.ThreadingHTTPServer):
    """Each connection in its own thread, so an idle one cannot hold up the redirect."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, expected_state: str):
        self.expected_state = expected_state
        self.result: dict[str, str] | None = None
        super().__init__(("127.0.0.1", port), _RedirectCatcher)
        self.timeout = 0.25


class AuthCodeFlow:
    """Authorization code with PKCE and a loopback redirect URI.

    With `listen=True` a listener is bound on 127.0.0.1:`port` at once (port 0
    picks a free one), so `port` and `authorization_url` are known before the
    person opens the link. With `listen=False` (the paste fallback) nothing
    listens; the browser's failed redirect shows the address to paste.
    """

    def __init__(
        self,
        provider: ProviderConfig,
        *,
        port: int = 0,
        listen: bool = True,
        login_hint: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ):
        if not provider.authorization_endpoint:
            raise OAuthError(
                f"{provider.name or provider.key} does not offer the browser sign-in; use --flow device.",
                category="oauth_misconfigured",
            )
        provider.require_client_id()
        check_endpoint(provider.endpoint("authorization"))
        self.provider = provider
        self.timeout = timeout
        self.pkce = Pkce.new()
        self.state = secrets.token_urlsafe(24)
        self._server: _OneShotServer | None = None
        if listen:
            try:
                self._server = _OneShotServer(port, self.state)
            except OSError as exc:
                raise UsageError(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}. "
                                 "Pick another --port.") from None
            port = self._server.server_address[1]
        elif not port:
            port = free_loopback_port()
        self.port = port
        self.redirect_uri = f"http://{provider.redirect_host}:{port}/"
        params = {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": provider.scope,
            "state": self.state,
            "code_challenge": self.pkce.challenge,
            "code_challenge_method": self.pkce.method,
            **provider.auth_params,
        }
        if login_hint:
            params["login_hint"] = login_hint
        endpoint = provider.endpoint("authorization")
        self.authorization_url = endpoint + ("&" if "?" in endpoint else "?") + urllib.parse.urlencode(
            params, quote_via=urllib.parse.quote
        )

    def close(self) -> None:
        if self._server is not None:
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "AuthCodeFlow":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait(self, timeout: float = 300.0, *, should_stop: Callable[[], bool] | None = None) -> TokenSet:
        """Serve the loopback address until the redirect arrives, then exchange the code."""
        if self._server is None:
            raise OAuthError("No loopback listener: this sign-in was started for pasting.", category="unknown")
        deadline = time.monotonic() + timeout
        try:
            while self._server.result is None:
                if time.monotonic() >= deadline:
                    raise OAuthError(
                        f"No sign-in arrived at {self.redirect_uri} within {timeout:g} s. If the browser "
                        f"runs on another machine, forward the port ({ssh_forward_hint(self.port)}) or "
                        "use --flow paste.",
                        category="timeout", error="timeout",
                    )
                if should_stop and should_stop():
                    raise OAuthError("Sign-in cancelled.", category="unknown", error="cancelled")
                self._server.handle_request()
            return self._finish(self._server.result)
        finally:
            self.close()

    def complete(self, pasted: str) -> TokenSet:
        """Finish from the address (or query string) the browser was redirected to."""
        params = parse_redirect(pasted)
        if not ({"code", "error"} & params.keys()):
            raise UsageError("That is not the address the sign-in redirected to: it has no code. "
                             f"Paste the whole address that starts with {self.redirect_uri}")
        if params.get("state") != self.state:
            raise UsageError("That address belongs to a different sign-in (its state does not match). "
                             "Paste the address from the link printed this time.")
        return self._finish(params)

    def _finish(self, params: dict[str, str]) -> TokenSet:
        if "error" in params:
            raise token_error(params, provider=self.provider, doing="the sign-in")
        code = params["code"]
        register_secret(code)
        return self.exchange(code)

    def exchange(self, code: str) -> TokenSet:
        payload_in = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.pkce.verifier,
            **self.provider.client_params(),
        }
        status, payload = post_form(self.provider.endpoint("token"), payload_in, timeout=self.timeout)
        if status != 200 or "error" in payload:
            raise token_error(payload, provider=self.provider, doing="the sign-in")
        return TokenSet.from_response(payload, now=time.time(), provider=self.provider)
