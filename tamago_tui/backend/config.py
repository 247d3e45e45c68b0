"""The config file: TOML, one `[accounts.NAME]` table per account. Never a secret.

The file is meant to be read and edited by people, so the writer below keeps the
layout plain: settings first, then one table per account with its `imap` and
`smtp` sub-tables.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ConfigError, TamagoError
from .fsutil import atomic_write
from .log import register_secret
from .models import Account, Security, ServerSettings

SECRET_WORDS = ("password", "passwd", "secret", "token")
# Account keys that name a command, not a secret, despite containing a secret word.
COMMAND_KEYS = ("password_command", "token_command")
# Top-level tables whose keys are not checked for secret words: `[oauth.NAME]` holds app
# registrations (a client_secret there is public by design; oauth.py keeps it out of logs).
UNCHECKED_TABLES = frozenset({"oauth"})


@dataclass(frozen=True)
class Settings:
    """App-wide settings. Each field documents itself (its `help`, shown by the settings
    screen and `tamago_tui.backend.config.setting_help`)."""

    scan_interval_hours: float = field(default=12.0, metadata={
        "help": "Hours between automatic background scans while the TUI runs (0 disables)."})
    nameserver: str = field(default="", metadata={
        "help": "DNS server for every name lookup (server details, connection tests, sync, sending), "
                "HOST or HOST:PORT; empty means the system resolver."})
    secret_backend: str = field(default="auto", metadata={
        "choices": ("auto", "keyring", "encrypted"),
        "help": "Where passwords go: auto (keyring if usable, else encrypted file), keyring or encrypted."})
    master_password_command: str = field(default="", metadata={
        "help": "A command whose output is the master passphrase of the encrypted store."})
    timeout: float = field(default=20.0, metadata={
        "positive": True, "help": "Seconds allowed for each network step."})
    max_literal_mb: int = field(default=64, metadata={
        "positive": True, "help": "Refuse an IMAP literal (a message) larger than this many megabytes."})
    recent_flags: int = field(default=500, metadata={
        "min": 1, "help": "On a server without CONDSTORE: how many of each folder's newest messages every "
                          "sync re-reads the flags of (read, flagged, answered elsewhere)."})
    flag_sweep_hours: int = field(default=24, metadata={
        "min": 1, "help": "On a server without CONDSTORE: hours between full re-reads of a folder's flags."})


def setting_help(name: str) -> str:
    return next(f.metadata.get("help", "") for f in fields(Settings) if f.name == name)


def settings_from_text(values: dict[str, str], base: Settings) -> Settings:
    """Settings from what a person typed (the settings screen): each value is checked as the
    config file's would be; a bad one is a ConfigError naming the setting."""
    table = {}
    for f in fields(Settings):
        text = values.get(f.name)
        if text is None:
            continue
        text = text.strip()
        choices = f.metadata.get("choices")
        if choices and text not in choices:
            raise ConfigError(f"{f.name} must be one of {', '.join(choices)}, not {text!r}.")
        if f.name == "nameserver" and text:
            from .resolver import parse_nameserver  # lazy: dnspython is only needed for lookups

            try:
                parse_nameserver(text)
            except TamagoError as exc:
                raise ConfigError(f"nameserver: {exc}") from None
        if isinstance(f.default, str):
            table[f.name] = text
            continue
        try:
            value = int(text) if isinstance(f.default, int) else float(text)
        except ValueError:
            kind = "a whole number" if isinstance(f.default, int) else "a number"
            raise ConfigError(f"{f.name} must be {kind}, not {text!r}.") from None
        if value < 0 or (value == 0 and f.metadata.get("positive")):
            raise ConfigError(f"{f.name} must be more than 0, not {text!r}." if f.metadata.get("positive")
                              else f"{f.name} must not be negative.")
        table[f.name] = value
    merged = {f.name: getattr(base, f.name) for f in fields(Settings)} | table
    return _settings_from_table(merged, "", Path("the settings"))


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


def merge(base: Config, ours: Config, theirs: Config) -> Config:
    """Three-way merge for a config file that changed on disk since `base` was read from it:
    what this program changed (`ours` against `base`) wins, everything else is `theirs`
    (the file as it is now: an account added by `tamago accounts add` in another shell,
    an alias or a setting edited by hand). Accounts, `[oauth.NAME]` tables and settings
    are merged one by one; an account both sides changed is ours."""

    def pick(key, mine: dict, old: dict, other: dict):
        return mine.get(key) if mine.get(key) != old.get(key) else other.get(key)

    def tables(mine: dict, old: dict, other: dict) -> dict:
        names = list(other) + [n for n in mine if n not in other]
        merged = {name: pick(name, mine, old, other) for name in names}
        return {name: value for name, value in merged.items() if value is not None}

    settings = {f.name: pick(f.name, vars(ours.settings), vars(base.settings), vars(theirs.settings))
                for f in fields(Settings)}
    return Config(settings=Settings(**settings),
                  accounts=tables(ours.accounts, base.accounts, theirs.accounts),
                  oauth=tables(ours.oauth, base.oauth, theirs.oauth))


