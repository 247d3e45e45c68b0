"""OAuth authorization servers as data: data/oauth.toml merged with config `[oauth.NAME]` tables."""

from __future__ import annotations

import tomllib
import urllib.parse
from dataclasses import dataclass, field, fields, replace
from importlib import resources

from . import providers as presets
from .errors import ConfigError, NotFound, OAuthError
from .log import register_secret
from .models import Account

FLOWS = ("device", "loopback", "paste")


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
    try:  # the preset's own word first (providers.toml), then the servers' preset lists
        named = presets.get(account.provider).oauth_provider
    except NotFound:
        named = ""
    if named in providers:
        return providers[named]
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
