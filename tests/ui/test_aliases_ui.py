"""Aliases in the TUI, by keyboard at 80x24: the From selector and the account editor's field."""

from __future__ import annotations

from textual.widgets import Input, Select

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.outbox import Outbox
from tamago_tui.screens.account_editor import AccountEditor
from tamago_tui.screens.compose import ComposeScreen
from tests.ui.conftest import sample_account

ALIASES = ("sales@example.org", "jane@old-domain.example")


def accounts():
    work = sample_account().with_(display_name="Jane Doe", aliases=ALIASES)
    return [work, sample_account("side", "jane@fastmail.com", provider="fastmail")]


async def settle(pilot):
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def outbox_items(app):
    store = app.services.open_store()
    try:
        return Outbox(store).items(include_sent=True)
    finally:
        store.close()


async def test_the_from_selector_offers_every_address_and_alias_and_sends_as_the_one_picked(make_app):
    app = make_app(accounts=accounts())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_compose()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        select = screen.query_one("#from", Select)
        assert [str(label) for label, _ in select._options if _ is not Select.NULL] == [
            "Jane Doe <jane@example.org>", "Jane Doe <sales@example.org>",
            "Jane Doe <jane@old-domain.example>", "jane@fastmail.com",
        ]
        assert select.value == ("work", "jane@example.org")
        await pilot.press("shift+tab", "enter", "down", "enter")  # the second choice: the sales alias
        await pilot.pause()
        assert select.value == ("work", "sales@example.org")
        await pilot.press("tab", *"ada@example.org", "tab", "tab", "tab", *"Prices", "ctrl+l")
        await pilot.pause()
        assert not isinstance(app.screen, ComposeScreen)

    [item] = outbox_items(app)
    assert (item.account, item.subject, item.rcpt_to) == ("work", "Prices", ("ada@example.org",))
    store = app.services.open_store()
    try:
        raw = Outbox(store).raw(item.id)
        assert store.db["outbox"].get(item.id)["mail_from"] == "sales@example.org"
    finally:
        store.close()
    assert b"From: Jane Doe <sales@example.org>" in raw


async def test_a_draft_from_an_alias_opens_with_that_alias_chosen(make_app):
    app = make_app(accounts=accounts())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ComposeScreen(Draft(sender="Jane <JANE@old-domain.example>", subject="Re: hi"),
                                      account="work"))
        await pilot.pause()
        assert app.screen.query_one("#from", Select).value == ("work", "jane@old-domain.example")
        # With no account named, the draft's From finds it.
        app.push_screen(ComposeScreen(Draft(sender="jane@fastmail.com")))
        await pilot.pause()
        assert app.screen.query_one("#from", Select).value == ("side", "jane@fastmail.com")


def test_from_selector_snapshot(snap_compare, make_app):
    async def open_from(pilot):
        await settle(pilot)
        pilot.app.action_compose()
        await pilot.pause()
        await pilot.press("shift+tab", "enter")
        await pilot.pause()

    assert snap_compare(make_app(accounts=accounts()), terminal_size=(80, 24), run_before=open_from)


# -- the account editor ----------------------------------------------------------------------------


async def type_new_account(pilot, aliases: str):
    await pilot.press("a")  # first run lands on the accounts empty state
    await pilot.pause()
    await pilot.press(*"jane@example.org", "tab", "tab", *aliases)  # Email, Name, Aliases
    screen = pilot.app.screen
    screen.query_one("#imap_host", Input).value = "imap.example.org"
    screen.query_one("#smtp_host", Input).value = "smtp.example.org"
    await pilot.pause()


async def test_the_editor_refuses_a_bad_alias_on_save_and_names_it(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_new_account(pilot, "sales@example.org, sales at example.org")
        screen = app.screen
        assert app.focused.id == "aliases"
        await pilot.press("ctrl+s")
        await pilot.pause()
        status = str(screen.query_one("#editor-status").render())
        assert status.startswith("Aliases: alias 'sales at example.org' is not an email address")
        await pilot.press("ctrl+u", *"sales@example.org; JANE@example.org")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "is the account's own address" in str(screen.query_one("#editor-status").render())
        assert app.services.config.accounts == {}


async def test_the_editor_saves_aliases_and_shows_them_again(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_new_account(pilot, "sales@example.org,  jane@old-domain.example")
        screen = app.screen
        assert screen.form_account().aliases == ALIASES
        screen.tested = screen.form_account()  # as after a passing connection test (no server here)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, AccountEditor)
        [saved] = app.services.accounts()
        assert saved.aliases == ALIASES
        app.push_screen(AccountEditor(saved))
        await pilot.pause()
        assert app.screen.query_one("#aliases", Input).value == "sales@example.org, jane@old-domain.example"


def test_editor_alias_error_snapshot(snap_compare, make_app):
    async def fill(pilot):
        await type_new_account(pilot, "sales@example.org, sales at example")
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=fill)
