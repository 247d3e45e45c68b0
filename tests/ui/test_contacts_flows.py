"""Contact list flows by keyboard: import, export, merge, duplicates, shared-address warning, paging."""

from pathlib import Path

from textual.widgets import DataTable, Input, Static

from tamago_tui.backend.contacts import ContactBook
from tests.ui.conftest import sample_account

DATA = Path(__file__).resolve().parent.parent / "data" / "contacts"

ADA_TWICE = [
    ("Ada Lovelace", ["ada@example.org"], "Analytical Engines"),
    ("Lovelace, Ada", ["countess@example.org", "ada@example.org"], ""),
    ("Alan Turing", ["alan@bletchley.example"], ""),
]


async def settle(app, pilot):
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def book_of(app) -> ContactBook:
    return ContactBook(app.services.open_store())


async def test_import_by_keys_merges_and_reports(make_app):
    app = make_app(accounts=[sample_account()], contacts=[("Grace Hopper", ["grace@navy.example"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        contacts = app.screen
        await pilot.press("down", "i")  # into the list, then import
        assert type(app.screen).__name__ == "PathPrompt"
        app.screen.query_one("#path", Input).value = str(DATA / "google.csv")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is contacts
        report = contacts.last_import
        assert (report.created, report.updated, report.skipped) == (4, 1, 0)
        assert contacts.query_one(DataTable).row_count == 5
        assert "5 contacts" in str(contacts.query_one("#contacts-status", Static).render())


async def test_import_of_a_missing_file_shows_the_error_modal(make_app, tmp_path):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "i")
        app.screen.query_one("#path", Input).value = str(tmp_path / "nope.vcf")
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ErrorModal"
        assert "No file at" in app.screen.message


async def test_export_by_keys_writes_a_vcard(make_app, tmp_path):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE)
    target = tmp_path / "out.vcf"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "x")
        prompt = app.screen.query_one("#path", Input)
        assert prompt.value == "contacts.vcf"
        prompt.value = str(target)
        await pilot.press("enter")
        await settle(app, pilot)
    text = target.read_text(encoding="utf-8")
    assert text.count("BEGIN:VCARD") == 3 and "VERSION:4.0" in text


async def test_empty_path_is_refused_in_the_prompt(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "x")
        app.screen.query_one("#path", Input).value = "  "
        await pilot.press("enter")
        assert type(app.screen).__name__ == "PathPrompt"
        assert "Type a file path" in str(app.screen.query_one("#path-error", Static).render())
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ContactsScreen"


async def test_merge_selected_contact_into_one_picked_from_a_filtered_list(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down")  # rows sort by name: Ada Lovelace, Alan Turing, Lovelace, Ada
        await pilot.press("down", "down")
        assert app.screen.selected_row().name == "Lovelace, Ada"
        await pilot.press("m")
        picker = app.screen
        assert type(picker).__name__ == "ContactPicker"
        # Pre-filled with the name, so the other Ada is the one choice; enter picks it.
        assert picker.shown == [book_of(app).find("ada@example.org").id]
        await pilot.press("enter")
        assert type(app.screen).__name__ == "Confirm"
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen.query_one(DataTable).row_count == 2
    (ada,) = [c for c in book_of(app).all() if "Ada" in c.name]
    assert ada.name == "Ada Lovelace"
    assert ada.emails == ("ada@example.org", "countess@example.org")


async def test_merge_can_be_cancelled(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "m")
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ContactsScreen"
    assert len(book_of(app).all()) == 3


async def test_duplicates_screen_lists_pairs_and_merges_with_m(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "u")
        await settle(app, pilot)
        screen = app.screen
        assert type(screen).__name__ == "DuplicatesScreen"
        assert [(p.keep_name, p.other_name) for p in screen.pairs] == [("Ada Lovelace", "Lovelace, Ada")]
        assert screen.pairs[0].reasons == ("same address ada@example.org", "same name")
        await pilot.press("m", "y")
        await settle(app, pilot)
        assert screen.pairs == []
        assert "No duplicates" in str(screen.query_one("#duplicates-status", Static).render())
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen.query_one(DataTable).row_count == 2


async def test_duplicates_shift_m_keeps_the_second(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "u")
        await settle(app, pilot)
        await pilot.press("M", "y")
        await settle(app, pilot)
    names = [c.name for c in book_of(app).all()]
    assert names == ["Alan Turing", "Lovelace, Ada"]


async def test_editor_warns_when_an_address_is_on_another_contact(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE[:1])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        warning = app.screen.query_one("#shared-warning", Static)
        assert warning.display is False
        await pilot.press(*"Countess", "tab", *"Ada@Example.org")
        assert warning.display is True
        assert "ada@example.org is shared with Ada Lovelace" in str(warning.render())
        await pilot.press("backspace")
        assert warning.display is False


async def test_editing_a_contact_shows_its_shared_address_at_once(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "e")  # Ada Lovelace
        warning = app.screen.query_one("#shared-warning", Static)
        assert "shared with Lovelace, Ada" in str(warning.render())
        assert "Ada Lovelace" not in str(warning.render())  # never warns about itself


async def test_long_list_is_paged_and_grows_as_the_cursor_moves(make_app):
    contacts = [(f"Person {i:03d}", [f"p{i}@example.org"], "") for i in range(150)]
    app = make_app(accounts=[sample_account()], contacts=contacts)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        table = screen.query_one(DataTable)
        first_page = table.row_count
        assert first_page == screen.page_size() < 150
        await pilot.press("down")
        for _ in range(first_page - 5):
            await pilot.press("down")
        assert table.row_count > first_page
        assert table.cursor_row == first_page - 5
        await pilot.press(*"/", *"person 14")
        assert table.row_count == 12  # 014, 114 and 140..149
        assert "12 of 150 contacts match" in str(screen.query_one("#contacts-status", Static).render())


async def test_a_keystroke_that_keeps_the_same_page_does_not_rebuild_the_table(make_app, monkeypatch):
    contacts = [(f"Person {i}", [f"p{i}@example.org"], "") for i in range(5)]
    app = make_app(accounts=[sample_account()], contacts=contacts)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(DataTable)
        clears = []
        monkeypatch.setattr(type(table), "clear", lambda self, *a, **k: clears.append(1) or self)
        await pilot.press(*"exam")  # every row has example.org: the page is unchanged
        assert clears == []
        assert table.row_count == 5


def _message(app, sender: str) -> int:
    store = app.services.open_store()
    try:
        return store.db["messages"].insert({
            "account": "work", "folder": "INBOX", "uidvalidity": 1, "uid": 7, "message_id": "<m1@example.org>",
            "date": "2024-05-01T10:00:00+00:00", "sender": sender, "recipients": '["jane@example.org"]',
            "cc": "[]", "subject": "Hello", "size": 100, "flags": "", "has_attachments": 0,
        }).last_pk
    finally:
        store.close()


async def test_add_sender_as_contact_from_a_message(make_app):
    from tamago_tui.screens.message import MessageScreen

    app = make_app(accounts=[sample_account()])
    rowid = _message(app, "=?utf-8?q?Zo=C3=AB_=C3=85ngstr=C3=B6m?= <Zoe@Example.se>")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MessageScreen(rowid))
        await pilot.pause()
        await pilot.press("a")
        editor = app.screen
        assert type(editor).__name__ == "ContactEditor"
        assert editor.query_one("#name", Input).value == "Zoë Ångström"
        assert editor.query_one("#emails", Input).value == "Zoe@Example.se"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "MessageScreen"
    assert book_of(app).find("zoe@example.se").name == "Zoë Ångström"


async def test_add_sender_who_is_already_a_contact_opens_their_editor(make_app):
    from tamago_tui.screens.message import MessageScreen

    app = make_app(accounts=[sample_account()], contacts=ADA_TWICE[:1])
    rowid = _message(app, "Countess <ADA@example.org>")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.push_screen(MessageScreen(rowid))
        await pilot.pause()
        await pilot.press("a")
        editor = app.screen
        assert editor.contact_id == book_of(app).find("ada@example.org").id
        assert editor.query_one("#name", Input).value == "Ada Lovelace"


async def test_back_from_a_contact_the_cursor_stays_on_it(make_app):
    """The list reloads when a contact closes (its data may have changed); the cursor must not
    jump back to the first row, wherever in a long list the contact was."""
    from tamago_tui.screens.contact import ContactScreen

    people = [(f"Person {n:03d}", [f"p{n:03d}@example.org"], "") for n in range(120)]
    app = make_app(accounts=[sample_account()], contacts=people)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", *["down"] * 70)  # into the list, then far past the first page
        await settle(app, pilot)
        table = app.screen.query_one("#contacts-table", DataTable)
        assert table.cursor_row == 70
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ContactScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        table = app.screen.query_one("#contacts-table", DataTable)
        assert table.cursor_row == 70
        assert str(table.get_row_at(70)[0]) == "Person 070"
