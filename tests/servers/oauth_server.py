"""A loopback OAuth 2.0 authorization server for tests.

It implements, on 127.0.0.1 with plain HTTP:

- the authorization endpoint (RFC 6749 4.1) with PKCE required (RFC 7636, S256):
  GET /authorize "signs in" at once as `login_hint` (or `default_user`) and answers
  with the 302 redirect a browser would follow to the loopback redirect URI;
- the device authorization endpoint (RFC 8628 3.1-3.2): POST /devicecode;
- the token endpoint (RFC 6749 3.2): authorization_code, device_code and
  refresh_token grants, with RFC 6749 5.2 / RFC 8628 3.5 errors;
- revocation (RFC 7009): POST /revoke;
- introspection (RFC 7662): POST /introspect (form `token=...`) or GET with
  `Authorization: Bearer`, which Dovecot's oauth2 passdb calls to check logins;
- test-only endpoints: POST /test/device (approve, deny or expire a device code
  as the person would), POST /test/revoke-user.

Errors can be injected per endpoint (`fail_next`), e.g. an Entra ID style
AADSTS65001 consent error or invalid_client. `calls` counts requests per
endpoint and grant type, so tests can prove that nothing loops.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
LOOPBACK_REDIRECT_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass
class Injection:
    endpoint: str
    error: str
    description: str = ""
    status: int = 400
    count: int = 1
    grant_type: str | None = None
    error_codes: list[int] = field(default_factory=list)


@dataclass
class AccessToken:
    user: str
    client_id: str
    scope: str
    expires_at: float
    refresh_token: str
    active: bool = True


@dataclass
class RefreshToken:
    user: str
    client_id: str
    scope: str
    active: bool = True


@dataclass
class AuthCode:
    user: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    used: bool = False


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    challenge: str = ""
    state: str = "pending"  # pending, approved, denied, used
    user: str = ""


class OAuthTestServer:
    def __init__(
        self,
        *,
        access_token_lifetime: int = 3600,
        device_interval: int = 0,
        device_expires_in: int = 600,
        default_user: str = "alice@example.test",
        rotate_refresh_tokens: bool = False,
    ):
        self.access_token_lifetime = access_token_lifetime
        self.device_interval = device_interval
        self.device_expires_in = device_expires_in
        self.default_user = default_user
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.clients: dict[str, str | None] = {}  # client_id -> secret (None: public client)
        self.calls: Counter = Counter()
        self.injections: list[Injection] = []
        self.requests: list[tuple[str, dict]] = []  # (endpoint, params without secrets)
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.devices: dict[str, DeviceCode] = {}
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "OAuthTestServer":
        server = self

        class Handler(_Handler):
            oauth = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="oauth-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OAuthTestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def introspection_url(self) -> str:
        return self.url("/introspect")

    def provider_table(self, client_id: str, **overrides) -> dict:
        """An `[oauth.NAME]` config table pointing tamago at this server."""
        table = {
            "name": "Test IdP",
            "client_id": client_id,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "device_authorization_endpoint": self.url("/devicecode"),
            "revocation_endpoint": self.url("/revoke"),
            "scopes": ["mail", "offline_access"],
            "default_flow": "device",
            "redirect_host": "127.0.0.1",
        }
        table.update(overrides)
        return table

    # ------------------------------------------------------------------ test controls

    def add_client(self, client_id: str, secret: str | None = None) -> str:
        self.clients[client_id] = secret
        return client_id

    def fail_next(self, endpoint: str, error: str, description: str = "", *, status: int = 400,
                  count: int = 1, grant_type: str | None = None, error_codes: list[int] | None = None) -> None:
        """Make the next `count` requests to `endpoint` fail with this OAuth error."""
        with self._lock:
            self.injections.append(Injection(endpoint, error, description, status, count, grant_type,
                                             list(error_codes or [])))

    def device_action(self, user_code: str, action: str = "approve", user: str | None = None) -> dict:
        """What the person does on the verification page, over HTTP like a browser would."""
        data = urllib.parse.urlencode({"user_code": user_code, "action": action,
                                       "user": user or self.default_user}).encode()
        with urllib.request.urlopen(urllib.request.Request(self.url("/test/device"), data=data),
                                    timeout=10) as response:
            return json.loads(response.read())

    def pending_user_codes(self) -> list[str]:
        with self._lock:
            return [d.user_code for d in self.devices.values() if d.state == "pending"]

    def revoke_user(self, user: str) -> int:
        """Revoke every grant of `user` (as when the person removes the app). Returns the count."""
        with self._lock:
            n = 0
            for token in self.refresh_tokens.values():
                if token.user == user and token.active:
                    token.active = False
                    n += 1
            for token in self.access_tokens.values():
                if token.user == user:
                    token.active = False
            return n

    def expire_access_tokens(self) -> None:
        with self._lock:
            for token in self.access_tokens.values():
                token.expires_at = 0

    def token_calls(self, grant_type: str | None = None) -> int:
        if grant_type is None:
            return sum(n for (endpoint, _), n in self.calls.items() if endpoint == "token")
        return self.calls[("token", grant_type)]

    # ------------------------------------------------------------------ internals

    def _injected(self, endpoint: str, grant_type: str | None = None) -> Injection | None:
        with self._lock:
            for injection in self.injections:
                if injection.endpoint == endpoint and injection.grant_type in (None, grant_type):
                    injection.count -= 1
                    if injection.count <= 0:
                        self.injections.remove(injection)
                    return injection
        return None

    def _issue(self, user: str, client_id: str, scope: str, refresh_token: str | None = None) -> dict:
        with self._lock:
            if refresh_token is None or self.rotate_refresh_tokens:
                if refresh_token is not None:
                    self.refresh_tokens[refresh_token].active = False
                refresh_token = "rt-" + secrets.token_urlsafe(24)
                self.refresh_tokens[refresh_token] = RefreshToken(user, client_id, scope)
                new_refresh = refresh_token
            else:
                new_refresh = None
            access = "at-" + secrets.token_urlsafe(24)
            self.access_tokens[access] = AccessToken(user, client_id, scope,
                                                     time.time() + self.access_token_lifetime, refresh_token)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.access_token_lifetime,
                "scope": scope}
        if new_refresh:
            body["refresh_token"] = new_refresh
        return body

    def introspect(self, token: str) -> dict:
        with self._lock:
            info = self.access_tokens.get(token)
            if not info or not info.active or info.expires_at <= time.time():
                return {"active": False}
            if not self.refresh_tokens[info.refresh_token].active:
                return {"active": False}
            return {"active": True, "username": info.user, "email": info.user, "scope": info.scope,
                    "client_id": info.client_id, "token_type": "Bearer", "exp": int(info.expires_at)}


def _error_body(error: str, description: str = "", codes: list[int] | None = None) -> dict:
    body: dict = {"error": error}
    if description:
        body["error_description"] = description
    if codes:
        body["error_codes"] = codes
    return body


class _Handler(BaseHTTPRequestHandler):
    oauth: OAuthTestServer
    server_version = "tamago-test-idp"
    # HTTP/1.1 with persistent connections, as real authorization servers speak it. Dovecot's
    # oauth2 passdb asks with "Connection: Keep-Alive"; answering HTTP/1.0 and closing after
    # every answer sometimes reached it as "Connection reset by peer" on a loaded machine
    # (an introspection lost, the login a temporary failure). Every answer has a
    # Content-Length; a connection idle for `timeout` seconds is closed.
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format, *args):  # noqa: A002
        pass

    # ------------------------------------------------------------------ plumbing

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _count(self, endpoint: str, params: dict, grant_type: str = "") -> None:
        visible = {k: v for k, v in params.items()
                   if k not in ("client_secret", "code", "code_verifier", "refresh_token", "device_code", "token")}
        with self.oauth._lock:
            self.oauth.calls[(endpoint, grant_type)] += 1
            self.oauth.requests.append((endpoint, visible))

    def _client_ok(self, params: dict) -> bool:
        client_id = params.get("client_id", "")
        secret = params.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id not in self.oauth.clients:
            return False
        expected = self.oauth.clients[client_id]
        return expected is None or secret == expected

    # ------------------------------------------------------------------ routes

    def do_GET(self):  # noqa: N802
        parts = urllib.parse.urlsplit(self.path)
        params = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
        if parts.path == "/authorize":
            return self._authorize(params)
        if parts.path == "/introspect":
            auth = self.headers.get("Authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else params.get("token", "")
            self._count("introspect", {})
            return self._json(200, self.oauth.introspect(token))
        return self._json(404, {"error": "not_found"})

    def do_POST(self):  # noqa: N802
        path = urllib.parse.urlsplit(self.path).path
        params = self._form()
        routes = {
            "/token": self._token,
            "/devicecode": self._devicecode,
            "/revoke": self._revoke,
            "/introspect": self._introspect,
            "/test/device": self._test_device,
        }
        handler = routes.get(path)
        if handler is None:
            return self._json(404, {"error": "not_found"})
        return handler(params)

    def _authorize(self, params: dict) -> None:
        self._count("authorize", params)
        redirect_uri = params.get("redirect_uri", "")
        target = urllib.parse.urlsplit(redirect_uri)
        if (params.get("client_id") not in self.oauth.clients or target.scheme != "http"
                or target.hostname not in LOOPBACK_REDIRECT_HOSTS and f"[{target.hostname}]" not in LOOPBACK_REDIRECT_HOSTS):
            # RFC 6749 4.1.2.1: never redirect to an unverified URI.
            return self._json(400, _error_body("invalid_request", "unknown client or redirect_uri"))

        def back(**query) -> None:
            query["state"] = params.get("state", "")
            sep = "&" if target.query else "?"
            self._redirect(redirect_uri + sep + urllib.parse.urlencode(query))

        injected = self.oauth._injected("authorize")
        if injected:
            return back(error=injected.error, error_description=injected.description)
        if params.get("response_type") != "code":
            return back(error="unsupported_response_type")
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="PKCE with S256 is required")
        code = "code-" + secrets.token_urlsafe(16)
        with self.oauth._lock:
            self.oauth.codes[code] = AuthCode(
                user=params.get("login_hint") or self.oauth.default_user,
                client_id=params["client_id"], redirect_uri=redirect_uri,
                scope=params.get("scope", ""), challenge=params["code_challenge"],
            )
        back(code=code)

    def _devicecode(self, params: dict) -> None:
        self._count("device", params)
        injected = self.oauth._injected("device")
        if injected:
            return self._json(injected.status, _error_body(injected.error, injected.description, injected.error_codes))
        if params.get("client_id") not in self.oauth.clients:
            return self._json(401, _error_body("invalid_client", "unknown client"))
        device_code = "dc-" + secrets.token_urlsafe(24)
        user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        with self.oauth._lock:
            self.oauth.devices[device_code] = DeviceCode(
                device_code, user_code, params["client_id"], params.get("scope", ""),
                time.time() + self.oauth.device_expires_in, params.get("code_challenge", ""),
            )
        self._json(200, {
            "device_code": device_code, "user_code": user_code,
            "verification_uri": self.oauth.url("/device"),
            "verification_uri_complete": self.oauth.url(f"/device?user_code={user_code}"),
            "expires_in": self.oauth.device_expires_in, "interval": self.oauth.device_interval,
            "message": f"Go to {self.oauth.url('/device')} and enter {user_code}.",
        })

    def _token(self, params: dict) -> None:
        grant = params.get("grant_type", "")
        self._count("token", params, grant)
        injected = self.oauth._injected("token", grant)
        if injected:
            return self._json(injected.status, _error_body(injected.error, injected.description, injected.error_codes))
        if not self._client_ok(params):
            return self._json(401, _error_body("invalid_client", "client authentication failed"))
        client_id = params.get("client_id", "")
        if grant == "authorization_code":
            return self._grant_code(params, client_id)
        if grant == DEVICE_GRANT:
            return self._grant_device(params, client_id)
        if grant == "refresh_token":
            with self.oauth._lock:
                token = self.oauth.refresh_tokens.get(params.get("refresh_token", ""))
                if not token or not token.active or token.client_id != client_id:
                    return self._json(400, _error_body("invalid_grant", "refresh token revoked or unknown"))
            return self._json(200, self.oauth._issue(token.user, client_id, token.scope, params["refresh_token"]))
        return self._json(400, _error_body("unsupported_grant_type"))

    def _grant_code(self, params: dict, client_id: str) -> None:
        with self.oauth._lock:
            code = self.oauth.codes.get(params.get("code", ""))
            if not code or code.used or code.client_id != client_id:
                return self._json(400, _error_body("invalid_grant", "unknown or used code"))
            code.used = True
        if params.get("redirect_uri") != code.redirect_uri:
            return self._json(400, _error_body("invalid_grant", "redirect_uri does not match"))
        verifier = params.get("code_verifier", "")
        if not verifier or s256(verifier) != code.challenge:
            return self._json(400, _error_body("invalid_grant", "PKCE verification failed"))
        self._json(200, self.oauth._issue(code.user, client_id, code.scope))

    def _grant_device(self, params: dict, client_id: str) -> None:
        with self.oauth._lock:
            device = self.oauth.devices.get(params.get("device_code", ""))
            if not device or device.client_id != client_id or device.state == "used":
                return self._json(400, _error_body("invalid_grant", "unknown device code"))
            if device.expires_at <= time.time():
                return self._json(400, _error_body("expired_token"))
            if device.state == "denied":
                return self._json(400, _error_body("access_denied"))
            if device.state == "pending":
                return self._json(400, _error_body("authorization_pending"))
            if device.challenge and s256(params.get("code_verifier", "")) != device.challenge:
                return self._json(400, _error_body("invalid_grant", "PKCE verification failed"))
            device.state = "used"
        self._json(200, self.oauth._issue(device.user, client_id, device.scope))

    def _revoke(self, params: dict) -> None:
        self._count("revoke", params)
        token = params.get("token", "")
        with self.oauth._lock:
            if token in self.oauth.refresh_tokens:
                self.oauth.refresh_tokens[token].active = False
            if token in self.oauth.access_tokens:
                self.oauth.access_tokens[token].active = False
        self._json(200, {})

    def _introspect(self, params: dict) -> None:
        self._count("introspect", {})
        injected = self.oauth._injected("introspect")
        if injected:
            return self._json(injected.status, _error_body(injected.error, injected.description))
        self._json(200, self.oauth.introspect(params.get("token", "")))

    def _test_device(self, params: dict) -> None:
        with self.oauth._lock:
            for device in self.oauth.devices.values():
                if device.user_code == params.get("user_code"):
                    action = params.get("action", "approve")
                    if action == "approve":
                        device.state, device.user = "approved", params.get("user") or self.oauth.default_user
                    elif action == "deny":
                        device.state = "denied"
                    elif action == "expire":
                        device.expires_at = 0
                    return self._json(200, {"ok": True, "state": device.state})
        self._json(404, {"ok": False})


TEST_CLIENT_ID = "tamago-test-client"


def started(**options) -> OAuthTestServer:
    """A started server with the public test client registered."""
    server = OAuthTestServer(**options).start()
    server.add_client(TEST_CLIENT_ID)
    return server
