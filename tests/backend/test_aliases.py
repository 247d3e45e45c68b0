"""Aliases: the other addresses a mailbox receives and sends as (config, "is this me?", replies)."""

from __future__ import annotations

import json

import pytest

from tamago_tui.backend import config
from tamago_tui.backend.aliases import refresh_own_addresses
from tamago_tui.backend.compose import Original, addressed_as, reply
from tamago_tui.backend.errors import ConfigError, UsageError
from tamago_tui.backend.history import local_history
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.sending import keep_sender, reply_sender, sender_address
from tamago_tui.backend.store import Store

ACCOUNT_TOML = """
[accounts.work]
email = "me@example.org"
display_name = "Mia Example"
aliases = ALIASES

[accounts.work.imap]
host = "imap.example.org"
port = 993
"""


def account(**changes) -> Account:
    base = Account(
        name="work", email="me@example.org", display_name="Mia Example",
        imap=ServerSettings("imap.example.org", 993, Security.SSL, "me@example.org"),
        smtp=ServerSettings("smtp.example.org", 587, Security.STARTTLS, "me@example.org"),
        aliases=("sales@example.org", "Me@Old-Domain.example"),
    )
    return base.with_(**changes)


def load(tmp_path, aliases: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(ACCOUNT_TOML.replace("ALIASES", aliases))
    return config.load(path)


# -- config ------------------------------------------------------------------------------


def test_aliases_round_trip_through_the_config_file(tmp_path):
    loaded = load(tmp_path, '["sales@example.org", " Me@Old-Domain.example "]')
    assert loaded.accounts["work"].aliases == ("sales@example.org", "Me@Old-Domain.example")
    path = tmp_path / "again.toml"
    config.save(loaded, path)
    assert 'aliases = ["sales@example.org", "Me@Old-Domain.example"]' in path.read_text()
    assert config.load(path) == loaded


def test_an_account_without_aliases_writes_no_aliases_line(tmp_path):
    loaded = load(tmp_path, "[]")
    assert loaded.accounts["work"].aliases == ()
    assert "aliases" not in config.dumps(loaded)


@pytest.mark.parametrize("value, words", [
    ('["sales at example.org"]', "alias 'sales at example.org' is not an email address"),
    ('["Sales <sales@example.org>"]', "alias 'Sales <sales@example.org>' is not an email address"),
    ('["ME@example.org"]', "alias 'ME@example.org' is the account's own address"),
    ('["sales@example.org", "SALES@example.org"]', "alias 'SALES@example.org' is listed twice"),
    ('"sales@example.org"', "aliases must be a list"),
    ("[1]", "aliases must be a list"),
])
def test_a_bad_alias_is_a_config_error_naming_it_and_its_line(tmp_path, value, words):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, value)
    message = str(caught.value)
    assert words in message
    assert "config.toml, line 5" in message  # the aliases line


# -- "is this me?" -------------------------------------------------------------------------


def test_own_addresses_are_the_address_its_aliases_and_an_address_shaped_login():
    plain = account()
    assert plain.own_addresses == ("me@example.org", "sales@example.org", "me@old-domain.example")
    assert plain.is_own("SALES@example.org") and plain.is_own(" me@old-domain.example")
    assert not plain.is_own("someone@example.org")
    other_login = account(imap=ServerSettings("imap.example.org", 993, Security.SSL, "mia@login.example"))
    assert other_login.own_addresses[-1] == "mia@login.example"
    assert other_login.sending_addresses == ("me@example.org", "sales@example.org", "Me@Old-Domain.example")
    assert account(aliases=()).own_addresses == ("me@example.org",)


def test_sender_address_sends_as_an_alias_and_refuses_a_stranger():
    a = account()
    assert sender_address(a) == "Mia Example <me@example.org>"
    assert sender_address(a, "SALES@example.org") == "Mia Example <sales@example.org>"
    assert sender_address(a, "Whoever <me@old-domain.example>") == "Mia Example <Me@Old-Domain.example>"
    with pytest.raises(UsageError, match="boss@example.org is not an address of the account 'work'"):
        sender_address(a, "boss@example.org")
    # A stored draft keeps its alias; a From that is no longer an alias falls back to the address.
    assert keep_sender(a, "Old Name <sales@example.org>") == "Mia Example <sales@example.org>"
    assert keep_sender(a.with_(aliases=()), "sales@example.org") == "Mia Example <me@example.org>"


