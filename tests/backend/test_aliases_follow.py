"""Aliases changed in config.toml by hand: mail indexed before follows at the next start.

Each test writes config.toml as a person would, builds Services as a new `tamago` run
does, and reads the header index's contact-matching rows (`message_addresses`) and a
visit's local history, on a real SQLite file with mail indexed by index.py.
"""

from __future__ import annotations

import json

from tamago_tui.backend import aliases
from tamago_tui.backend.accounts import save_account
from tamago_tui.backend.history import local_history
from tamago_tui.backend.index import FolderState, Header, HeaderIndex
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services

from tests.backend.test_aliases import ACCOUNT_TOML as WORK  # the "work" account, aliases left to fill

HOME = """
[accounts.home]
email = "mia@home.example"
aliases = ALIASES

[accounts.home.imap]
host = "imap.home.example"
port = 993
"""

ME, SALES, CAI = "me@example.org", "sales@example.org", "cai@customer.example"

# A note from the alias to me, mail from Cai to the alias, mail from Cai to me.
MAIL = [
    (1, ("Mia", SALES), (("", ME),)),
    (2, ("Cai", CAI), (("Sales", SALES),)),
    (3, ("Cai", CAI), (("", ME),)),
]
# The rows index.py writes for MAIL, without and with sales@ as an alias.
ROWS_WITHOUT = [(1, SALES, "from"), (2, CAI, "from"), (2, SALES, "to"), (3, CAI, "from")]
ROWS_WITH = [(1, ME, "to"), (1, SALES, "from"), (2, CAI, "from"), (3, CAI, "from")]


def start(home, *tables: str) -> Services:
    """config.toml written by hand with these account tables, then a new tamago run."""
    paths = Paths.resolve(home)
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text("".join(tables))
    return Services(paths)


def work(*alias_list: str) -> str:
    return WORK.replace("ALIASES", json.dumps(list(alias_list)))


def home_account(*alias_list: str) -> str:
    return HOME.replace("ALIASES", json.dumps(list(alias_list)))


def index_mail(services: Services, account: str = "work", mail=MAIL) -> None:
    """MAIL, indexed by index.py with the account's own addresses of the moment."""
    own = services.config.accounts[account].own_addresses
    store = services.open_store()
    try:
        store.ensure_account(account, services.config.accounts[account].email)  # as a sync does
        index = HeaderIndex(store)
        state = index.save_folder(FolderState(account, "INBOX", uidvalidity=1))
        headers = [Header(uid, f"m{uid}.{account}@x", None, f"2026-11-0{uid}T10:00:00+00:00", sender, to,
                          (), (), f"s{uid}", 1, "", False) for uid, sender, to in mail]
        index.store_headers(state, headers, own_addresses=own)
    finally:
        store.close()


def address_rows(services: Services, account: str = "work") -> list[tuple[int, str, str]]:
    store = services.open_store()
    try:
        return store.db.execute(
            "SELECT m.uid, a.address, a.role FROM message_addresses a JOIN messages m ON m.id = a.message_rowid "
            "WHERE m.account = ? ORDER BY 1, 2, 3", [account]).fetchall()
    finally:
        store.close()


def visit_uids(services: Services, address: str) -> list[int]:
    store = services.open_store()
    try:
        return [row.uid for row in local_history(store, [address])]
    finally:
        store.close()


def recorded(services: Services) -> dict:
    store = services.open_store()
    try:
        return aliases.recorded(store)
    finally:
        store.close()


def test_an_alias_added_by_hand_reaches_mail_indexed_before(tamago_home):
    before = start(tamago_home, work())
    index_mail(before)
    assert address_rows(before) == ROWS_WITHOUT
    assert visit_uids(before, SALES) == [2, 1]  # everything the alias received
    assert recorded(before) == {"work": {ME}}

    after = start(tamago_home, work(SALES))  # the alias typed into config.toml

    assert address_rows(after) == ROWS_WITH
    assert visit_uids(after, SALES) == [1]  # the note to self only, as for an alias added in the editor
    assert visit_uids(after, CAI) == [3, 2]  # Cai's history is the same
    assert recorded(after) == {"work": {ME, SALES}}


