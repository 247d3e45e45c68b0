"""Names and subjects with brackets are shown as typed, never read as markup."""

from tamago_tui.backend.contacts import ContactBook


async def test_contact_screen_shows_bracketed_name_and_subject(make_app):
    from tamago_tui.screens.contact import ContactScreen
    from tests.ui.conftest import sample_account

    app = make_app(accounts=[sample_account()])
    store = app.services.open_store()
    contact = ContactBook(store).add("Eve [/b] [ALERT]", ["eve@example.org"])
    store.close()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ContactScreen(contact.id)
        screen.action_fetch = lambda: None  # no accounts to reach: the local view is what is checked
        await app.push_screen(screen)
        await pilot.pause()
        assert str(screen.query_one("#contact-title").render()) == "Eve [/b] [ALERT]"
