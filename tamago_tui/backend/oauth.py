"""OAuth 2.0 for mail accounts: authorization servers, tokens, refresh and sign-out.

The pieces, in the order they are used:

- `ProviderConfig` and `load_providers()`: the authorization servers, as data
  (data/oauth.toml) merged with the user's `[oauth.NAME]` tables in config.toml.
- The sign-in flows live in oauth_flows.py (device code, loopback, paste); they
  return a `TokenSet`, which `OAuth.save_sign_in()` stores.
- `OAuth.token_source(account)` gives what IMAP and SMTP logins need: an object
  whose `access_token()` returns a valid token. `RefreshTokenSource` refreshes it
  ahead of expiry from the refresh token in the secret store; `CommandTokenSource`
  runs the account's token command instead.
- `call_with_token()` / `acall_with_token()` run a login and, after one auth
  failure, force a refresh and try exactly once more.

Refresh tokens are stored like passwords, through a `SecretVault` (the secret
store), as a small JSON record under the kind `oauth_refresh_token`. Access
tokens stay in this process's memory. Every token, code and verifier is given to
`log.register_secret()` the moment it is seen, so no log line can carry it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import re
import shlex
import socket
import ssl
import subprocess
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from typing import Awaitable, Callable, Protocol, TypeVar

from .config import Config
from .errors import AuthError, ConfigError, NetworkError, OAuthError
from .log import register_secret
from .models import Account

log = logging.getLogger("tamago.oauth")

# The secret store's kind for refresh tokens (secrets.KINDS).
SECRET_KIND = "oauth-refresh"
# Refresh this many seconds before the access token expires, so a login that
# starts just before expiry does not race the clock.
EXPIRY_SKEW = 60.0
DEFAULT_TIMEOUT = 20.0
MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
FLOWS = ("device", "loopback", "paste")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

T = TypeVar("T")


# --------------------------------------------------------------------------- providers


@dataclass(frozen=True)
class ProviderConfig:
    """One authorization server. Endpoints may contain `{tenant}`."""

    key: str
    name: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    device_authorization_endpoint: str = ""
    revocation_endpoint: str = ""
    scopes: tuple[str, ...] = ()
    tenant: str = ""
    default_flow: str = "loopback"
    redirect_host: str = "127.0.0.1"
    auth_params: dict = field(default_factory=dict, compare=False)
    device_pkce: bool = False
    presets: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    register_url: str = ""

    def endpoint(self, which: str) -> str:
        """An endpoint with `{tenant}` filled in; empty when the server has none."""
        url = getattr(self, f"{which}_endpoint")
        return url.replace("{tenant}", urllib.parse.quote(self.tenant or "common", safe=""))

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)

    @property
    def flows(self) -> tuple[str, ...]:
        """The sign-in flows this server supports, given its endpoints."""
        out = []
        if self.device_authorization_endpoint:
            out.append("device")
        if self.authorization_endpoint:
            out += ["loopback", "paste"]
        return tuple(out)

    def require_client_id(self) -> None:
        if not self.client_id:
            raise OAuthError(
                f"No OAuth client ID is configured for {self.name or self.key}. Register an "
                f"app ({self.register_url or 'see docs/oauth.md'}) and put its client ID in "
                f"config.toml under [oauth.{self.key}] as client_id = \"...\". "
                "docs/oauth.md explains each step.",
                category="oauth_misconfigured",
                error="invalid_client",
            )

    def client_params(self) -> dict[str, str]:
        params = {"client_id": self.client_id}
        if self.client_secret:
            params["client_secret"] = self.client_secret
        return params


_LIST_FIELDS = {"scopes", "presets", "domains"}


def _provider_from_table(key: str, table: dict, base: ProviderConfig | None = None) -> ProviderConfig:
    known = {f.name for f in fields(ProviderConfig)} - {"key"}
    unknown = set(table) - known - {"base"}
    if unknown:
        raise ConfigError(
            f"[oauth.{key}] has unknown keys: {', '.join(sorted(unknown))}. "
            f"Known keys: {', '.join(sorted(known))}."
        )
    values: dict = {}
    for name, value in table.items():
        if name == "base":
            continue
        if name in _LIST_FIELDS:
            if isinstance(value, str):
                value = value.split()
            value = tuple(str(v) for v in value)
        elif name == "auth_params":
            if not isinstance(value, dict):
                raise ConfigError(f"[oauth.{key}] auth_params must be a table.")
            value = {str(k): str(v) for k, v in value.items()}
        elif name == "device_pkce":
            value = bool(value)
        else:
            value = str(value)
        values[name] = value
    if "default_flow" in values and values["default_flow"] not in FLOWS:
        raise ConfigError(f"[oauth.{key}] default_flow must be one of {', '.join(FLOWS)}.")
    provider = replace(base, key=key, **values) if base else ProviderConfig(key=key, **values)
    register_secret(provider.client_secret)
    return provider


def builtin_provider_tables() -> dict[str, dict]:
    text = resources.files("tamago_tui.data").joinpath("oauth.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_providers(overrides: dict[str, dict] | None = None) -> dict[str, ProviderConfig]:
    """The built-in servers with the user's `[oauth.NAME]` tables applied on top.

    A table naming a built-in server overrides its keys; a new name defines a new
    server, starting from `base = "<name>"` when given.
    """
    providers = {key: _provider_from_table(key, table) for key, table in builtin_provider_tables().items()}
    pending = dict(overrides or {})
    # Resolve tables whose base is defined in this same file after them.
    for _ in range(len(pending) + 1):
        progressed = False
        for key, table in list(pending.items()):
            base_key = table.get("base") or (key if key in providers else "")
            if base_key and base_key not in providers:
                continue
            providers[key] = _provider_from_table(key, table, providers.get(base_key))
            del pending[key]
            progressed = True
        if not progressed:
            break
    if pending:
        key, table = next(iter(pending.items()))
        raise ConfigError(f"[oauth.{key}] has base = {table.get('base')!r}, which is not an OAuth server.")
    return providers


def provider_for_account(account: Account, providers: dict[str, ProviderConfig]) -> ProviderConfig:
    """The authorization server for an account: its own choice, its preset, or its domain."""
    if account.oauth_provider:
        try:
            return providers[account.oauth_provider]
        except KeyError:
            raise ConfigError(
                f"Account {account.name!r} uses oauth_provider = {account.oauth_provider!r}, "
                f"which is not defined. Known: {', '.join(sorted(providers))}."
            ) from None
    for provider in providers.values():
        if account.provider in provider.presets:
            return provider
    domain = account.email.rpartition("@")[2].lower()
    for provider in providers.values():
        if domain in provider.domains:
            return provider
    raise OAuthError(
        f"tamago does not know which OAuth server signs in {account.email}. Set "
        "oauth_provider in the account's config table (google, microsoft or your own "
        "[oauth.NAME]), or give the account a token_command.",
        category="oauth_misconfigured",
    )


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


def post_form(url: str, params: dict[str, str], *, timeout: float) -> tuple[int, dict]:
    """POST a form and return (HTTP status, JSON body). Never raises on HTTP 4xx/5xx."""
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
    handlers: list = [urllib.request.HTTPSHandler(context=ssl.create_default_context())]
    if _is_loopback(urllib.parse.urlsplit(url).hostname or ""):
        handlers.append(urllib.request.ProxyHandler({}))  # never send loopback to a proxy
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
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
# say when it knows better; this table is the floor under it.
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


def classify(error: str, description: str = "", *, provider: str = "") -> str:
    """The troubleshooting category of a token-endpoint or redirect error."""
    text = f"{error}: {description}".strip(": ")
    try:
        from . import troubleshoot  # lands from the troubleshooting branch
    except ImportError:
        troubleshoot = None
    if troubleshoot is not None:
        try:
            category = troubleshoot.explain(text, provider=provider or None).category
        except Exception:  # the classifier must never hide the real error
            log.debug("troubleshoot.explain failed on an OAuth error", exc_info=True)
        else:
            if category and category != "unknown":
                return category
    return _local_category(error, description)


def token_error(payload: dict, *, provider: ProviderConfig, preset: str = "", doing: str) -> OAuthError:
    """An `OAuthError` for an error response, classified, with the next step spelled out."""
    error = str(payload.get("error") or "unknown_error")
    description = str(payload.get("error_description") or "").strip()
    # Entra ID puts the request's trace and timestamps after the first line.
    first_line = description.splitlines()[0].strip() if description else ""
    category = classify(error, description, provider=preset or provider.key)
    # Decided from the OAuth error code alone, never from free text, because it
    # makes a refresh token be thrown away.
    local = _local_category(error, description)
    needs_sign_in = error in _SIGN_IN_AGAIN or (
        local in ("invalid_credentials", "consent_required") and error != "access_denied"
    )
    detail = f"{error}: {first_line}" if first_line else error
    where = provider.name or provider.key
    if error == "invalid_grant":
        message = f"{where} no longer accepts the saved sign-in ({detail}). Sign in again."
    elif category == "consent_required":
        message = (
            f"{where} refused {doing}: the app needs permission ({detail}). An administrator "
            "may have to approve the app for your organisation; then sign in again."
        )
    elif category == "oauth_misconfigured":
        message = (
            f"{where} refused {doing} because of the app registration ({detail}). Check the "
            f"client ID and its settings in [oauth.{provider.key}]; see docs/oauth.md."
        )
    else:
        message = f"{where} refused {doing} ({detail})."
    return OAuthError(message, category=category, error=error, needs_sign_in=needs_sign_in)


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


class SecretVault(Protocol):
    """What this module needs from the secret store: secrets.SecretStore fits."""

    def get(self, account: str, kind: str) -> str | None: ...

    def set(self, account: str, secret: str, kind: str) -> None: ...

    def delete(self, account: str, kind: str): ...


class MemoryVault:
    """A SecretVault in a dict: for tests and for one-off runs that must not persist."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get(self, account: str, kind: str) -> str | None:
        return self.values.get((account, kind))

    def set(self, account: str, secret: str, kind: str) -> None:
        self.values[(account, kind)] = secret

    def delete(self, account: str, kind: str) -> bool:
        return self.values.pop((account, kind), None) is not None


