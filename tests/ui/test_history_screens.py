"""Contact history and message viewer: snapshots at 80x24 and keyboard flows."""

from __future__ import annotations

import threading

from textual.widgets import DataTable, Static

from tamago_tui.backend import visit as visit_mod
from tamago_tui.backend.history import local_history
from tamago_tui.backend.visit import VisitResult, VisitUpdate
from tamago_tui.screens.contact import ContactScreen
from tamago_tui.screens.message import MessageScreen
from tests.ui.conftest import sample_account
from tests.ui.history_data import seed_cached_message, seed_history

ADA = [("Ada Lovelace", ["ada@example.org"], "Analytical Engines")]


async def settle(app, pilot):
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def contact_id(app) -> int:
    store = app.services.open_store()
    try:
        return store.db.execute("SELECT id FROM contacts").fetchone()[0]
    finally:
        store.close()


def test_contact_history_with_messages(snap_compare, make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    seed_history(app.services)

    async def open_history(pilot):
        await settle(pilot.app, pilot)
        pilot.app.push_screen(ContactScreen(contact_id(pilot.app), fetch=False))
        await settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_history)


def test_message_viewer_with_text_and_attachment(snap_compare, make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    rowid = seed_history(app.services)[0]
    seed_cached_message(app.services)

    async def open_message(pilot):
        await settle(pilot.app, pilot)
        pilot.app.push_screen(MessageScreen(rowid))
        await settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_message)


async def test_visit_results_stream_into_the_table(make_app, monkeypatch):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    seed_history(app.services)
    seen_addresses = []

    def fake_visit(services, addresses, *, on_update=None, cancel=None, first_screen=None, accounts=None):
        seen_addresses.append(list(addresses))
        store = services.open_store()
        try:
            rows = local_history(store, addresses)
        finally:
            store.close()
        on_update(VisitUpdate(tuple(rows[:2]), "index"))
        on_update(VisitUpdate(tuple(rows[:2]), "headers", "work", "INBOX", 2000, 5000))
        on_update(VisitUpdate(tuple(rows), "done"))
        return VisitResult(rows=rows)

    monkeypatch.setattr(visit_mod, "visit", fake_visit)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(ContactScreen(contact_id(app)))
        await settle(app, pilot)
        screen = app.screen
        assert seen_addresses == [["ada@example.org"]]
        assert screen.query_one(DataTable).row_count == 5
        assert str(screen.query_one("#history-status", Static).render()).startswith("5 messages · up to date")


async def test_a_running_fetch_can_be_stopped(make_app, monkeypatch):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    started = threading.Event()
    stopped = threading.Event()

    def slow_visit(services, addresses, *, on_update=None, cancel=None, first_screen=None, accounts=None):
        on_update(VisitUpdate((), "headers", "work", "INBOX", 0, 100_000))
        started.set()
        for _ in range(500):
            if cancel():
                stopped.set()
                return VisitResult(rows=[], cancelled=True)
            threading.Event().wait(0.01)
        return VisitResult(rows=[])

    monkeypatch.setattr(visit_mod, "visit", slow_visit)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(ContactScreen(contact_id(app)))
        await pilot.pause()
        assert started.wait(5)
        screen = app.screen
        assert screen.fetching and screen.check_action("cancel_fetch", ()) is True
        await pilot.press("c")
        await settle(app, pilot)
        assert stopped.is_set() and not screen.fetching
        assert "fetch stopped" in str(screen.query_one("#history-status", Static).render())


async def test_raw_view_and_saving_an_attachment(make_app, tmp_path):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    rowid = seed_history(app.services)[0]
    seed_cached_message(app.services)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MessageScreen(rowid))
        await settle(app, pilot)
        viewer = app.screen
        text = viewer.query_one("#message-text", Static)
        assert "Jacquard loom" in str(text.render())
        await pilot.press("v")
        assert "Content-Type: multipart/mixed" in str(text.render())
        await pilot.press("v")
        assert "Content-Type" not in str(text.render())

        await pilot.press("s")
        prompt = app.screen
        assert type(prompt).__name__ == "PathPrompt"
        prompt.query_one("#path").value = str(tmp_path / "saved.csv")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is viewer
    assert (tmp_path / "saved.csv").read_bytes() == b"n,B(n)\r\n1,1/6\r\n3,-1/30"  # the CRLF before a boundary is the boundary's


async def test_a_message_that_cannot_be_fetched_says_why_in_place(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    rowid = seed_history(app.services)[1]  # not cached; the sample account has no password
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MessageScreen(rowid))
        await settle(app, pilot)
        assert type(app.screen).__name__ == "MessageScreen"  # no modal: the headers stay usable
        assert "could not be opened" in str(app.screen.query_one("#message-text", Static).render())


async def test_sync_now_on_the_accounts_screen(make_app, monkeypatch):
    from tamago_tui.backend import sync as sync_mod
    from tamago_tui.backend.sync import AccountReport, FolderReport

    calls = []

    def fake_sync(services, account, **options):
        calls.append(account.name)
        return AccountReport(account=account.name, folders=[FolderReport("INBOX", new=3), FolderReport("Sent")])

    monkeypatch.setattr(sync_mod, "sync_account", fake_sync)
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.switch_mode("accounts")
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert calls == ["work"]
        assert any("Synced work: 3 new" in n.message for n in app._notifications)


