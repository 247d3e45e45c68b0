"""Sending mail: queue in the outbox, deliver over SMTP, keep a Sent copy.

The front ends call `Sender.queue()` (instant, local) and then `deliver()` (network).
"""

from __future__ import annotations

import asyncio
import logging
from email.utils import formataddr

from .compose import Draft
from .models import Account
from .outbox import Outbox, OutboxItem, send
from .services import Services

log = logging.getLogger("tamago.sending")


def sender_address(account: Account) -> str:
    return formataddr((account.display_name, account.email)) if account.display_name else account.email


class Sender:
    def __init__(self, services: Services):
        self.services = services

    def queue(self, account: Account, draft: Draft) -> OutboxItem:
        store = self.services.open_store()
        try:
            return Outbox(store).enqueue(account, draft)
        finally:
            store.close()

    def deliver(self, item_id: int, *, force: bool = False) -> OutboxItem:
        """Blocking: send one outbox message (run it in a worker thread)."""
        return asyncio.run(self._deliver(item_id, force))

    async def _deliver(self, item_id: int, force: bool) -> OutboxItem:
        store = self.services.open_store()
        try:
            outbox = Outbox(store)
            account = self.services.account(outbox.get(item_id).account)
            connect = self._connector(account)
            item = await send(outbox, item_id, connect, force=force)
            if item.status == "sent":
                self._save_sent_copy(outbox, account, item)
            return outbox.get(item_id)
        finally:
            store.close()

    def _connector(self, account: Account):
        from .smtp import connect  # the connection layer, with verified TLS and timeouts

        if account.auth == "oauth2":
            from .oauth import for_services

            tokens = for_services(self.services)

            async def oauth_opener():  # a fresh token, refreshed and retried once if refused
                return await tokens.connect_smtp(account, timeout=self.services.settings.timeout)

            return oauth_opener
        secret = self._secret(account)

        async def opener():
            return await connect(account, secret, timeout=self.services.settings.timeout)

        return opener

    def _secret(self, account: Account):
        from .secrets import SecretStore

        return SecretStore.for_services(self.services).get(account)

    def _save_sent_copy(self, outbox: Outbox, account: Account, item: OutboxItem) -> None:
        from .sentcopy import save_sent_copy

        state = save_sent_copy(self.services, account, outbox.raw(item.id), outbox.store)
        outbox._set(item.id, sent_copy=state)
