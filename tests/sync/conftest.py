"""Fixtures for the sync tests: accounts on the real Dovecot, and a proxy in between."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.models import Account, Security, ServerSettings
from tests.servers.seed import Person, make_message

from .proxy import Proxy

ME = Person("Test User", "me@example.test")
ADA = Person("Ada Lovelace", "ada@partner.test")
GRACE = Person("Grace Hopper", "grace@partner.test")
OTHER = Person("Someone Else", "someone@elsewhere.test")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def message(sender=ADA, to=(ME,), subject="Hello", body="Hi there.", cc=(), days_ago=1, **kwargs) -> bytes:
    return make_message(sender=sender, to=tuple(to), cc=tuple(cc), subject=subject, body=body,
                        date=now() - dt.timedelta(days=days_ago), **kwargs)


@pytest.fixture
def add_account(services, tmp_path):
    """add_account(server, user, port=None, security=SSL, **fields) -> Account saved to the config.

    The password reaches tamago through a password command reading a private
    file, the way a headless install would keep it (never in config.toml).
    """

    def make(server, user, *, port: int | None = None, security: Security = Security.SSL,
             name: str = "work", **fields) -> Account:
        secret = tmp_path / f"{name}.secret"
        secret.write_text(user.password + "\n")
        os.chmod(secret, 0o600)
        if port is None:
            port = server.ports["imaps" if security is Security.SSL else "imap"]
        account = Account(
            name=name,
            email=user.address,
            imap=ServerSettings("127.0.0.1", port, security, user.login),
            smtp=ServerSettings("127.0.0.1", 1, Security.SSL, user.login),
            cafile=str(server.cafile),
            password_command=f"cat {secret}",
            **fields,
        )
        services.save_config(services.config.with_account(account))
        return account

    return make


@pytest.fixture
def add_contact(services):
    def make(name: str, *emails: str) -> int:
        store = services.open_store()
        try:
            return ContactBook(store).add(name, list(emails)).id
        finally:
            store.close()

    return make


@pytest.fixture
def plain_dovecot(dovecot_factory):
    """A private Dovecot with plain IMAP on loopback, so a proxy can read the commands."""
    return dovecot_factory(starttls=False)


@pytest.fixture
def proxy_to():
    made: list[Proxy] = []

    def make(port: int) -> Proxy:
        proxy = Proxy(port)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()
