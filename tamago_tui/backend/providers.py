"""Provider presets: Gmail, Outlook.com, Office 365, Yahoo, ... and Custom.

The presets are data (`tamago_tui/data/providers.toml`), loaded once through
importlib.resources so they work from a wheel or a zip. This module only reads
them and answers the questions the account editor and the lookup ask:

- `all_providers()`, `get(id)`: the list shown in the editor's provider picker;
- `for_email(address)` / `for_domain(domain)`: the suggestion while typing;
- `for_mx(host)`: which provider receives mail for a custom domain;
- `fill(provider, email)`: the IMAP and SMTP settings with the username formatted;
- `default_folders(provider_id, folders)`: which folders to select after login.
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from typing import Iterable, Sequence

from .errors import ConfigError, NotFound
from .models import DEFAULT_PORTS, Protocol, Security, ServerSettings

USERNAME_FORMATS = ("email", "localpart")
FOLDER_RULES = ("gmail", "standard")
CUSTOM = "custom"


@dataclass(frozen=True)
class Endpoint:
    """One server of a preset, before it is filled in for an address."""

    host: str  # may contain "{domain}"
    port: int
    security: Security
    username: str = "email"  # "email" or "localpart"

    def settings(self, email: str) -> ServerSettings:
        """Filled in for an address; given only a domain, the username stays empty."""
        email = email.strip()
        if "@" in email:
            local, _, domain = email.rpartition("@")
            username = local if self.username == "localpart" else email
        else:
            domain, username = email, ""
        host = self.host.replace("{domain}", domain.lower()) if domain else self.host
        if "{domain}" in host:
            host = ""
        return ServerSettings(host=host, port=self.port, security=self.security, username=username)


@dataclass(frozen=True)
class Variant:
    """A regional data centre of a provider: its own domains, MX names and hosts."""

    id: str
    name: str
    domains: tuple[str, ...] = ()
    mx: tuple[str, ...] = ()
    imap_host: str = ""
    smtp_host: str = ""


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    domains: tuple[str, ...]
    mx: tuple[str, ...]
    imap: Endpoint | None
    smtp: Endpoint | None
    smtp_alternatives: tuple[Endpoint, ...] = ()
    username: str = "email"
    saves_sent: bool = False
    folder_rule: str = "standard"
    app_password_required: bool = False
    imap_must_be_enabled: bool = False
    show_in_imap_for_all_mail: bool = False
    oauth_recommended: bool = False
    oauth_provider: str = ""
    help_url: str = ""
    notes: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = ()
    variant: str = ""  # the id of the applied variant, "" for the main one

    @property
    def has_servers(self) -> bool:
        """False for entries such as on-premises Exchange, whose hosts nobody can know."""
        return bool(self.imap and self.imap.host)

    def with_variant(self, variant: Variant) -> "Provider":
        imap = replace(self.imap, host=variant.imap_host) if self.imap and variant.imap_host else self.imap
        smtp = replace(self.smtp, host=variant.smtp_host) if self.smtp and variant.smtp_host else self.smtp
        alternatives = tuple(
            replace(alt, host=variant.smtp_host) if variant.smtp_host else alt
            for alt in self.smtp_alternatives
        )
        return replace(
            self,
            name=variant.name,
            imap=imap,
            smtp=smtp,
            smtp_alternatives=alternatives,
            variant=variant.id,
        )


# -- loading ---------------------------------------------------------------


def _endpoint(table: dict | None, default_username: str, where: str) -> Endpoint | None:
    if not table:
        return None
    try:
        username = str(table.get("username", default_username))
        if username not in USERNAME_FORMATS:
            raise ValueError(f"username must be one of {USERNAME_FORMATS}, not {username!r}")
        return Endpoint(
            host=str(table["host"]),
            port=int(table["port"]),
            security=Security(table["security"]),
            username=username,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"Provider preset {where} is invalid: {exc}") from exc


def _provider(pid: str, table: dict) -> Provider:
    username = str(table.get("username", "email"))
    folder_rule = str(table.get("folder_rule", "standard"))
    if username not in USERNAME_FORMATS or folder_rule not in FOLDER_RULES:
        raise ConfigError(f"Provider preset {pid!r} has an invalid username or folder_rule")
    variants = tuple(
        Variant(
            id=str(v["id"]),
            name=str(v["name"]),
            domains=tuple(d.lower() for d in v.get("domains", ())),
            mx=tuple(p.lower() for p in v.get("mx", ())),
            imap_host=str(v.get("imap_host", "")),
            smtp_host=str(v.get("smtp_host", "")),
        )
        for v in table.get("variants", ())
    )
    return Provider(
        id=pid,
        name=str(table["name"]),
        domains=tuple(d.lower() for d in table.get("domains", ())),
        mx=tuple(p.lower() for p in table.get("mx", ())),
        imap=_endpoint(table.get("imap"), username, f"{pid}.imap"),
        smtp=_endpoint(table.get("smtp"), username, f"{pid}.smtp"),
        smtp_alternatives=tuple(
            e
            for e in (
                _endpoint(alt, username, f"{pid}.smtp_alternatives")
                for alt in table.get("smtp_alternatives", ())
            )
            if e
        ),
        username=username,
        saves_sent=bool(table.get("saves_sent", False)),
        folder_rule=folder_rule,
        app_password_required=bool(table.get("app_password_required", False)),
        imap_must_be_enabled=bool(table.get("imap_must_be_enabled", False)),
        show_in_imap_for_all_mail=bool(table.get("show_in_imap_for_all_mail", False)),
        oauth_recommended=bool(table.get("oauth_recommended", False)),
        oauth_provider=str(table.get("oauth_provider", "")),
        help_url=str(table.get("help_url", "")),
        notes=tuple(str(n) for n in table.get("notes", ())),
        variants=variants,
    )


def parse(text: str) -> dict[str, Provider]:
    """Parse a presets file. Public so tests can feed canned data."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The provider presets are not valid TOML: {exc}") from exc
    try:
        return {pid: _provider(pid, table) for pid, table in raw.get("providers", {}).items()}
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"The provider presets are invalid: missing {exc}") from exc


