"""Snapshots of the keyboard helpers at 80x24: F1 help, and the editor's folder list after a test."""

from types import SimpleNamespace

from textual.widgets import Input

from tests.ui.conftest import sample_account


def test_help_screen_on_accounts(snap_compare, make_app):
    app = make_app(accounts=[sample_account()])
    assert snap_compare(app, terminal_size=(80, 24), press=["f3", "f1"])


def test_account_editor_folders_after_a_passing_test(snap_compare, make_app):
    """The folder list focused and in view, INBOX first, the provider's defaults ticked."""
    from tamago_tui.screens.connection_test import TestResult

    async def tested(pilot):
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@example.org")
        editor = pilot.app.screen
        editor.query_one("#imap_host", Input).value = "imap.example.org"
        editor.query_one("#smtp_host", Input).value = "smtp.example.org"
        folders = [("Archive", ("\\HasNoChildren", "\\Archive")), ("Sent", ("\\Sent",)),
                   ("Drafts", ("\\Drafts",)), ("Projects", ("\\HasNoChildren",)), ("INBOX", ())]
        report = SimpleNamespace(ok=True, first_failure=None, category=None)
        editor._test_finished(TestResult(editor.form_account(), report, folders))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=tested)
