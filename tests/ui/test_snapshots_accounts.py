"""Snapshots of the accounts list and the account editor at 80x24."""

from textual.widgets import Input, Select

from tests.ui.conftest import sample_account


def _accounts_app(make_app):
    work = sample_account("work", "jane@example.org")
    gmail = sample_account("gmail", "jane.doe@gmail.com", provider="gmail")
    fresh = sample_account("side", "jane@fastmail.com", provider="fastmail")
    app = make_app(accounts=[work, gmail, fresh])
    store = app.services.open_store()
    store.record_test("work", work.email, ok=True)
    store.record_test("gmail", gmail.email, ok=False,
                      error="Login: [ALERT] Application-specific password required",
                      category="app_password_required")
    store.close()
    return app


def test_accounts_list_with_statuses(snap_compare, make_app):
    async def select_failing(pilot):
        await pilot.press("f3")
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(_accounts_app(make_app), terminal_size=(80, 24), run_before=select_failing)


def test_account_editor_with_gmail_preset(snap_compare, make_app):
    async def fill(pilot):
        await pilot.press("f3", "a")
        await pilot.pause()
        await pilot.press(*"jane.doe@gmail.com")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=fill)


async def test_typing_a_gmail_address_fills_the_preset(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")  # first run lands on the accounts empty state
        await pilot.pause()
        await pilot.press(*"jane.doe@gmail.com")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#provider", Select).value == "gmail"
        assert screen.query_one("#imap_host", Input).value == "imap.gmail.com"
        assert screen.query_one("#imap_port", Input).value == "993"
        assert screen.query_one("#imap_username", Input).value == "jane.doe@gmail.com"
        notes = str(screen.query_one("#editor-notes").render())
        assert "App password" in notes


async def test_saving_needs_a_passing_test(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@example.org")
        screen = app.screen
        screen.query_one("#imap_host", Input).value = "imap.example.org"
        screen.query_one("#smtp_host", Input).value = "smtp.example.org"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Test the connection first" in str(screen.query_one("#editor-status").render())
        assert app.services.config.accounts == {}


async def test_smtp_identity_mismatch_warns(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@example.org")
        screen = app.screen
        await pilot.click("#smtp_same")
        screen.query_one("#smtp_username", Input).value = "noreply@example.org"
        await pilot.pause()
        assert "differs from the IMAP mailbox" in str(screen.query_one("#editor-notes").render())


def test_failed_connection_test_report(snap_compare, make_app):
    """A failed test: the checklist up to the failing login, the category and the fix."""
    from tamago_tui.backend.diagnostics import Step
    from tamago_tui.messages import StepReported
    from tamago_tui.screens.connection_test import ConnectionTestScreen

    canned = [
        Step("imap", "DNS resolution", "ok", "imap.gmail.com -> 142.250.1.108"),
        Step("imap", "TCP connect", "ok", "connected to 142.250.1.108:993 in 21 ms"),
        Step("imap", "TLS handshake", "ok", "TLSv1.3 TLS_AES_256_GCM_SHA384; verified; CN=imap.gmail.com"),
        Step("imap", "Greeting", "ok", "* OK Gimap ready for requests"),
        Step("imap", "Capabilities", "ok", "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST"),
        Step("imap", "STARTTLS", "skipped", "not needed: the connection is TLS from the start"),
        Step("imap", "Auth mechanisms", "ok", "AUTH=PLAIN AUTH=XOAUTH2"),
        Step("imap", "Login", "fail",
             "NO [ALERT] Application-specific password required: "
             "https://support.google.com/accounts/answer/185833 (Failure)",
             category="app_password_required"),
        Step("imap", "Folders", "skipped", "not run: an earlier step failed"),
    ]

    class Replay(ConnectionTestScreen):
        def run_checks(self):
            for step in canned:
                self.post_message(StepReported(step))
            self.post_message(StepReported(None))

    account = sample_account("gmail", "jane.doe@gmail.com", provider="gmail")

    async def open_test(pilot):
        await pilot.app.push_screen(Replay(account, "app-password"))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_test)


def test_settings_screen(snap_compare, make_app):
    async def open_settings(pilot):
        await pilot.press("f3", "g")
        await pilot.pause()
        await pilot.press("tab")  # to nameserver: its help shows below the list
        await pilot.pause()

    assert snap_compare(_accounts_app(make_app), terminal_size=(80, 24), run_before=open_settings)