def load(path: Path) -> Config:
    """Read the config file. Every problem is a `ConfigError` naming the file and, where it
    can be found, the line; a missing file is an empty config."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: the config file is not UTF-8 text. Save it as UTF-8.") from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror or exc}.") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}. Fix that line (or move the file aside to start afresh)."
        ) from exc
    return _from_document(raw, text, path)


def _from_document(raw: dict, text: str, path: Path) -> Config:
    _refuse_secrets(raw, (), text, path)
    settings_raw = raw.get("settings", {})
    if not isinstance(settings_raw, dict):
        raise ConfigError(f"{_where(path, text, (), 'settings')}: settings must be a table ([settings]).")
    settings = _settings_from_table(settings_raw, text, path)
    accounts_raw = raw.get("accounts", {})
    if not isinstance(accounts_raw, dict):
        raise ConfigError(f"{_where(path, text, (), 'accounts')}: accounts must be tables ([accounts.NAME]).")
    accounts = {}
    for name, table in accounts_raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(path, text, ('accounts',), name)}: account {name!r} must be a table "
                              f"([accounts.{_key(name)}]).")
        try:
            accounts[name] = account_from_table(name, table)
        except _FieldError as exc:
            trail = ("accounts", name) + ((exc.table,) if exc.table else ())
            raise ConfigError(f"{_where(path, text, trail, exc.key)}: {exc}") from exc
        except ConfigError as exc:
            raise ConfigError(f"{_where(path, text, ('accounts', name), None)}: {exc}") from exc
    return Config(settings=settings, accounts=accounts, oauth=_oauth_tables(raw.get("oauth", {})))


def _oauth_tables(raw) -> dict[str, dict]:
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ConfigError("The [oauth] section of the config file must hold [oauth.NAME] tables.")
    for table in raw.values():
        # A Google "installed app" client secret is not confidential (Google says
        # so), which is why it may live here, but it still never reaches a log.
        register_secret(str(table.get("client_secret", "")))
    return {name: dict(table) for name, table in raw.items()}


def _settings_from_table(table: dict, text: str, path: Path) -> Settings:
    values = {}
    for f in fields(Settings):
        if f.name not in table:
            continue
        value, default = table[f.name], f.default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok and isinstance(default, int) and not isinstance(default, bool):
                ok = float(value).is_integer()
                value = int(value) if ok else value
            elif ok:
                value = float(value)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            kind = {bool: "true or false", int: "a whole number", float: "a number", str: "a quoted string"}.get(
                type(default), type(default).__name__)
            raise ConfigError(f"{_where(path, text, ('settings',), f.name)}: {f.name} = {value!r} "
                              f"must be {kind}.")
        least = f.metadata.get("min")
        if least is not None and value < least:
            raise ConfigError(f"{_where(path, text, ('settings',), f.name)}: {f.name} = {value!r} "
                              f"must be a whole number of {least} or more.")
        values[f.name] = value
    return Settings(**values)


def _refuse_secrets(table: dict, trail: tuple[str, ...], text: str, path: Path) -> None:
    """A password (or token) anywhere in the file is refused, not silently ignored."""
    for key, value in table.items():
        lowered = str(key).lower()
        if not trail and lowered in UNCHECKED_TABLES:
            continue
        names_a_setting = trail == ("settings",) and lowered in _SETTING_NAMES
        names_a_command = lowered.endswith("_command")  # password_command, token_command...
        if any(word in lowered for word in SECRET_WORDS) and not (names_a_setting or names_a_command):
            owner = f"Account {trail[1]!r} has" if len(trail) >= 2 and trail[0] == "accounts" else "There is"
            raise ConfigError(
                f"{_where(path, text, trail, key)}: {owner} a {key!r} entry in the config file. "
                "Secrets never go in config: use `tamago accounts add --password-stdin` "
                "or a password_command instead, and delete that line."
            )
        if isinstance(value, dict):
            _refuse_secrets(value, trail + (str(key),), text, path)


_SETTING_NAMES = frozenset(f.name for f in fields(Settings))


def _where(path: Path, text: str, trail: tuple[str, ...], key: str | None) -> str:
    """"PATH, line N" for `key` inside the table `trail` (best effort: "PATH" when not found)."""
    line = _find_line(text, trail, key)
    return f"{path}, line {line}" if line else str(path)


def _find_line(text: str, trail: tuple[str, ...], key: str | None) -> int | None:
    lines = text.splitlines()
    in_table = not trail
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("["):
            name = tuple(_dotted(stripped.strip("[]")))
            if key is None and name == trail:
                return number
            in_table = name == trail
            continue
        if in_table and key is not None and "=" in stripped and _dotted(stripped.split("=", 1)[0]) == [key]:
            return number
    if key is not None:  # an inline table or a dotted key: the first line that sets `key` at all
        setting = re.compile(rf"(^|[\s{{,.\"']){re.escape(key)}[\"']?\s*=")
        for number, line in enumerate(lines, 1):
            if setting.search(line):
                return number
    return None


def _dotted(text: str) -> list[str]:
    """The parts of a TOML dotted key such as `accounts."a@b.c".imap` (quotes honoured)."""
    parts, current, quote = [], "", ""
    for ch in text.strip():
        if quote:
            if ch == quote:
                quote = ""
            else:
                current += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


def save(config: Config, path: Path) -> None:
    """Write atomically, so a full disk or a crash never leaves half a config."""
    atomic_write(path, dumps(config), mode=0o600, what=f"the config file {path}", error_class=ConfigError)


class _FieldError(ConfigError):
    """A bad value, with where it sits (`table`, a sub-table of the account, and `key`) for the line number."""

    def __init__(self, message: str, table: str, key: str):
        super().__init__(message)
        self.table, self.key = table, key


def _server_from_table(table: dict, default_security: str, which: str = "") -> ServerSettings:
    port = table.get("port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise _FieldError(f"{which} port = {port!r} is not a port number (1-65535).", which, "port")
    security = table.get("security", default_security)
    if security not in {s.value for s in Security}:
        choices = ", ".join(s.value for s in Security)
        raise _FieldError(f"{which} security = {security!r} must be one of {choices}.", which, "security")
    return ServerSettings(
        host=str(table.get("host", "")),
        port=port,
        security=Security(security),
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
    for key in ("imap", "smtp"):
        if not isinstance(table.get(key, {}), dict):
            raise ConfigError(f"Account {name!r}: {key} must be a table ([accounts.{_key(name)}.{key}]).")
    if not isinstance(table.get("folders", []), list):
        raise ConfigError(f"Account {name!r}: folders must be a list of folder names.")
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise _FieldError(f"Account {name!r}: aliases must be a list of quoted addresses, "
                          'like aliases = ["sales@example.org"].', "", "aliases")
    if "email" in table:
        try:
            aliases = check_aliases(str(table["email"]), aliases)
        except ConfigError as exc:
            raise _FieldError(f"Account {name!r}: {exc}", "", "aliases") from exc
    try:
        return Account(
            name=name,
            email=str(table["email"]),
            display_name=str(table.get("display_name", "")),
            provider=str(table.get("provider", "custom")),
            imap=_server_from_table(table.get("imap", {}), "ssl", "imap"),
            smtp=_server_from_table(table.get("smtp", {}), "starttls", "smtp"),
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
            aliases=tuple(aliases),
        )
    except KeyError as exc:
        raise ConfigError(f"Account {name!r} in the config file has no {exc.args[0]} entry.") from exc
    except _FieldError as exc:
        raise _FieldError(f"Account {name!r}: {exc}", exc.table, exc.key) from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"Account {name!r} in the config file is invalid: {exc}") from exc


_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\].]+")


def check_aliases(email: str, aliases) -> tuple[str, ...]:
    """The aliases of the account with main address `email`, stripped, in order.

    Each must be a bare address (you@example.org, no display name), listed once and not
    the main address itself; a `ConfigError` names the first that is not."""
    result: list[str] = []
    seen = {email.strip().lower()}
    for raw in aliases:
        alias = str(raw).strip()
        if not _ADDRESS.fullmatch(alias):
            raise ConfigError(f"alias {alias!r} is not an email address (write it bare, like sales@example.org).")
        if alias.lower() == email.strip().lower():
            raise ConfigError(f"alias {alias!r} is the account's own address, not an alias.")
        if alias.lower() in seen:
            raise ConfigError(f"alias {alias!r} is listed twice.")
        seen.add(alias.lower())
        result.append(alias)
    return tuple(result)


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
    if account.aliases:
        table["aliases"] = list(account.aliases)
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
