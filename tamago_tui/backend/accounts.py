"""Adding, changing and removing accounts: config, secrets and state together.

The config file gets the settings, the secret store gets the passwords, the
database gets the runtime state. Nothing secret ever reaches config or SQLite.
"""

from __future__ import annotations

import logging

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
    store = services.open_store()
    try:
        store.ensure_account(account.name, account.email)
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
