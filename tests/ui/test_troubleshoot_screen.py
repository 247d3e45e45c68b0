"""The troubleshooting screen: a pasted error gets its guide; guides can be browsed by provider."""

from textual.widgets import OptionList, Select, Static, TextArea

GMAIL_APP_PASSWORD = (
    "534-5.7.9 Application-specific password required. Learn more at\n"
    "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor"
)


def guide_text(app) -> str:
    return str(app.screen.query_one("#guide", Static).render())


async def test_pasted_error_is_explained(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        app.screen.query_one("#error-text", TextArea).text = GMAIL_APP_PASSWORD
        await pilot.press("ctrl+e")
        await pilot.pause()
        text = guide_text(app)
        assert "app_password_required" in text
        assert "App password" in text or "app password" in text


async def test_browse_guides_for_office365(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        app.screen.query_one("#provider", Select).value = "office365"
        await pilot.press("ctrl+b")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert options.display and options.option_count >= 20
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("basic_auth_disabled")
        await pilot.pause()
        assert "OAuth" in guide_text(app)


async def test_account_failure_opens_its_guide(make_app, tamago_home):
    from tests.ui.conftest import sample_account

    account = sample_account(provider="gmail", email="me@gmail.com")
    app = make_app(accounts=[account])
    store = app.services.open_store()
    store.record_test(account.name, account.email, ok=False,
                      error="[ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)",
                      category="app_password_required")
    store.close()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert app.current_mode == "troubleshoot"
        assert "app_password_required" in guide_text(app)
        assert app.screen.query_one("#provider", Select).value == "gmail"


async def test_ctrl_l_goes_through_every_failing_account(make_app):
    from tests.ui.conftest import sample_account

    gmail = sample_account("g", "me@gmail.com", provider="gmail")
    work = sample_account("w", "me@example.org")
    app = make_app(accounts=[gmail, work])
    store = app.services.open_store()
    store.record_test("g", gmail.email, ok=False, error="[ALERT] Application-specific password required",
                      category="app_password_required")
    store.record_test("w", work.email, ok=False, error="Connection refused", category="connection_refused")
    store.close()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4", "ctrl+l")
        await pilot.pause()
        first = app.screen.query_one("#error-text", TextArea).text
        await pilot.press("ctrl+l")
        await pilot.pause()
        second = app.screen.query_one("#error-text", TextArea).text
        assert {first, second} == {"[ALERT] Application-specific password required", "Connection refused"}
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.screen.query_one("#error-text", TextArea).text == first
