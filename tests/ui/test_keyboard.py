"""Keyboard-only use at 80x24: the palette lists every key, F1 help, escape, focus and the footer."""

from types import SimpleNamespace

import pytest
from textual.widgets import Button, DataTable, Input, SelectionList, Static, TextArea
from textual.widgets._footer import FooterKey

from tamago_tui.app import TamagoApp
from tamago_tui.commands import KeysProvider
from tamago_tui.keys import key_label, own_bindings
from tamago_tui.screens.accounts import AccountsScreen
from tests.ui.conftest import sample_account


async def palette_texts(screen) -> list[str]:
    return [hit.text async for hit in KeysProvider(screen).discover()]


async def palette_choose(app, pilot, query: str) -> None:
    """Type `query` into the open palette, wait for its results, run the first."""
    from textual.command import CommandList

    await pilot.press(*query)
    for _ in range(50):  # the palette searches in a worker: wait for a result, not for a clock
        await pilot.pause()
        if app.screen.query_one(CommandList).option_count:
            break
    await pilot.press("enter")
    await pilot.pause()


async def settle(app, pilot):
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


# -- the command palette -------------------------------------------------------


async def test_palette_lists_every_key_of_the_screen_and_the_app(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        texts = await palette_texts(app.screen)
        # No back on a top-level screen; no OAuth sign-in for a password account.
        expected = [e for e in own_bindings(AccountsScreen) if e.action not in ("back", "sign_in")]
        expected += own_bindings(TamagoApp)
        assert len(expected) >= 14
        for entry in expected:
            assert f"{entry.text}  ({entry.label})" in texts
        # Keys hidden from the footer are still in the palette, with their key.
        assert "Remove the selected account  (d)" in texts
        assert "Quit  (ctrl+q)" in texts


async def test_palette_leaves_out_what_does_not_apply(make_app):
    app = make_app()  # no account: the accounts empty state
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        texts = await palette_texts(app.screen)
        assert "Add an account  (a)" in texts
        assert not [t for t in texts if "selected account" in t]
        assert not [t for t in texts if t.startswith("Back")]  # a top-level screen has no back


async def test_palette_runs_a_screen_key(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.press("ctrl+p")
        await palette_choose(app, pilot, "add an account")
        assert type(app.screen).__name__ == "AccountEditor"


def test_key_labels_read_as_typed():
    assert [key_label(k) for k in ("ctrl+t", "f2", "escape", "slash", "question_mark", "x")] == [
        "ctrl+t", "F2", "esc", "/", "?", "x"]


def test_every_binding_has_an_id():
    from tamago_tui.screens.help import _screen_classes
    from tamago_tui.screens.passphrase import SecretPrompt
    from tamago_tui.screens.path_prompt import PathPrompt
    from tamago_tui.screens.confirm import Confirm
    from tamago_tui.widgets.error_modal import ErrorModal

    for cls in [TamagoApp, *_screen_classes(), SecretPrompt, PathPrompt, Confirm, ErrorModal]:
        for entry in own_bindings(cls):
            assert entry.id, f"{cls.__name__}: {entry.label} has no id"
            assert entry.text, f"{cls.__name__}: {entry.label} has no description"


# -- help ----------------------------------------------------------------------


@pytest.mark.parametrize("setup, screen_name", [
    ((), "AccountsScreen"),  # first run: a button has focus
    (("a",), "AccountEditor"),  # an Input has focus
    (("f4",), "TroubleshootScreen"),  # a TextArea has focus
])
async def test_f1_opens_help_from_anywhere_and_escape_closes_it(make_app, setup, screen_name):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*setup)
        await pilot.pause()
        assert type(app.screen).__name__ == screen_name
        await pilot.press("f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        titles = [title for title, _ in app.screen.sections]
        assert titles[0].startswith("This screen") and titles[1:3] == ["Everywhere", "Moving around"]
        assert {"Contacts", "Outbox", "Compose", "Connection test"} <= set(titles)
        everywhere = dict(app.screen.sections[1][1])
        assert everywhere["ctrl+q"] == "Quit" and everywhere["F1 / ?"].startswith("Help")
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == screen_name


async def test_question_mark_opens_help_outside_text_fields(make_app):
    app = make_app(accounts=[sample_account()], contacts=[("Ada", ["ada@example.org"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("?")  # the filter has focus: "?" is text there
        assert app.screen.query_one("#filter", Input).value == "?"
        await pilot.press("escape", "?")  # escape clears the filter and goes to the list
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        assert app.screen.sections[0][0] == "This screen: Contacts"
        assert ("u", "Find duplicate contacts") in app.screen.sections[0][1]  # hidden from the footer
        await pilot.press("f1")  # F1 again closes it too
        await pilot.pause()
        assert type(app.screen).__name__ == "ContactsScreen"


# -- escape goes back ----------------------------------------------------------


async def test_escape_leaves_a_pushed_troubleshooting_screen(make_app):
    from tamago_tui.screens.troubleshoot import TroubleshootScreen

    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        accounts = app.screen
        await app.push_screen(TroubleshootScreen())
        await pilot.pause()
        assert isinstance(app.focused, TextArea)  # escape works from the text box too
        assert "back" in {b.binding.action for b in app.screen.active_bindings.values()}
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is accounts


async def test_escape_on_a_top_level_screen_stays_put(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        screen = app.screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and app.current_mode == "troubleshoot"
        assert "back" not in {b.binding.action for b in screen.active_bindings.values()}


async def test_escape_in_an_edited_account_form_asks_first(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("escape")  # untouched: closes at once
        await pilot.pause()
        assert type(app.screen).__name__ == "AccountsScreen"
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@example.org", "escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "Confirm"
        await pilot.press("n")  # keep editing
        await pilot.pause()
        assert app.screen.query_one("#email", Input).value == "jane@example.org"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert type(app.screen).__name__ == "AccountsScreen"


# -- focus ---------------------------------------------------------------------


async def test_initial_focus_on_each_screen(make_app):
    app = make_app(accounts=[sample_account()], contacts=[("Ada", ["ada@example.org"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.focused.id == "filter"
        await pilot.press("f3")
        await pilot.pause()
        assert app.focused.id == "accounts-table"
        await pilot.press("e")
        await pilot.pause()
        assert app.focused.id == "imap_password"  # editing: the password is what changes
        await pilot.press("escape", "a")
        await pilot.pause()
        assert app.focused.id == "email"
        await pilot.press("escape", "f4")
        await pilot.pause()
        assert app.focused.id == "error-text"
        await pilot.press("f2", "ctrl+n")
        await pilot.pause()
        assert app.focused.id == "name"


async def test_empty_contact_book_focuses_the_list_so_its_keys_work(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.focused.id == "contacts-table"
        await pilot.press("i")  # the status line promises "i to import a file"
        await pilot.pause()
        assert type(app.screen).__name__ == "PathPrompt"


async def test_error_modal_closes_on_enter(make_app):
    from tamago_tui.backend.errors import TamagoError

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.show_error(TamagoError("boom", title="Broken"))
        await pilot.pause()
        assert app.focused.id == "close"
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "AccountsScreen"


async def test_focused_compact_field_is_visible(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        email, name = screen.query_one("#email", Input), screen.query_one("#display_name", Input)
        assert app.focused is email
        assert email.styles.background != name.styles.background
        labels = {label.parent.query_one(Input).id: label for label in screen.query(".field-label")
                  if label.parent.query(Input)}
        assert labels["email"].styles.color != labels["display_name"].styles.color
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is name
        assert email.styles.background != name.styles.background
        assert labels["display_name"].styles.color != labels["email"].styles.color


async def test_tab_order_follows_the_form(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        seen = [app.focused.id]
        for _ in range(8):
            await pilot.press("tab")
            seen.append(app.focused.id)
        assert seen == ["email", "display_name", "aliases", "auth", "imap_host", "imap_port", "imap_security",
                        "imap_username", "imap_password"]


async def test_enter_moves_to_the_next_field(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@example.org", "enter")
        await pilot.pause()
        assert app.focused.id == "display_name"


# -- the footer ----------------------------------------------------------------


def footer_keys(screen) -> tuple[list[FooterKey], FooterKey]:
    keys = list(screen.query(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")][0]
    return [k for k in keys if k is not palette], palette


@pytest.mark.parametrize("keys", [(), ("f3",), ("f3", "a"), ("f4",), ("f2",), ("f5",)])
async def test_footer_keys_fit_in_80_columns(make_app, keys):
    app = make_app(accounts=[sample_account()], contacts=[("Ada", ["ada@example.org"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*keys)
        await pilot.pause()
        shown, palette = footer_keys(app.screen)
        assert shown, "the footer shows some keys"
        assert max(k.region.right for k in shown) <= palette.region.x
        assert "f1" in {k.key for k in shown}  # help is always one key away


async def test_account_keys_hidden_in_the_empty_state(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown, _ = footer_keys(app.screen)
        assert {k.key for k in shown} == {"a", "f1"}


async def test_connection_test_offers_fix_and_pin_only_when_they_apply(make_app):
    from tamago_tui.backend.diagnostics import Step
    from tamago_tui.messages import StepReported
    from tamago_tui.screens.connection_test import ConnectionTestScreen

    def replay(steps):
        class Replay(ConnectionTestScreen):
            def run_checks(self):
                for step in steps:
                    self.post_message(StepReported(step))
                self.post_message(StepReported(None))
        return Replay

    passing = [Step("imap", "Login", "ok", "logged in")]
    untrusted = [Step("imap", "TLS handshake", "fail", "certificate verify failed",
                      category="certificate_invalid", data={"sha256": "AB:CD"})]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(replay(passing)(sample_account(), "pw"))
        await pilot.pause()
        await pilot.pause()
        shown = {k.key for k in footer_keys(app.screen)[0]}
        assert {"escape", "r", "c"} <= shown and not {"x", "p"} & shown
        await pilot.press("escape")
        await app.push_screen(replay(untrusted)(sample_account(), "pw"))
        await pilot.pause()
        await pilot.pause()
        shown = {k.key for k in footer_keys(app.screen)[0]}
        assert {"x", "p"} <= shown
        table = app.screen.query_one(DataTable)
        widths = sum(c.width + 2 for c in table.columns.values())
        assert widths <= 80 - 2  # no horizontal scrollbar


# -- the account editor --------------------------------------------------------


async def test_provider_notes_are_visible_without_scrolling(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane.doe@gmail.com")
        await pilot.pause()
        notes = app.screen.query_one("#editor-notes", Static)
        assert "App password required" in str(notes.render())
        assert 0 < notes.region.y and notes.region.bottom <= 10  # right under the address
        form = app.screen.query_one("#editor-form")
        assert form.scroll_y == 0
        more = str(app.screen.query_one("#provider-notes", Static).render())
        assert "Show in IMAP" in more and "support.google.com" in more


async def test_folders_after_a_passing_test_are_keyboard_ready(make_app):
    from tamago_tui.screens.connection_test import TestResult

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@example.org")
        editor = app.screen
        editor.query_one("#imap_host", Input).value = "imap.example.org"
        editor.query_one("#smtp_host", Input).value = "smtp.example.org"
        account = editor.form_account()
        folders = [("Archive", ("\\HasNoChildren", "\\Archive")), ("Sent", ("\\Sent",)),
                   ("Projects", ("\\HasNoChildren",)), ("INBOX", ())]
        report = SimpleNamespace(ok=True, first_failure=None, category=None)
        editor._test_finished(TestResult(account, report, folders))
        await pilot.pause()
        await pilot.pause()
        folder_list = editor.query_one("#folders", SelectionList)
        assert app.focused is folder_list
        names = [folder_list.get_option_at_index(i).value for i in range(folder_list.option_count)]
        assert names == ["INBOX", "Archive", "Sent", "Projects"]  # INBOX, special-use, the rest
        assert "HasNoChildren" not in str(folder_list.get_option_at_index(1).prompt)
        assert set(folder_list.selected) == {"INBOX", "Sent"}
        assert folder_list.region.y < 24 - 3  # scrolled into view, above status and footer
        await pilot.press("down", "space")  # Archive ticked by keyboard
        assert set(folder_list.selected) == {"INBOX", "Sent", "Archive"}
        await pilot.press("up", "space")
        assert set(folder_list.selected) == {"Sent", "Archive"}


async def test_clear_keeps_usable_ports(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane.doe@gmail.com", "ctrl+r")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#email", Input).value == ""
        assert screen.query_one("#imap_port", Input).value == "993"
        assert screen.query_one("#smtp_port", Input).value == "465"  # Gmail's SSL stays chosen
        assert screen.query_one("#backfill_days", Input).value == "90"


async def test_lookup_result_moves_to_the_password(make_app):
    from tamago_tui.backend.models import Security, ServerSettings

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"jane@example.org")
        result = SimpleNamespace(
            imap=ServerSettings("mail.example.org", 993, Security.SSL, ""),
            smtp=ServerSettings("mail.example.org", 465, Security.SSL, ""),
            provider=None, source="srv", confidence="high")
        app.screen._apply_lookup(result)
        await pilot.pause()
        assert app.focused.id == "imap_password"
        assert "Enter the password" in str(app.screen.query_one("#editor-status").render())


# -- contacts ------------------------------------------------------------------


async def test_contact_count_is_singular_for_one(make_app):
    app = make_app(accounts=[sample_account()], contacts=[("Ada", ["ada@example.org"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert str(app.screen.query_one("#contacts-status").render()).startswith("1 contact ")


async def test_contact_editor_fits_with_two_warnings(make_app):
    contacts = [("Ada", ["ada@example.org"], ""), ("Grace", ["grace@example.org"], ""),
                ("Alan", ["alan@example.org"], "")]
    app = make_app(accounts=[sample_account()], contacts=contacts)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        app.screen.query_one("#emails", Input).value = "ada@example.org, grace@example.org, alan@example.org"
        await pilot.pause()
        warning = str(app.screen.query_one("#shared-warning").render())
        assert warning.count("⚠") == 2
        save = app.screen.query_one("#save", Button)
        assert save.region.bottom <= 24 - 1
        assert app.screen.query_one("#notes", TextArea).region.height >= 4
        assert all(label.region.height == 1 for label in app.screen.query(".field-label"))  # no wrapping


# -- small and large terminals -------------------------------------------------


@pytest.mark.parametrize("size", [(60, 20), (100, 30)])
async def test_other_sizes_stay_usable(make_app, size):
    app = make_app(accounts=[sample_account()], contacts=[("Ada Lovelace", ["ada@example.org"], "Engines")])
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for keys in [("f2",), ("f3",), ("a",), ("escape", "f4"), ("f5",), ("f1",), ("escape", "f3")]:
            await pilot.press(*keys)
            await pilot.pause()
            navbar = app.screen.query("NavBar")
            if navbar:
                text = str(navbar.first().render())
                assert len(text.rstrip()) <= size[0] - 2
        table = app.screen.query_one(DataTable)
        widths = sum(c.width + 2 for c in table.columns.values())
        assert widths <= size[0] - 2  # the Email column gives way; no horizontal scrollbar
        assert list(table.columns.values())[0].width >= 12


def test_navbar_drops_inactive_tabs_first():
    from tamago_tui.widgets.navbar import layout

    wide = layout("Accounts", "accounts", 78)
    assert all(f"F{n}" in wide for n in (2, 3, 4, 5))
    narrow = layout("Accounts", "accounts", 40)
    assert "F3 Accounts" in narrow and "F5" not in narrow
    tiny = layout("A very long screen title indeed", "accounts", 20)
    assert tiny == "[b]A very long screen…[/b]"


async def test_label_lights_only_while_its_row_has_focus(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")  # the Select had focus first, then the text box took it
        await pilot.pause()
        label = app.screen.query_one(".field-label")
        unlit = label.styles.color
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused.id == "provider"
        assert label.styles.color != unlit
        await pilot.press("tab")
        await pilot.pause()
        assert label.styles.color == unlit


async def test_saved_account_is_selected_in_the_list(make_app):
    app = make_app(accounts=[sample_account("a", "a@example.org"), sample_account("b", "b@example.org")])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.cursor_row == 0
        await pilot.press("a")
        await pilot.pause()
        app.screen.dismiss("b")  # what the editor does once the account is saved
        await pilot.pause()
        assert app.screen.selected_account().name == "b"


async def test_enter_on_an_account_opens_the_editor(make_app):
    app = make_app(accounts=[sample_account("a", "a@example.org"), sample_account("b", "b@example.org")])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3", "down", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "AccountEditor"
        assert app.screen.query_one("#email", Input).value == "b@example.org"


@pytest.mark.parametrize("query, mode", [("outbox", "outbox"), ("contacts", "contacts"), ("troubleshoot", "troubleshoot")])
async def test_palette_finds_every_screen_by_name(make_app, query, mode):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await palette_choose(app, pilot, query)
        assert app.current_mode == mode


async def test_a_new_passphrase_is_typed_twice(make_app):
    from tamago_tui.screens.passphrase import SecretPrompt

    app = make_app()
    answers = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(SecretPrompt("Choose a master passphrase for the new encrypted password store"),
                        answers.append)
        await pilot.pause()
        await pilot.press(*"secret", "enter", *"secrte", "enter")
        await pilot.pause()
        assert answers == [] and "differ" in str(app.screen.query_one("#secret-error").render())
        assert app.focused.id == "secret"
        await pilot.press(*"secret", "enter", *"secret", "enter")
        await pilot.pause()
        assert answers == ["secret"]
        app.push_screen(SecretPrompt("Master passphrase for the encrypted password store"), answers.append)
        await pilot.pause()
        await pilot.press(*"open", "enter")  # unlocking an existing store: once is enough
        await pilot.pause()
        assert answers == ["secret", "open"]