@functools.cache
def _load() -> dict[str, Provider]:
    text = resources.files("tamago_tui").joinpath("data", "providers.toml").read_text(encoding="utf-8")
    return parse(text)


# -- questions -------------------------------------------------------------


def all_providers() -> list[Provider]:
    """Every preset in file order; "custom" last, so pickers end with it."""
    providers = list(_load().values())
    return [p for p in providers if p.id != CUSTOM] + [p for p in providers if p.id == CUSTOM]


def get(provider_id: str) -> Provider:
    try:
        return _load()[provider_id]
    except KeyError:
        raise NotFound(f"No provider preset called {provider_id!r}.") from None


def _domain_of(address_or_domain: str) -> str:
    text = address_or_domain.strip().lower()
    return text.rpartition("@")[2].strip().rstrip(".")


def for_domain(domain: str) -> Provider | None:
    """The preset for an address domain such as gmail.com or zoho.eu, else None."""
    domain = _domain_of(domain)
    if not domain:
        return None
    for provider in _load().values():
        if domain in provider.domains:
            return provider
        for variant in provider.variants:
            if domain in variant.domains:
                return provider.with_variant(variant)
    return None


def for_email(address: str) -> Provider | None:
    """The suggestion while an address is typed: only once there is something after the @."""
    if "@" not in address:
        return None
    return for_domain(address)


def _specificity(pattern: str) -> int:
    return len(pattern.replace("*", ""))


def _mx_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*.") and "*" not in pattern[2:]:
        return host.endswith(pattern[1:])
    return fnmatch.fnmatchcase(host, pattern)


