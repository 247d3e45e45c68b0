"""OAuth 2.0 for mail accounts: authorization servers, tokens, refresh and sign-out.

The pieces, in the order they are used:

- `ProviderConfig` and `load_providers()` (oauth_providers.py): the authorization
  servers, as data (data/oauth.toml) merged with the user's `[oauth.NAME]` tables.
- oauth_http.py: requests to the endpoints (https only, loopback excepted) and
  their errors, classified through the troubleshooting classifier.
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
import json
import logging
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable, Protocol, TypeVar

from .config import Config
from .errors import AuthError, ConfigError, NetworkError, OAuthError
from .log import register_secret
from .models import Account
from .oauth_http import (  # noqa: F401 (re-exported: the OAuth API lives here)
    DEFAULT_TIMEOUT,
    LOOPBACK_HOSTS,
    TokenSet,
    check_endpoint,
    classify,
    post_form,
    token_error,
)
from .oauth_providers import (  # noqa: F401 (re-exported)
    FLOWS,
    ProviderConfig,
    builtin_provider_tables,
    load_providers,
    provider_for_account,
)

log = logging.getLogger("tamago.oauth")

# The secret store's kind for refresh tokens (secrets.KINDS).
SECRET_KIND = "oauth-refresh"
# Refresh this many seconds before the access token expires, so a login that
# starts just before expiry does not race the clock.
EXPIRY_SKEW = 60.0
MECHANISMS = ("XOAUTH2", "OAUTHBEARER")

T = TypeVar("T")


# --------------------------------------------------------------------------- tokens


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
        words = self.command.split()
        name = os.path.basename(words[0]) if words else "(empty)"
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


# Refusals a new token can cure. "IMAP is disabled" or "SMTP AUTH is off" cannot.
_RETRYABLE = {"invalid_credentials", "unknown"}


def call_with_token(source: TokenSource, login: Callable[[str], T]) -> T:
    """Run `login(token)`; after an `AuthError`, refresh once and try once more."""
    token = source.access_token()
    try:
        return login(token)
    except AuthError as exc:
        if exc.category not in _RETRYABLE:
            raise
        log.info("Login refused with a %s token; refreshing once and retrying", source.kind)
        source.invalidate()
    return login(source.access_token(force_refresh=True))


async def acall_with_token(source: TokenSource, login: Callable[[str], Awaitable[T]]) -> T:
    """`call_with_token` for async logins (aiosmtplib); token calls run in a thread."""
    token = await asyncio.to_thread(source.access_token)
    try:
        return await login(token)
    except AuthError as exc:
        if exc.category not in _RETRYABLE:
            raise
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

    def connect_imap(self, account: Account, **options):
        """`imap.connect()` with an access token, refreshed and retried once if refused."""
        from . import imap

        return call_with_token(self.token_source(account),
                               lambda token: imap.connect(account, oauth_token=token, **options))

    async def connect_smtp(self, account: Account, **options):
        """`smtp.connect()` with an access token, refreshed and retried once if refused."""
        from . import smtp

        return await acall_with_token(self.token_source(account),
                                      lambda token: smtp.connect(account, oauth_token=token, **options))

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
            "client_id_from": None,
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
                client_id_from=provider.client_id_from or None,
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


def access_token(services, account: Account, vault: SecretVault | None = None) -> str:
    """A current access token for `account` (refreshed when due): for front ends that need one.

    `vault` is the secret store already opened (and unlocked) by the caller, if any.
    """
    vault = vault if vault is not None else vault_for(services)
    return OAuth(services.config, vault, timeout=services.settings.timeout).token_source(account).access_token()
