"""Names and subjects with brackets are shown as typed, never read as markup."""

import json

from textual.widgets import DataTable

from tamago_tui.backend.contacts import ContactBook


async def test_contact_screen_shows_bracketed_name_and_subject(make_app):
    from tamago_tui.screens.contact import ContactScreen
    from tests.ui.conftest import sample_account

    app = make_app(accounts=[sample_account()])
    store = app.services.open_store()
    contact = ContactBook(store).add("Eve [/b] [ALERT]", ["eve@example.org"])
    rowid = store.db["messages"].insert({
        "account": "work", "folder": "INBOX", "uidvalidity": 1, "uid": 1, "message_id": "m1@example.org",
        "date": "2026-01-02T10:00:00+00:00", "sender": "Eve [/b] <eve@example.org>",
        "recipients": json.dumps(["jane@example.org"]), "cc": "[]", "bcc": "[]",
        "subject": "[PATCH] fix [/b] tags", "size": 10, "flags": "", "has_attachments": 0,
    }).last_pk
    store.db["message_addresses"].insert({"message_rowid": rowid, "address": "eve@example.org", "role": "from"})
    store.close()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ContactScreen(contact.id)
        screen.action_fetch = lambda: None  # nothing to reach: the local view is what is checked
        await app.push_screen(screen)
        await pilot.pause()
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[2]) == "[PATCH] fix [/b] tags"
        assert str(screen.query_one("#contact-title").render()) == "Eve [/b] [ALERT]"


async def test_the_status_line_says_why_a_message_matched(make_app):
    from tamago_tui.screens.contact import ContactScreen
    from tests.ui.conftest import sample_account

    app = make_app(accounts=[sample_account()])
    store = app.services.open_store()
    contact = ContactBook(store).add("Eve", ["eve@example.org"])
    rowid = store.db["messages"].insert({
        "account": "work", "folder": "INBOX", "uidvalidity": 1, "uid": 1, "message_id": "m2@example.org",
        "date": "2026-01-02T10:00:00+00:00", "sender": "Bob <bob@example.org>",
        "recipients": json.dumps(["jane@example.org"]), "cc": json.dumps(["eve@example.org"]), "bcc": "[]",
        "subject": "Minutes", "size": 10, "flags": "", "has_attachments": 0,
    }).last_pk
    store.db["message_addresses"].insert({"message_rowid": rowid, "address": "eve@example.org", "role": "cc"})
    older = store.db["messages"].insert({
        "account": "work", "folder": "Sent", "uidvalidity": 1, "uid": 2, "message_id": "m3@example.org",
        "date": "2025-12-01T10:00:00+00:00", "sender": "Jane <jane@example.org>",
        "recipients": json.dumps(["eve@example.org"]), "cc": "[]", "bcc": "[]",
        "subject": "Agenda", "size": 10, "flags": "", "has_attachments": 0,
    }).last_pk
    store.db["message_addresses"].insert({"message_rowid": older, "address": "eve@example.org", "role": "to"})
    store.close()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ContactScreen(contact.id)
        screen.action_fetch = lambda: None
        await app.push_screen(screen)
        await pilot.pause()
        screen.query_one(DataTable).focus()
        await pilot.press("down")
        await pilot.pause()
        assert "matched: to eve@example.org" in str(screen.query_one("#history-status").render())
        await pilot.press("up")
        await pilot.pause()
        assert "matched: cc eve@example.org" in str(screen.query_one("#history-status").render())
