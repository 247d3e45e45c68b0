"""A tamago home wired to the real test servers, for the sending tests.

`Rig.make(...)` writes config.toml with an account for a Dovecot user (SMTP
submission with STARTTLS, IMAP over implicit TLS, the test CA trusted) and
stores the password in the encrypted secret store, unlocked through
TAMAGO_MASTER_PASSWORD as on a headless machine.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, replace

from tamago_tui.backend.config import Config, Settings
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.secrets import SecretStore
from tamago_tui.backend.services import Services

MASTER = "master-passphrase-for-tests"


def account_for(user, dovecot, smtp_server, test_ca, *, name="me", provider="custom",
                save_sent=None, smtp_port=None, imap_port=None) -> Account:
    return Account(
        name=name,
        email=user.address,
        display_name="Test Sender",
        provider=provider,
        imap=ServerSettings("localhost", imap_port or dovecot.ports["imaps"], Security.SSL, user.login),
        smtp=ServerSettings("localhost", smtp_port or smtp_server.ports["submission"], Security.STARTTLS,
                            user.login),
        cafile=str(test_ca.cafile),
        save_sent=save_sent,
    )


@dataclass
class Rig:
    services: Services
    account: Account

    @classmethod
    def make(cls, home, monkeypatch, account: Account, password: str, *, timeout: float = 10.0) -> "Rig":
        monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", MASTER)
        config = Config(settings=Settings(timeout=timeout, secret_backend="encrypted"))
        services = Services(Paths.resolve(home))
        services.save_config(config.with_account(account))
        SecretStore.for_services(services).set(account, password)
        return cls(services, account)

    def reconfigure(self, **changes) -> Account:
        self.account = replace(self.account, **changes)
        self.services.save_config(self.services.config.with_account(self.account))
        return self.account

    def set_timeout(self, seconds: float) -> None:
        config = self.services.config
        self.services.save_config(replace(config, settings=replace(config.settings, timeout=seconds)))

    def set_password(self, password: str) -> None:
        SecretStore.for_services(self.services).set(self.account, password)


def fetch_messages(dovecot, user, folder="INBOX") -> list[tuple[email.message.EmailMessage, tuple]]:
    """Every message in `folder` as (parsed message, flags)."""
    with dovecot.connect(user) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        data = client.fetch(uids, ["RFC822", "FLAGS"]) if uids else {}
    return [(email.message_from_bytes(data[uid][b"RFC822"], policy=email.policy.default), data[uid][b"FLAGS"])
            for uid in sorted(data)]