async def test_an_address_shared_with_another_contact_is_flagged(make_app):
    app = make_app(accounts=[sample_account()], contacts=[
        ("Ada Lovelace", ["ada@example.org"], ""), ("Countess of Lovelace", ["ada@example.org", "c@example.org"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        store = app.services.open_store()
        try:
            first = store.db.execute("SELECT id FROM contacts WHERE name = 'Ada Lovelace'").fetchone()[0]
        finally:
            store.close()
        app.push_screen(ContactScreen(first, fetch=False))
        await settle(app, pilot)
        line = str(app.screen.query_one("#contact-addresses", Static).render())
        assert "ada@example.org is also on Countess of Lovelace" in line


async def test_a_body_with_brackets_is_shown_as_written(make_app):
    """Mail text is never read as markup: `[/b]` or `[ALERT]` in a body must survive."""
    from tamago_tui.backend.cache import cache_file, record_body
    from tamago_tui.backend.mime import parse_file

    app = make_app(accounts=[sample_account()], contacts=ADA)
    rowid = seed_history(app.services)[0]
    raw = (b"From: Ada Lovelace <ada@example.org>\r\nTo: jane@example.org\r\n"
           b"Subject: Notes\r\nMessage-ID: <notes-1@example.org>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
           b"Content-Type: text/plain\r\n\r\nSee [ALERT] and [/b] in the log.\r\n--XX\r\n"
           b"Content-Type: text/plain; name=\"notes [bold]draft.txt\"\r\n"
           b"Content-Disposition: attachment; filename=\"notes [bold]draft.txt\"\r\n\r\nx\r\n--XX--\r\n")
    path = cache_file(app.services, "notes-1@example.org")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    store = app.services.open_store()
    record_body(store, "notes-1@example.org", path, parse_file(path))
    store.close()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MessageScreen(rowid))
        await settle(app, pilot)
        rendered = app.screen.query_one("#message-text", Static).render()
        assert "See [ALERT] and [/b] in the log." in str(getattr(rendered, "plain", rendered))
        table = app.screen.query_one("#attachments", DataTable)
        assert str(table.get_row_at(0)[0]) == "notes [bold]draft.txt"


def _index_reply(app) -> None:
    """What sending a reply leaves in the index (backend/sentcopy.py, the real function)."""
    from tamago_tui.backend.sentcopy import index_sent_message

    raw = (b"From: Jane <jane@example.org>\r\nTo: Ada Lovelace <ada@example.org>\r\n"
           b"Subject: Re: the engines\r\nMessage-ID: <reply-1@example.org>\r\n"
           b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nAgreed.\r\n")
    store = app.services.open_store()
    try:
        index_sent_message(store, app.services.account("work"), "Sent", 1, 99, raw)
    finally:
        store.close()


def _subjects(app) -> list[str]:
    table = app.screen.query_one("#history-table", DataTable)
    return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


async def test_the_history_shows_a_reply_sent_from_it_when_you_come_back(make_app):
    from tamago_tui.screens.compose import ComposeScreen

    app = make_app(accounts=[sample_account()], contacts=ADA)
    seed_history(app.services)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(ContactScreen(contact_id(app), fetch=False))
        await settle(app, pilot)
        before = _subjects(app)
        assert "Re: the engines" not in before
        app.push_screen(ComposeScreen())
        await settle(app, pilot)
        _index_reply(app)  # the reply went out while the compose screen was up
        app.pop_screen()
        await settle(app, pilot)
        assert isinstance(app.screen, ContactScreen)
        assert _subjects(app)[0] == "Re: the engines" and len(_subjects(app)) == len(before) + 1


async def test_a_send_that_finishes_while_the_history_is_shown_appears_in_it(make_app):
    from tamago_tui.screens.compose import _show_sent_in_history

    app = make_app(accounts=[sample_account()], contacts=ADA)
    seed_history(app.services)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(ContactScreen(contact_id(app), fetch=False))
        await settle(app, pilot)
        _index_reply(app)
        _show_sent_in_history(app)  # what the send worker calls once the message is sent
        await settle(app, pilot)
        assert _subjects(app)[0] == "Re: the engines"


async def test_a_failed_fetch_shows_the_whole_error_and_x_explains_it(make_app):
    """A real refused connection (a closed loopback port): the error gets a line of its own,
    not the tail of the status line, and x opens the troubleshooting guide for it."""
    from dataclasses import replace

    from tamago_tui.backend.models import Security, ServerSettings
    from tamago_tui.screens.troubleshoot import TroubleshootScreen
    from tests.backend.scripted_servers import closed_port

    port = closed_port()
    account = replace(sample_account(), imap=ServerSettings("127.0.0.1", port, Security.SSL, "jane@example.org"),
                      password_command="echo not-used")
    app = make_app(accounts=[account], contacts=ADA)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(ContactScreen(contact_id(app)))
        await settle(app, pilot)
        screen = app.screen
        problems = str(screen.query_one("#history-problems", Static).render())
        assert screen.query_one("#history-problems").display
        assert f"work: 127.0.0.1:{port}" in problems and "refused" in problems and "x explains it" in problems
        assert "refused" not in str(screen.query_one("#history-status", Static).render())
        assert screen.check_action("troubleshoot", ()) is True
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, TroubleshootScreen)
        assert app.screen.current is not None and app.screen.current.category == "connection_refused"


async def test_no_error_line_and_no_x_when_the_fetch_worked(make_app, monkeypatch):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    monkeypatch.setattr(visit_mod, "visit", lambda services, addresses, **_: VisitResult(rows=[]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(ContactScreen(contact_id(app)))
        await settle(app, pilot)
        assert not app.screen.query_one("#history-problems").display
        assert app.screen.check_action("troubleshoot", ()) is False