def test_an_alias_removed_by_hand_is_an_ordinary_address_again(tamago_home):
    before = start(tamago_home, work(SALES))
    index_mail(before)
    assert address_rows(before) == ROWS_WITH

    after = start(tamago_home, work())

    assert address_rows(after) == ROWS_WITHOUT
    assert visit_uids(after, SALES) == [2, 1]
    assert recorded(after) == {"work": {ME}}


def test_a_main_address_changed_by_hand_is_followed_too(tamago_home):
    before = start(tamago_home, work(SALES))
    index_mail(before)

    after = start(tamago_home, work(SALES).replace(f'"{ME}"', '"mia@example.org"'))

    # me@ is no longer mine: the note from the alias to it is mail to someone else.
    assert address_rows(after) == [(1, ME, "to"), (2, CAI, "from"), (3, CAI, "from"), (3, ME, "to")]
    assert visit_uids(after, ME) == [3, 1]
    assert recorded(after) == {"work": {"mia@example.org", SALES}}


def test_nothing_changed_rewrites_nothing(tamago_home):
    before = start(tamago_home, work(SALES))
    index_mail(before)
    store = before.open_store()
    try:  # a stale row that only a rewrite would correct: proof that none runs
        store.db.execute("INSERT INTO message_addresses VALUES ((SELECT id FROM messages WHERE uid = 3), ?, 'to')",
                         [ME])
        store.db.conn.commit()
        state = store.db.execute("SELECT * FROM accounts").fetchall()
    finally:
        store.close()

    again = start(tamago_home, work(SALES))  # the same config, read again

    assert address_rows(again) == sorted(ROWS_WITH + [(3, ME, "to")])
    store = again.open_store()
    try:
        assert store.db.execute("SELECT * FROM accounts").fetchall() == state
        assert aliases.follow_config(store, again.accounts()) == {}  # and asked again: nothing to do
    finally:
        store.close()


def test_an_account_removed_or_renamed_by_hand_is_left_alone(tamago_home):
    before = start(tamago_home, work(), home_account())
    index_mail(before)
    index_mail(before, "home", [(1, ("Cai", CAI), (("", SALES),))])
    assert recorded(before) == {"work": {ME}, "home": {"mia@home.example"}}

    # work's table deleted, home's renamed to "personal" and given sales@ as an alias.
    after = start(tamago_home, home_account(SALES).replace("accounts.home", "accounts.personal"))

    assert address_rows(after) == ROWS_WITHOUT  # work's mail is as it was
    assert address_rows(after, "home") == [(1, CAI, "from"), (1, SALES, "to")]  # so is the old name's
    assert recorded(after) == {"work": {ME}, "home": {"mia@home.example"},
                               "personal": {"mia@home.example", SALES}}
    # Adding work's table back by hand: its rows follow from what was recorded for it.
    back = start(tamago_home, work(SALES))
    assert address_rows(back) == ROWS_WITH


def test_a_database_with_no_record_yet_is_brought_in_line_once(tamago_home):
    """An index from before the record was kept: the aliases of the config are checked once."""
    before = start(tamago_home, work())
    index_mail(before)
    store = before.open_store()
    try:
        store.db.execute("UPDATE accounts SET own_addresses = NULL")
        store.db.conn.commit()
    finally:
        store.close()

    after = start(tamago_home, work(SALES))

    assert address_rows(after) == ROWS_WITH
    assert recorded(after) == {"work": {ME, SALES}}


def test_the_editor_path_records_the_same_state_and_leaves_nothing_to_do(tamago_home):
    services = start(tamago_home, work())
    index_mail(services)
    account = services.account("work")

    save_account(services, account.with_(aliases=(SALES,)), previous=account)

    assert address_rows(services) == ROWS_WITH
    assert recorded(services) == {"work": {ME, SALES}}
    again = start(tamago_home, Paths.resolve(tamago_home).config_file.read_text())  # the next run
    store = again.open_store()
    try:
        assert aliases.follow_config(store, again.accounts()) == {}
    finally:
        store.close()
    assert address_rows(again) == ROWS_WITH
