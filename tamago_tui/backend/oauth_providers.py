"""OAuth authorization servers as data, in three layers, each overriding the one before:

1. built-in: tamago_tui/data/oauth.toml (endpoints, scopes; no client IDs);
2. site: `tamago/oauth.toml` in each system config directory ($XDG_CONFIG_DIRS,
   /etc/xdg/tamago/oauth.toml on Debian), where an administrator or a packager
   sets the client IDs of the organisation's own app registrations for every user;
3. the user's config.toml `[oauth.NAME]` tables.

Each server remembers where its client ID came from, so `tamago oauth providers`
and the account editor can say so.
"""

from __future__ import annotations

import os
import tomllib
import urllib.parse
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path

import platformdirs

from . import providers as presets
from .errors import ConfigError, NotFound, OAuthError
from .log import register_secret
from .models import Account
from .paths import APP_NAME

BUILTIN = "built-in"
USER_CONFIG = "config.toml"

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
    # Where client_id was set: BUILTIN, a site file's path, USER_CONFIG, or "" (nowhere).
    client_id_from: str = field(default="", compare=False)

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
                f"config.toml under [oauth.{self.key}] as client_id = \"...\" (or an administrator "
                f"sets it for everyone in {site_hint()}). docs/oauth.md explains each step.",
                category="oauth_misconfigured",
                error="invalid_client",
            )

    def client_params(self) -> dict[str, str]:
        params = {"client_id": self.client_id}
        if self.client_secret:
            params["client_secret"] = self.client_secret
        return params


_LIST_FIELDS = {"scopes", "presets", "domains"}


def _provider_from_table(key: str, table: dict, base: ProviderConfig | None = None,
                         source: str = USER_CONFIG) -> ProviderConfig:
    known = {f.name for f in fields(ProviderConfig)} - {"key", "client_id_from"}
    where = f"[oauth.{key}]" if source == USER_CONFIG else f"[{key}] in {source}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table.")
    unknown = set(table) - known - {"base"}
    if unknown:
        raise ConfigError(
            f"{where} has unknown keys: {', '.join(sorted(unknown))}. "
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
                raise ConfigError(f"{where} auth_params must be a table.")
            value = {str(k): str(v) for k, v in value.items()}
        elif name == "device_pkce":
            value = bool(value)
        else:
            value = str(value)
        values[name] = value
    if "default_flow" in values and values["default_flow"] not in FLOWS:
        raise ConfigError(f"{where} default_flow must be one of {', '.join(FLOWS)}.")
    if "client_id" in values:
        values["client_id_from"] = source if values["client_id"] else ""
    if base is not None and base.key != key:
        # A new server built on another one is chosen by name (oauth_provider); it does not
        # take over its base's presets and domains unless it lists its own.
        values = {"presets": (), "domains": (), **values}
    provider = replace(base, key=key, **values) if base else ProviderConfig(key=key, **values)
    register_secret(provider.client_secret)
    return provider


def builtin_provider_tables() -> dict[str, dict]:
    text = resources.files("tamago_tui.data").joinpath("oauth.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def site_files() -> list[Path]:
    """The administrator's OAuth files that exist, least important first.

    $XDG_CONFIG_DIRS lists the most important directory first, so the list is reversed
    and each file overrides the ones before it.
    """
    dirs = platformdirs.site_config_dir(APP_NAME, multipath=True).split(os.pathsep)
    return [path for path in (Path(d) / "oauth.toml" for d in reversed(dirs) if d) if path.is_file()]


def site_hint() -> str:
    """Where an administrator's OAuth file goes on this machine (the most important site dir)."""
    first = platformdirs.site_config_dir(APP_NAME, multipath=True).split(os.pathsep)[0]
    return str(Path(first) / "oauth.toml")


def site_tables(path: Path) -> dict[str, dict]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the site OAuth file {path}: {exc.strerror or exc}.") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The site OAuth file {path} is not valid TOML: {exc}.") from exc


def _apply(providers: dict[str, ProviderConfig], tables: dict[str, dict], source: str) -> None:
    """Apply one layer of tables: a known name overrides its keys; a new name defines a
    server, starting from `base = "<name>"` when given (also one defined later in the layer)."""
    pending = dict(tables)
    for _ in range(len(pending) + 1):
        progressed = False
        for key, table in list(pending.items()):
            base_key = (table.get("base") if isinstance(table, dict) else "") or (key if key in providers else "")
            if base_key and base_key not in providers:
                continue
            providers[key] = _provider_from_table(key, table, providers.get(base_key), source)
            del pending[key]
            progressed = True
        if not progressed:
            break
    if pending:
        key, table = next(iter(pending.items()))
        where = f"[oauth.{key}]" if source == USER_CONFIG else f"[{key}] in {source}"
        raise ConfigError(f"{where} has base = {table.get('base')!r}, which is not an OAuth server.")


def load_providers(overrides: dict[str, dict] | None = None, *, site: bool = True) -> dict[str, ProviderConfig]:
    """The built-in servers, then the site files, then the user's `[oauth.NAME]` tables."""
    providers: dict[str, ProviderConfig] = {}
    _apply(providers, builtin_provider_tables(), BUILTIN)
    if site:
        for path in site_files():
            _apply(providers, site_tables(path), str(path))
    _apply(providers, overrides or {}, USER_CONFIG)
    return providers


def describe(provider: ProviderConfig) -> dict:
    """What `tamago oauth providers` shows of one server. A client ID is a public
    identifier; the client secret is only ever reported as set or not."""
    return {
        "key": provider.key,
        "name": provider.name or provider.key,
        "client_id": provider.client_id or None,
        "client_id_from": provider.client_id_from or None,
        "client_secret_set": bool(provider.client_secret),
        "flows": list(provider.flows),
        "default_flow": provider.default_flow,
        "tenant": provider.tenant or None,
        "scopes": list(provider.scopes),
        "presets": list(provider.presets),
        "domains": list(provider.domains),
        "register_url": provider.register_url or None,
    }


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
