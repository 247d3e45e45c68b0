"""Sending mail: queue in the outbox, deliver over SMTP, keep a Sent copy.

The front ends call `Sender.queue()` (instant, local) and then `deliver()`
(network, blocking: run it in a worker thread). Both the TUI and the CLI go
through here, so they behave the same.

Connections come from `backend.smtp.connect` and `backend.imap.connect`, which
verify TLS, never skip STARTTLS and put a timeout on every step
(`settings.timeout`). Passwords come from the secret store (`secrets.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from email.utils import formataddr, parseaddr
from typing import Awaitable, Callable

from .compose import Draft
from .errors import AuthError, TamagoError, UsageError
from .models import Account
from .outbox import Outbox, OutboxItem, send
from .services import Services

log = logging.getLogger("tamago.sending")


def sender_address(account: Account, address: str | None = None) -> str:
    """The From of mail sent as `address` ("Name <addr>"): the main address by default, or one
    of the account's aliases. Any other address is a `UsageError` naming what may be used."""
    chosen = account.email
    if address:
        wanted = parseaddr(address)[1].strip().lower() or address.strip().lower()
        matches = [a for a in account.sending_addresses if a.strip().lower() == wanted]
        if not matches:
            allowed = ", ".join(account.sending_addresses)
            raise UsageError(f"{address} is not an address of the account {account.name!r}; it can send as "
                             f"{allowed}. Add it to the account's aliases first.")
        chosen = matches[0]
    return formataddr((account.display_name, chosen)) if account.display_name else chosen


def reply_sender(account: Account, original) -> str:
    """The From of a reply to `original` (a compose.Original): the alias it was addressed to
    (or, for mail I sent, sent from), else the main address."""
    from .compose import addressed_as

    return sender_address(account, addressed_as(original, account.sending_addresses) or None)


def keep_sender(account: Account, sender: str) -> str:
    """`sender` (a stored draft's From) when it is still an address of `account`, else the main one."""
    address = parseaddr(sender or "")[1].lower()
    known = address in {a.lower() for a in account.sending_addresses}
    return sender_address(account, address if known else None)


class Sender:
    def __init__(self, services: Services, *, secrets=None, prompt=None):
        """`secrets`: a SecretStore (default: the configured one, asking `prompt` for a master passphrase)."""
        self.services = services
        self._secrets = secrets
        self._prompt = prompt

    # -- local steps -------------------------------------------------------

    def queue(self, account: Account, draft: Draft) -> OutboxItem:
        store = self.services.open_store()
        try:
            return Outbox(store).enqueue(account, draft)
        finally:
            store.close()

    def recover(self) -> int:
        """Put the messages a crashed tamago left half-sent back in order (see outbox.py)."""
        store = self.services.open_store()
        try:
            count = Outbox(store).recover()
        finally:
            store.close()
        if count:
            log.info("recovered %d unfinished outbox message(s)", count)
        return count

    # -- network -------------------------------------------------------------

    def deliver(self, item_id: int, *, force: bool = False) -> OutboxItem:
        """Blocking: send one outbox message, then file its Sent copy."""
        store = self.services.open_store()
        try:
            outbox = Outbox(store)
            account = self.services.account(outbox.get(item_id).account)
            item = asyncio.run(send(outbox, item_id, self._smtp_opener(account), force=force,
                                    classify=lambda exc: self.classify(exc, account)))
            if item.status == "sent":
                row = store.db["outbox"].get(item_id)
                raw = outbox.raw(item_id)
                state = self.save_sent_copy(account, raw, store, bcc=json.loads(row.get("bcc") or "[]"))
                outbox._set(item_id, sent_copy=state)
                from .sentcopy import cache_sent_body

                cache_sent_body(self.services, store, raw)
            return outbox.get(item_id)
        finally:
            store.close()

    def save_sent_copy(self, account: Account, raw: bytes, store, *, bcc=()) -> str:
        from .sentcopy import save_sent_copy

        return save_sent_copy(account, raw, store, connect=lambda: self._imap_login(account), bcc=bcc)

    @property
    def timeout(self) -> float:
        return self.services.settings.timeout

    @property
    def nameserver(self) -> str:
        return self.services.settings.nameserver

    def secrets(self):
        if self._secrets is None:
            from .secrets import SecretStore

            self._secrets = SecretStore.for_services(self.services, self._prompt)
        return self._secrets

    def _password(self, account: Account, protocol: str) -> str:
        password = self.secrets().password_for(account, protocol)
        if not password:
            raise AuthError(
                f"No password is stored for account {account.name!r}. Store one with "
                f"`tamago accounts add` (--password-stdin) or set a password_command.",
                category="auth_required",
            )
        return password

    def _smtp_opener(self, account: Account) -> Callable[[], Awaitable]:
        from .smtp import connect

        async def opener():
            if account.auth == "oauth2":
                return await self._smtp_oauth(account)
            password = await asyncio.to_thread(self._password, account, "smtp")
            return await connect(account, password, timeout=self.timeout, nameserver=self.nameserver)

        return opener

    # OAuth accounts (auth = "oauth2"): backend/oauth.py connects with a fresh access
    # token, refreshed and retried once when the server refuses it.
    def _oauth(self):
        from .oauth import for_services

        return for_services(self.services, prompt=self._prompt)

    async def _smtp_oauth(self, account: Account):
        tokens = await asyncio.to_thread(self._oauth)
        return await tokens.connect_smtp(account, timeout=self.timeout, nameserver=self.nameserver)

    def _imap_login(self, account: Account):
        from .imap import connect

        if account.auth == "oauth2":
            return self._oauth().connect_imap(account, timeout=self.timeout, nameserver=self.nameserver)
        return connect(account, self._password(account, "imap"), timeout=self.timeout, nameserver=self.nameserver)

    # -- errors --------------------------------------------------------------

    def classify(self, exc: Exception, account: Account) -> tuple[str, str]:
        """(message, troubleshooting category) for a send failure."""
        from .categorize import refine
        from .smtp import translate

        error = exc if isinstance(exc, TamagoError) else translate(exc, account.smtp, provider=account.provider)
        category = refine(error.message, error.category, provider=account.provider, protocol="smtp",
                          port=account.smtp.port, security=account.smtp.security.value)
        return error.message, category
