"""The config file: TOML, one `[accounts.NAME]` table per account. Never a secret.

The file is meant to be read and edited by people, so the writer below keeps the
layout plain: settings first, then one table per account with its `imap` and
`smtp` sub-tables.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ConfigError
from .log import register_secret
from .models import Account, Security, ServerSettings

SECRET_WORDS = ("password", "passwd", "secret", "token")
# Account keys that name a command, not a secret, despite containing a secret word.
COMMAND_KEYS = ("password_command", "token_command")


@dataclass(frozen=True)
class Settings:
    """App-wide settings. Each field documents itself for the README."""

    # Hours between automatic background scans while the TUI runs (0 disables).
    scan_interval_hours: float = 12.0
    # DNS server for lookups, "HOST" or "HOST:PORT"; empty means the system resolver.
    nameserver: str = ""
    # Where passwords go: "auto" (keyring if usable, else encrypted file), "keyring" or "encrypted".
    secret_backend: str = "auto"
    # A command whose output is the master passphrase of the encrypted store.
    master_password_command: str = ""
    # Seconds allowed for each network step.
    timeout: float = 20.0
    # Refuse an IMAP literal larger than this many megabytes.
    max_literal_mb: int = 64


@dataclass(frozen=True)
class Config:
    settings: Settings = field(default_factory=Settings)
    accounts: dict[str, Account] = field(default_factory=dict)
    # `[oauth.NAME]` tables as written: overrides of data/oauth.toml (your own
    # client_id, a tenant) or new authorization servers. See backend/oauth.py.
    oauth: dict[str, dict] = field(default_factory=dict)

    def with_account(self, account: Account) -> "Config":
        accounts = dict(self.accounts)
        accounts[account.name] = account
        return replace(self, accounts=accounts)

    def without_account(self, name: str) -> "Config":
        accounts = {k: v for k, v in self.accounts.items() if k != name}
        return replace(self, accounts=accounts)


def load(path: Path) -> Config:
    if not path.exists():
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    settings_raw = raw.get("settings", {})
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in settings_raw.items() if k in known})
    accounts = {}
    for name, table in raw.get("accounts", {}).items():
        accounts[name] = account_from_table(name, table)
    return Config(settings=settings, accounts=accounts, oauth=_oauth_tables(raw.get("oauth", {})))


def _oauth_tables(raw) -> dict[str, dict]:
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError("The [oauth] section of the config file must hold [oauth.NAME] tables.")
    for table in raw.values():
        # A Google "installed app" client secret is not confidential (Google says
        # so), which is why it may live here, but it still never reaches a log.
        register_secret(str(table.get("client_secret", "")))
    return {name: dict(table) for name, table in raw.items()}


def save(config: Config, path: Path) -> None:
    """Write atomically, so a full disk or a crash never leaves half a config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(config)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"Could not write {path}: {exc.strerror or exc}") from exc
    os.replace(tmp, path)


def _server_from_table(table: dict, default_security: str) -> ServerSettings:
    return ServerSettings(
        host=str(table.get("host", "")),
        port=int(table.get("port", 0)),
        security=Security(table.get("security", default_security)),
        username=str(table.get("username", "")),
        pinned_sha256=str(table.get("pinned_sha256", "")),
    )


def account_from_table(name: str, table: dict) -> Account:
    for key in table:
        if any(word in key.lower() for word in SECRET_WORDS) and key not in COMMAND_KEYS:
            raise ConfigError(
                f"Account {name!r} has a {key!r} entry in the config file. "
                "Secrets never go in config: use `tamago accounts add --password-stdin` "
                "or a password_command instead."
            )
    try:
        return Account(
            name=name,
            email=str(table["email"]),
            display_name=str(table.get("display_name", "")),
            provider=str(table.get("provider", "custom")),
            imap=_server_from_table(table.get("imap", {}), "ssl"),
            smtp=_server_from_table(table.get("smtp", {}), "starttls"),
            backfill_days=int(table.get("backfill_days", 90)),
            folders=tuple(table.get("folders", ())),
            auth=str(table.get("auth", "password")),
            password_command=str(table.get("password_command", "")),
            oauth_mechanism=str(table.get("oauth_mechanism", "XOAUTH2")),
            oauth_provider=str(table.get("oauth_provider", "")),
            token_command=str(table.get("token_command", "")),
            cafile=str(table.get("cafile", "")),
            save_sent=table.get("save_sent"),
            auto_cache=bool(table.get("auto_cache", False)),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"Account {name!r} in the config file is invalid: {exc}") from exc


def account_to_table(account: Account) -> dict:
    table: dict = {
        "email": account.email,
        "display_name": account.display_name,
        "provider": account.provider,
        "backfill_days": account.backfill_days,
        "folders": list(account.folders),
        "auth": account.auth,
        "auto_cache": account.auto_cache,
    }
    if account.password_command:
        table["password_command"] = account.password_command
    if account.auth == "oauth2":
        table["oauth_mechanism"] = account.oauth_mechanism
    if account.oauth_provider:
        table["oauth_provider"] = account.oauth_provider
    if account.token_command:
        table["token_command"] = account.token_command
    if account.cafile:
        table["cafile"] = account.cafile
    if account.save_sent is not None:
        table["save_sent"] = account.save_sent
    for key, server in (("imap", account.imap), ("smtp", account.smtp)):
        sub = {
            "host": server.host,
            "port": server.port,
            "security": server.security.value,
            "username": server.username,
        }
        if server.pinned_sha256:
            sub["pinned_sha256"] = server.pinned_sha256
        table[key] = sub
    return table


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _value(key)


def dumps(config: Config) -> str:
    lines = ["# tamago configuration. Secrets are never stored here.", "", "[settings]"]
    for f in fields(Settings):
        lines.append(f"{f.name} = {_value(getattr(config.settings, f.name))}")
    for name, account in config.accounts.items():
        table = account_to_table(account)
        lines += ["", f"[accounts.{_key(name)}]"]
        for key, value in table.items():
            if not isinstance(value, dict):
                lines.append(f"{key} = {_value(value)}")
        for key, value in table.items():
            if isinstance(value, dict):
                lines += ["", f"[accounts.{_key(name)}.{key}]"]
                lines += [f"{k} = {_value(v)}" for k, v in value.items()]
    for name, table in config.oauth.items():
        lines += ["", f"[oauth.{_key(name)}]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for key, value in table.items():
            if isinstance(value, dict):
                lines += ["", f"[oauth.{_key(name)}.{_key(key)}]"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in value.items()]
    return "\n".join(lines) + "\n"