@dataclass(frozen=True)
class Grant:
    """What the secret store holds for a signed-in account."""

    provider: str
    client_id: str
    refresh_token: str = field(repr=False)
    scope: str = ""
    obtained_at: float = 0.0

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "provider": self.provider,
                "client_id": self.client_id,
                "refresh_token": self.refresh_token,
                "scope": self.scope,
                "obtained_at": self.obtained_at,
            }
        )

    @classmethod
    def loads(cls, text: str) -> "Grant | None":
        try:
            data = json.loads(text)
            grant = cls(
                provider=str(data["provider"]),
                client_id=str(data.get("client_id", "")),
                refresh_token=str(data["refresh_token"]),
                scope=str(data.get("scope", "")),
                obtained_at=float(data.get("obtained_at", 0.0)),
            )
        except (ValueError, KeyError, TypeError):
            return None
        register_secret(grant.refresh_token)
        return grant


def load_grant(vault: SecretVault, account: str) -> Grant | None:
    text = vault.get(account, SECRET_KIND)
    if not text:
        return None
    register_secret(text)
    return Grant.loads(text)


# Access tokens live here, per account, for the life of the process.
_cache: dict[str, TokenSet] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(account: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(account, threading.Lock())


def forget_access_token(account: str) -> None:
    _cache.pop(account, None)


def cached_access_token(account: str) -> TokenSet | None:
    return _cache.get(account)


class TokenSource(Protocol):
    """Anything that can hand IMAP or SMTP a bearer token for one account."""

    kind: str

    def access_token(self, *, force_refresh: bool = False) -> str: ...

    def invalidate(self) -> None: ...


class RefreshTokenSource:
    """Access tokens from the stored refresh token, refreshed ahead of expiry.

    One refresh at a time per account (IMAP and SMTP workers may ask together).
    A refused refresh token is removed from the store, so the next call says
    "sign in again" at once instead of asking the server again.
    """

    kind = "refresh_token"

    def __init__(
        self,
        account: Account,
        provider: ProviderConfig,
        vault: SecretVault,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        skew: float = EXPIRY_SKEW,
        clock: Callable[[], float] = time.time,
    ):
        self.account = account
        self.provider = provider
        self.vault = vault
        self.timeout = timeout
        self.skew = skew
        self.clock = clock

    def invalidate(self) -> None:
        forget_access_token(self.account.name)

    def access_token(self, *, force_refresh: bool = False) -> str:
        with _lock_for(self.account.name):
            cached = _cache.get(self.account.name)
            if cached and not force_refresh and cached.expires_at - self.skew > self.clock():
                return cached.access_token
            return self._refresh().access_token

    def _not_signed_in(self, why: str) -> OAuthError:
        return OAuthError(
            f"{self.account.email} {why}. Sign in again: `tamago oauth login {self.account.name}`.",
            category="invalid_credentials",
            title="Sign in again",
            needs_sign_in=True,
        )

    def _refresh(self) -> TokenSet:
        grant = load_grant(self.vault, self.account.name)
        if grant is None:
            raise self._not_signed_in(f"is not signed in to {self.provider.name or self.provider.key}")
        if grant.provider != self.provider.key:
            raise self._not_signed_in(
                f"was signed in with {grant.provider!r}, but the account now uses {self.provider.key!r}"
            )
        self.provider.require_client_id()
        params = {
            "grant_type": "refresh_token",
            "refresh_token": grant.refresh_token,
            "scope": self.provider.scope,
            **self.provider.client_params(),
        }
        log.info("Refreshing the OAuth access token of %s", self.account.name)
        status, payload = post_form(self.provider.endpoint("token"), params, timeout=self.timeout)
        if status != 200 or "error" in payload:
            error = token_error(payload, provider=self.provider, preset=self.account.provider,
                                doing="to refresh the access token")
            if error.needs_sign_in:
                self.vault.delete(self.account.name, SECRET_KIND)
                forget_access_token(self.account.name)
                error.message += f" Run `tamago oauth login {self.account.name}`."
                error.title = "Sign in again"
            raise error
        tokens = TokenSet.from_response(payload, now=self.clock(), provider=self.provider)
        if tokens.refresh_token and tokens.refresh_token != grant.refresh_token:
            # Entra ID rotates refresh tokens: keep the newest.
            self.vault.set(
                self.account.name,
                replace(grant, refresh_token=tokens.refresh_token, scope=tokens.scope or grant.scope).dumps(),
                SECRET_KIND,
            )
        _cache[self.account.name] = tokens
        return tokens


class CommandTokenSource:
    """Runs the account's token command; its first stdout line is the access token.

    The command runs through /bin/sh (like aerc and himalaya), with a timeout.
    `TAMAGO_ACCOUNT` and `TAMAGO_EMAIL` are set for scripts serving several
    accounts, and `TAMAGO_FORCE_REFRESH=1` after the server refused a token.
    """

    kind = "token_command"

    def __init__(self, account: Account, *, timeout: float = DEFAULT_TIMEOUT):
        self.account = account
        self.command = account.token_command
        self.timeout = timeout

    def invalidate(self) -> None:
        pass

    def access_token(self, *, force_refresh: bool = False) -> str:
        env = dict(os.environ, TAMAGO_ACCOUNT=self.account.name, TAMAGO_EMAIL=self.account.email)
        if force_refresh:
            env["TAMAGO_FORCE_REFRESH"] = "1"
        name = shlex.split(self.command)[0] if self.command.strip() else "(empty)"
        try:
            result = subprocess.run(
                ["/bin/sh", "-c", self.command],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OAuthError(
                f"The token command of {self.account.name} ({name}) did not finish within "
                f"{self.timeout:g} s.",
                category="timeout",
            ) from None
        except OSError as exc:
            raise OAuthError(f"Could not run the token command of {self.account.name}: {exc}",
                             category="oauth_misconfigured") from None
        token = result.stdout.decode("utf-8", "replace").strip().splitlines()
        token = token[0].strip() if token else ""
        register_secret(token)
        if result.returncode != 0 or not token:
            stderr = result.stderr.decode("utf-8", "replace").strip().splitlines()
            hint = f": {stderr[-1][:200]}" if stderr else ""
            what = f"exited with status {result.returncode}" if result.returncode else "printed no token"
            raise OAuthError(
                f"The token command of {self.account.name} ({name}) {what}{hint}",
                category="oauth_misconfigured",
            )
        return token


def call_with_token(source: TokenSource, login: Callable[[str], T]) -> T:
    """Run `login(token)`; after an `AuthError`, refresh once and try once more."""
    token = source.access_token()
    try:
        return login(token)
    except AuthError:
        log.info("Login refused with a %s token; refreshing once and retrying", source.kind)
        source.invalidate()
    return login(source.access_token(force_refresh=True))


async def acall_with_token(source: TokenSource, login: Callable[[str], Awaitable[T]]) -> T:
    """`call_with_token` for async logins (aiosmtplib); token calls run in a thread."""
    token = await asyncio.to_thread(source.access_token)
    try:
        return await login(token)
    except AuthError:
        log.info("Login refused with a %s token; refreshing once and retrying", source.kind)
        source.invalidate()
    token = await asyncio.to_thread(lambda: source.access_token(force_refresh=True))
    return await login(token)


# --------------------------------------------------------------------------- facade


class OAuth:
    """OAuth for the accounts of one config: what the CLI and the TUI call."""

    def __init__(self, config: Config, vault: SecretVault, *, timeout: float | None = None):
        self.config = config
        self.vault = vault
        self.timeout = timeout if timeout is not None else config.settings.timeout
        self.providers = load_providers(config.oauth)

    def provider_for(self, account: Account) -> ProviderConfig:
        return provider_for_account(account, self.providers)

    def token_source(self, account: Account) -> TokenSource:
        if account.token_command:
            return CommandTokenSource(account, timeout=self.timeout)
        return RefreshTokenSource(account, self.provider_for(account), self.vault, timeout=self.timeout)

    def save_sign_in(self, account: Account, provider: ProviderConfig, tokens: TokenSet) -> bool:
        """Store the refresh token and cache the access token. False: no refresh token came."""
        _cache[account.name] = tokens
        if not tokens.refresh_token:
            return False
        grant = Grant(
            provider=provider.key,
            client_id=provider.client_id,
            refresh_token=tokens.refresh_token,
            scope=tokens.scope or provider.scope,
            obtained_at=time.time(),
        )
        self.vault.set(account.name, grant.dumps(), SECRET_KIND)
        log.info("Signed in %s with %s", account.name, provider.key)
        return True

    def status(self, account: Account) -> dict:
        """What `tamago oauth status` shows. Never a token or a client secret."""
        out: dict = {
            "account": account.name,
            "email": account.email,
            "auth": account.auth,
            "mechanism": account.oauth_mechanism,
            "source": "token_command" if account.token_command else "refresh_token",
            "provider": None,
            "provider_name": None,
            "client_id": None,
            "client_id_configured": False,
            "flows": [],
            "signed_in": False,
            "scopes": [],
            "obtained_at": None,
            "access_token_cached": False,
            "access_token_expires_in": None,
        }
        try:
            provider = self.provider_for(account)
        except (OAuthError, ConfigError):
            provider = None
        if provider:
            out.update(
                provider=provider.key,
                provider_name=provider.name or provider.key,
                client_id=provider.client_id or None,
                client_id_configured=bool(provider.client_id),
                flows=list(provider.flows),
            )
        if account.token_command:
            out["signed_in"] = True
        else:
            grant = load_grant(self.vault, account.name)
            if grant is not None:
                out.update(
                    signed_in=provider is not None and grant.provider == provider.key,
                    scopes=grant.scope.split(),
                    obtained_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(grant.obtained_at)),
                )
        cached = _cache.get(account.name)
        if cached:
            out["access_token_cached"] = True
            out["access_token_expires_in"] = max(0, int(cached.expires_at - time.time()))
        return out

    def logout(self, account: Account, *, revoke: bool = True) -> dict:
        """Forget the account's tokens; revoke the refresh token where the server allows.

        Revocation is best effort: the local copy is removed whatever the server says.
        """
        grant = load_grant(self.vault, account.name)
        forget_access_token(account.name)
        result = {"account": account.name, "removed": grant is not None, "revoked": False,
                  "revoke_error": None}
        if grant is None:
            return result
        self.vault.delete(account.name, SECRET_KIND)
        provider = self.providers.get(grant.provider)
        if revoke and provider and provider.revocation_endpoint:
            try:
                status, payload = post_form(
                    provider.endpoint("revocation"),
                    {"token": grant.refresh_token, "token_type_hint": "refresh_token",
                     **provider.client_params()},
                    timeout=self.timeout,
                )
            except (NetworkError, OAuthError) as exc:
                result["revoke_error"] = str(exc)
            else:
                # RFC 7009 2.2: 200 also for a token the server no longer knows.
                result["revoked"] = status == 200
                if status != 200:
                    result["revoke_error"] = str(payload.get("error") or f"HTTP {status}")
        return result


def vault_for(services, prompt=None) -> SecretVault:
    """The services' secret store (keyring, or the encrypted file on a headless machine)."""
    from .secrets import SecretStore

    return SecretStore.for_services(services, prompt=prompt)


def for_services(services, *, prompt=None) -> OAuth:
    return OAuth(services.config, vault_for(services, prompt), timeout=services.settings.timeout)
