"""Plain data shared by every service. Frozen dataclasses, no behaviour beyond helpers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum


class Security(str, Enum):
    """How a connection is protected. `NONE` needs the user's explicit confirmation."""

    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"

    @property
    def label(self) -> str:
        return {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "None (unencrypted)"}[self.value]


class Protocol(str, Enum):
    IMAP = "imap"
    SMTP = "smtp"


DEFAULT_PORTS = {
    (Protocol.IMAP, Security.SSL): 993,
    (Protocol.IMAP, Security.STARTTLS): 143,
    (Protocol.IMAP, Security.NONE): 143,
    (Protocol.SMTP, Security.SSL): 465,
    (Protocol.SMTP, Security.STARTTLS): 587,
    (Protocol.SMTP, Security.NONE): 25,
}


@dataclass(frozen=True)
class ServerSettings:
    """One endpoint: where to connect, how to protect it and who to log in as."""

    host: str
    port: int
    security: Security = Security.SSL
    username: str = ""
    # SHA-256 fingerprint (hex, no colons) of a certificate the user chose to trust.
    pinned_sha256: str = ""

    def with_(self, **changes) -> "ServerSettings":
        return replace(self, **changes)


@dataclass(frozen=True)
class Account:
    """A linked mailbox. Never holds a secret: passwords live in secrets.py."""

    name: str  # short, unique key used by the CLI (`--account NAME`)
    email: str
    imap: ServerSettings
    smtp: ServerSettings
    display_name: str = ""
    provider: str = "custom"
    backfill_days: int = 90
    folders: tuple[str, ...] = ()
    # "password" (keyring or encrypted store), "command" (password_command) or "oauth2".
    auth: str = "password"
    password_command: str = ""
    # SASL mechanism for OAuth accounts: "XOAUTH2" or "OAUTHBEARER".
    oauth_mechanism: str = "XOAUTH2"
    # OAuth authorization server (a table of data/oauth.toml or config [oauth.NAME]);
    # empty means "follow the provider preset or the address's domain".
    oauth_provider: str = ""
    # A command that prints an OAuth access token (like mutt_oauth2.py or aerc's
    # token command), for servers tamago cannot sign in to itself.
    token_command: str = ""
    # A CA bundle to trust in addition to the system store (for private CAs).
    cafile: str = ""
    # Append sent mail to the Sent folder; None means "follow the provider preset".
    save_sent: bool | None = None
    # Cache the bodies of every matched message in the background.
    auto_cache: bool = False
    # Other addresses this mailbox receives mail for and may send as (aliases, "send as"
    # identities), each a bare address. Never the main `email`.
    aliases: tuple[str, ...] = ()

    def with_(self, **changes) -> "Account":
        return replace(self, **changes)

    @property
    def own_addresses(self) -> tuple[str, ...]:
        """Every address that is "me" for this account, lower-cased: the main address, then
        each alias, then an address-shaped IMAP login that differs (some providers log in
        with another address than the one mail is sent from)."""
        found: list[str] = []
        login = self.imap.username if "@" in self.imap.username else ""
        for address in (self.email, *self.aliases, login):
            address = address.strip().lower()
            if address and address not in found:
                found.append(address)
        return tuple(found)

    def is_own(self, address: str) -> bool:
        """Whether `address` (bare, any case) is one of this account's own addresses."""
        return address.strip().lower() in self.own_addresses

    @property
    def sending_addresses(self) -> tuple[str, ...]:
        """The addresses mail can be sent as: the main address, then each alias, as written."""
        return (self.email, *(a for a in self.aliases if a.strip().lower() != self.email.strip().lower()))


@dataclass(frozen=True)
class Address:
    """One mailbox address with its display name. `email` is compared case-insensitively."""

    email: str
    name: str = ""

    @property
    def key(self) -> str:
        return self.email.strip().lower()

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Contact:
    id: int | None
    name: str
    emails: tuple[str, ...] = ()
    organisation: str = ""
    notes: str = ""


@dataclass(frozen=True)
class HeaderSummary:
    """What the header index knows about one message in one folder."""

    account: str
    folder: str
    uid: int
    message_id: str
    date: str
    sender: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    size: int = 0
    flags: tuple[str, ...] = ()
    has_attachments: bool = False
    extra: dict = field(default_factory=dict, compare=False)