def for_mx(mx_host: str) -> Provider | None:
    """The provider that receives mail at this MX host, by the most specific pattern."""
    host = mx_host.strip().lower().rstrip(".")
    if not host:
        return None
    best: tuple[int, Provider] | None = None
    for provider in _load().values():
        candidates = [(pattern, None) for pattern in provider.mx]
        candidates += [(pattern, variant) for variant in provider.variants for pattern in variant.mx]
        for pattern, variant in candidates:
            if _mx_matches(pattern, host):
                score = _specificity(pattern)
                if best is None or score > best[0]:
                    best = (score, provider.with_variant(variant) if variant else provider)
    return best[1] if best else None


def fill(provider: Provider | str, email: str) -> tuple[ServerSettings, ServerSettings]:
    """The preset's IMAP and SMTP settings for this address, usernames formatted.

    A preset without servers (on-premises Exchange) yields empty hosts with the
    usual ports, so a form still shows sensible defaults.
    """
    if isinstance(provider, str):
        provider = get(provider)
    imap = provider.imap or Endpoint("", DEFAULT_PORTS[(Protocol.IMAP, Security.SSL)], Security.SSL, provider.username)
    smtp = provider.smtp or Endpoint(
        "", DEFAULT_PORTS[(Protocol.SMTP, Security.STARTTLS)], Security.STARTTLS, provider.username
    )
    return imap.settings(email), smtp.settings(email)


def flag_notes(provider: Provider) -> list[str]:
    """Short labels for the preset's flags, for badges next to the form."""
    labels = []
    if provider.app_password_required:
        labels.append("App password required")
    if provider.imap_must_be_enabled:
        labels.append("IMAP must be enabled")
    if provider.show_in_imap_for_all_mail:
        labels.append("'Show in IMAP' must be on for All Mail")
    if provider.oauth_recommended:
        labels.append("OAuth recommended")
    return labels


# -- folders ---------------------------------------------------------------

_SENT_NAMES = ("sent", "sent items", "sent messages", "sent mail", "inbox.sent", "inbox/sent", "[gmail]/sent mail")
_GMAIL_PREFIXES = ("[gmail]/", "[google mail]/")


def _flagset(flags: Iterable) -> set[str]:
    out = set()
    for flag in flags or ():
        if isinstance(flag, bytes):
            flag = flag.decode("ascii", "replace")
        out.add(str(flag).lower())
    return out


def _first(folders: Sequence[tuple[str, set[str]]], flag: str | None, names: Sequence[str] = ()) -> str | None:
    if flag:
        for name, flags in folders:
            if flag in flags:
                return name
    for wanted in names:
        for name, _flags in folders:
            if name.lower() == wanted:
                return name
    return None


def default_folders(provider_id: str, folders: Iterable[tuple[str, Iterable]]) -> list[str]:
    """The folders to select by default after a successful login.

    `folders` is `(name, flags)` pairs as LIST returns them; SPECIAL-USE flags
    (RFC 6154: \\All, \\Important, \\Sent) decide, names are only a fallback.

    Gmail (and any server whose folders look like Gmail's): All Mail, or
    Important plus Sent Mail, and never INBOX, which there is only a label
    and makes scans slow (the ONTRAPORT seed). An empty list means neither
    exists, usually because "Show in IMAP" is off: the user must choose.
    Everywhere else: INBOX plus Sent.
    """
    listed = [(str(name), _flagset(flags)) for name, flags in folders]
    rule = "standard"
    try:
        rule = get(provider_id).folder_rule
    except NotFound:
        pass
    if any(name.lower().startswith(_GMAIL_PREFIXES) for name, _ in listed):
        rule = "gmail"
    if rule == "gmail":
        all_mail = _first(listed, "\\all", ("[gmail]/all mail", "[google mail]/all mail"))
        if all_mail:
            return [all_mail]
        picks = [
            _first(listed, "\\important", ("[gmail]/important", "[google mail]/important")),
            _first(listed, "\\sent", ("[gmail]/sent mail", "[google mail]/sent mail")),
        ]
        return [p for p in picks if p]
    picks = [_first(listed, None, ("inbox",)), _first(listed, "\\sent", _SENT_NAMES)]
    return list(dict.fromkeys(p for p in picks if p))