# -- replies -------------------------------------------------------------------------------


def original(**changes) -> Original:
    values = dict(
        message_id="<q@customer.example>", subject="Quote", sender="Cai Customer <cai@customer.example>",
        to=("Sales <sales@example.org>",), cc=("Dan <dan@customer.example>", "me@example.org"),
        date="Mon, 2 Nov 2026 10:00:00 +0000", text="How much?",
    )
    values.update(changes)
    return Original(**values)


def test_a_reply_to_mail_sent_to_an_alias_goes_out_from_that_alias():
    a = account()
    assert addressed_as(original(), a.own_addresses) == "sales@example.org"  # To before Cc
    assert reply_sender(a, original()) == "Mia Example <sales@example.org>"
    to_main = original(to=("me@example.org",), cc=("Sales <sales@example.org>",))
    assert reply_sender(a, to_main) == "Mia Example <me@example.org>"
    # Bcc'd, or sent to a list: no own address in sight, so the main address.
    assert reply_sender(a, original(to=("list@lists.example",), cc=())) == "Mia Example <me@example.org>"
    # My own sent mail from the old domain: a follow-up keeps that identity.
    mine = original(sender="Mia <me@old-domain.example>", to=("cai@customer.example",), cc=())
    assert reply_sender(a, mine) == "Mia Example <Me@Old-Domain.example>"


def test_reply_all_leaves_out_every_own_address():
    a = account()
    me = reply_sender(a, original())
    message = original(cc=("Dan <dan@customer.example>", "me@example.org", "ME@OLD-DOMAIN.EXAMPLE"))
    draft = reply(message, me, reply_all=True, own=a.own_addresses)
    assert draft.sender == "Mia Example <sales@example.org>"
    assert draft.to == ("Cai Customer <cai@customer.example>",)
    assert draft.cc == ("Dan <dan@customer.example>",)
    # Without the aliases, the alias and the main address would be copied in (the old behaviour).
    naive = reply(message, me, reply_all=True)
    assert "me@example.org" in naive.cc


def test_replying_to_my_own_sent_mail_from_an_alias_goes_to_its_recipients_not_to_me():
    a = account()
    mine = original(sender="Mia <sales@example.org>", to=("cai@customer.example", "me@example.org"), cc=())
    draft = reply(mine, reply_sender(a, mine), reply_all=True, own=a.own_addresses)
    assert draft.to == ("cai@customer.example",)
    assert draft.cc == ()


# -- an alias added to an account with mail already indexed ----------------------------------


def test_adding_an_alias_rewrites_the_address_rows_of_indexed_mail():
    store = Store(memory=True)
    try:
        store.ensure_account("work", "me@example.org")
        messages = [
            # (rowid, sender, to, rows as index.py wrote them while sales@ was not an alias)
            (1, "Mia <sales@example.org>", ["me@example.org"], [("sales@example.org", "from")]),
            (2, "Cai <cai@customer.example>", ["sales@example.org"],
             [("cai@customer.example", "from"), ("sales@example.org", "to")]),
            (3, "Cai <cai@customer.example>", ["me@example.org"], [("cai@customer.example", "from")]),
        ]
        for rowid, sender, to, rows in messages:
            store.db.execute(
                "INSERT INTO messages (id, account, folder, uidvalidity, uid, message_id, sender, recipients, cc, bcc) "
                "VALUES (?, 'work', 'INBOX', 1, ?, ?, ?, ?, '[]', '[]')",
                [rowid, rowid, f"m{rowid}@x", sender, json.dumps(to)])
            store.db.conn.executemany("INSERT INTO message_addresses VALUES (?, ?, ?)",
                                      [(rowid, address, role) for address, role in rows])
        assert [r.rowid for r in local_history(store, ["sales@example.org"])] == [2, 1]

        before, after = account(aliases=()).own_addresses, account(aliases=("sales@example.org",)).own_addresses
        assert refresh_own_addresses(store, "work", before, after) == 2

        rows = store.db.execute("SELECT message_rowid, address, role FROM message_addresses ORDER BY 1, 2, 3")
        assert rows.fetchall() == [
            (1, "me@example.org", "to"), (1, "sales@example.org", "from"),  # now a note to self
            (2, "cai@customer.example", "from"),
            (3, "cai@customer.example", "from"),
        ]
        assert [r.rowid for r in local_history(store, ["sales@example.org"])] == [1]
        assert [r.rowid for r in local_history(store, ["cai@customer.example"])] == [3, 2]
        # Removing it again restores the rows the index would write without the alias.
        assert refresh_own_addresses(store, "work", after, before) == 2
        assert [r.rowid for r in local_history(store, ["sales@example.org"])] == [2, 1]
    finally:
        store.close()


