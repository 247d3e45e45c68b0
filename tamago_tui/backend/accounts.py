"""Adding, changing, testing and removing accounts: config, secrets and state together.

The config file gets the settings, the secret store gets the passwords, the
database gets the runtime state. Nothing secret ever reaches config or SQLite.
The CLI and the accounts screens both go through these functions; the
connection test itself lives in diagnostics.
"""

from __future__ import annotations

import logging
from typing import Iterable

from .errors import UsageError
from .models import Account
from .services import Services

log = logging.getLogger("tamago.accounts")


def secret_store(services: Services, prompt=None):
    from .secrets import SecretStore

    return SecretStore.for_services(services, prompt=prompt)


def save_account(services: Services, account: Account, password: str | None = None,
                 smtp_password: str | None = None, *, prompt=None, previous: Account | None = None) -> Account:
    """Store the passwords first, then the config: a failure leaves no half-saved account."""
    if password or smtp_password:
        secrets = secret_store(services, prompt=prompt)
        if password:
            secrets.set(account, password, "password")
        if smtp_password:
            secrets.set(account, smtp_password, "smtp-password")
        elif previous is not None and account.smtp.username == account.imap.username:
            secrets.delete(account, "smtp-password")
    config = services.config
    if previous is not None and previous.name != account.name:
        config = config.without_account(previous.name)
    services.save_config(config.with_account(account))
    store = services.open_store()  # the first open of the new config already follows it (services.py)
    try:
        store.ensure_account(account.name, account.email)
        from .aliases import follow

        # An alias added or removed: mail already indexed follows, and the new addresses are
        # recorded (see aliases.py). Nothing to do when the open above already did it.
        same = previous is not None and previous.name == account.name
        follow(store, account, fallback=previous.own_addresses if same else None)
    finally:
        store.close()
    log.info("saved account %s (%s)", account.name, account.email)
    return account


def remove_account(services: Services, account: Account, *, prompt=None) -> None:
    """Config entry, secrets and index go; cached bodies stay (they are keyed by Message-ID)."""
    try:
        secret_store(services, prompt=prompt).delete(account)
    finally:
        services.save_config(services.config.without_account(account.name))
        store = services.open_store()
        try:
            store.forget_account(account.name)
        finally:
            store.close()
    log.info("removed account %s", account.name)


# -- the connection test, for accounts ------------------------------------------


def stored_passwords(services: Services, account: Account, *, prompt=None) -> tuple[str | None, str | None]:
    """(IMAP password, SMTP password) from the secret store or the account's password command.

    For `auth = "oauth2"` both are a current OAuth access token (refreshed as needed).
    """
    if account.auth == "oauth2":
        from . import oauth

        token = oauth.access_token(services, account, oauth.vault_for(services, prompt))
        return token, token
    secrets = secret_store(services, prompt=prompt)
    return secrets.password_for(account, "imap"), secrets.password_for(account, "smtp")


def check_account(services: Services, account: Account, password: str | None, *,
                  smtp_password: str | None = None, only: str | None = None, timeout: float | None = None,
                  nameserver: str | None = None):
    """The connection checklist for `account`, step by step. Records nothing (see record_test)."""
    from .diagnostics import run_checks

    settings = services.settings
    return run_checks(
        account.imap if only in (None, "imap") else None,
        account.smtp if only in (None, "smtp") else None,
        password,
        smtp_password=smtp_password,
        cafile=account.cafile,
        timeout=timeout if timeout is not None else settings.timeout,
        nameserver=nameserver if nameserver is not None else settings.nameserver,
        provider=account.provider,
        oauth_mechanism=account.oauth_mechanism if account.auth == "oauth2" else None,
    )


def failure_summary(report) -> str:
    """'IMAP Login: refused ...' for the accounts list, or '' when the test passed."""
    failure = report.first_failure
    return f"{failure.protocol.upper()} {failure.name}: {failure.detail}" if failure else ""


def record_test(services: Services, account: Account, report) -> None:
    """Remember the outcome (status, last error, category) in the local database."""
    store = services.open_store()
    try:
        store.record_test(account.name, account.email, report.ok, failure_summary(report), report.category or "")
    finally:
        store.close()


def folders_from(steps: Iterable) -> list[tuple[str, tuple[str, ...]]]:
    """The (name, flags) folder list the IMAP Folders step found, if it ran."""
    for step in steps:
        if step.protocol == "imap" and step.data.get("folders"):
            return list(step.data["folders"])
    return []


def default_folders(provider: str, folders: list[tuple[str, tuple[str, ...]]]) -> tuple[str, ...]:
    """The provider rules' default selection (Gmail: All Mail...; elsewhere INBOX plus Sent)."""
    from .providers import default_folders as rules

    return tuple(rules(provider, folders))


def ensure_new(services: Services, name: str) -> None:
    if name in services.config.accounts:
        raise UsageError(f"An account named {name!r} already exists. Remove it first, or pick another --name.")


def pin_certificate(services: Services, account: Account, protocol: str, fingerprint: str) -> Account:
    """Trust exactly one certificate for one server of one account ('' or '-' removes the pin)."""
    from .tls import is_valid_fingerprint, normalize_fingerprint

    value = "" if fingerprint.strip() in ("", "-", "none") else normalize_fingerprint(fingerprint)
    if value and not is_valid_fingerprint(value):
        raise UsageError(f"{fingerprint!r} is not a SHA-256 fingerprint (64 hex digits).")
    server = getattr(account, protocol).with_(pinned_sha256=value)
    account = account.with_(**{protocol: server})
    services.save_config(services.config.with_account(account))
    return account
