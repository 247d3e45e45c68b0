"""The optional last check: send a harmless message to the account's own address."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import formataddr, format_datetime, make_msgid, localtime

from .. import smtp as smtp_mod
from ..models import Account

TEST_SUBJECT = "tamago test message"


def build_test_message(account: Account) -> EmailMessage:
    message = EmailMessage()
    sender = formataddr((account.display_name, account.email)) if account.display_name else account.email
    message["From"] = sender
    message["To"] = account.email
    message["Subject"] = TEST_SUBJECT
    message["Date"] = format_datetime(localtime())
    domain = account.email.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("tamago-test", domain=domain)
    message.set_content(
        "This message was sent by tamago's connection test to check that sending works.\n"
        "You can delete it.\n"
    )
    return message


async def send_test_email_async(account: Account, password: str | None, *, oauth_token: str | None = None,
                                timeout: float = 20.0) -> str:
    """Send the test message to the account itself; return its Message-ID."""
    message = build_test_message(account)
    client = await smtp_mod.connect(account, password, oauth_token=oauth_token, timeout=timeout)
    try:
        await client.send_message(message, sender=account.email, recipients=[account.email])
    except Exception as exc:
        raise smtp_mod.translate(exc, account.smtp, provider=account.provider) from exc
    finally:
        try:
            await client.quit()
        except Exception:  # the message went out (or the error above says why not)
            client.close()
    return message["Message-ID"]


def send_test_email(account: Account, password: str | None, *, oauth_token: str | None = None,
                    timeout: float = 20.0) -> str:
    """Blocking wrapper for the CLI and thread workers (not for a running event loop)."""
    return asyncio.run(send_test_email_async(account, password, oauth_token=oauth_token, timeout=timeout))