# -- mail Bcc'd to an alias: the envelope headers say where it came to ----------------------


def received(*envelope: str, to: str = "list@lists.example", cc: str = "") -> Original:
    """A canned message as the receiving server stored it, envelope headers topmost first."""
    from tamago_tui.backend import mime
    from tamago_tui.backend.compose import original_from_parsed

    raw = "".join(f"{line}\r\n" for line in envelope) + (
        "Received: from mx.customer.example by mx.example.org; Mon, 2 Nov 2026 10:00:01 +0000\r\n"
        "From: Cai Customer <cai@customer.example>\r\n"
        f"To: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "") +
        "Subject: Quote\r\nMessage-ID: <q@customer.example>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
        "\r\nHow much?\r\n")
    return original_from_parsed(mime.parse(raw.encode()))


@pytest.mark.parametrize("header", ["Delivered-To", "X-Original-To", "X-Delivered-To", "Envelope-To",
                                    "delivered-to"])
def test_a_reply_to_mail_bccd_to_an_alias_goes_out_from_that_alias(header):
    a = account()
    message = received(f"{header}: sales@example.org")
    assert message.delivered_to == ("sales@example.org",)
    assert reply_sender(a, message) == "Mia Example <sales@example.org>"
    assert reply_sender(a, received(f"{header}: <ME@old-domain.example>")) == "Mia Example <Me@Old-Domain.example>"


def test_the_topmost_envelope_header_naming_an_alias_wins():
    a = account()
    # Forwarded from the old domain to sales@, delivered last to sales@: the final delivery.
    assert reply_sender(a, received("Delivered-To: sales@example.org", "Delivered-To: me@old-domain.example")) \
        == "Mia Example <sales@example.org>"
    # Exim's Envelope-To may list several; a list's or a stranger's address is passed over.
    assert reply_sender(a, received("Delivered-To: list-bounces@lists.example",
                                    "Envelope-to: someone@else.example, sales@example.org")) \
        == "Mia Example <sales@example.org>"
    # Postfix mapping the alias onto the mailbox records both: the alias is what was written to.
    assert reply_sender(a, received("Delivered-To: me@example.org", "X-Original-To: sales@example.org")) \
        == "Mia Example <sales@example.org>"


def test_to_and_cc_come_before_the_envelope_and_no_own_address_means_the_main_one():
    a = account()
    assert reply_sender(a, received("Delivered-To: sales@example.org", cc="Mia <me@old-domain.example>")) \
        == "Mia Example <Me@Old-Domain.example>"
    assert reply_sender(a, received("Delivered-To: me@example.org")) == "Mia Example <me@example.org>"
    assert reply_sender(a, received("X-Original-To: stranger@example.org")) == "Mia Example <me@example.org>"
    assert reply_sender(a, received()) == "Mia Example <me@example.org>"
    # An IMAP login that is not a sending address is never a From.
    login = account(imap=ServerSettings("imap.example.org", 993, Security.SSL, "mia@login.example"))
    assert reply_sender(login, received("Delivered-To: mia@login.example")) == "Mia Example <me@example.org>"


def test_a_reply_all_to_mail_bccd_to_an_alias_copies_none_of_my_addresses():
    a = account()
    message = received("Delivered-To: sales@example.org", to="Dan <dan@customer.example>")
    draft = reply(message, reply_sender(a, message), reply_all=True, own=a.own_addresses)
    assert draft.sender == "Mia Example <sales@example.org>"
    assert (draft.to, draft.cc) == (("Cai Customer <cai@customer.example>",), ("Dan <dan@customer.example>",))
