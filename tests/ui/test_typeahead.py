"""Keys that arrive in one burst (a fast typist over SSH, a paste, a laggy link) land in the
fields they were typed for: tab moves the focus before the next key is delivered.

The terminal driver posts every key of a burst to the app at once; the test does the
same (no pause between keys), which is what pilot.press() would hide.
"""

from __future__ import annotations

import time

from textual import events
from textual.widgets import Input, TextArea

from tamago_tui.screens.compose import ComposeScreen
from tests.ui.conftest import sample_account


def burst(app, keys: list[str]) -> None:
    for key in keys:
        character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character if key != "space" else " "))


async def _until(pilot, condition, what: str, limit: float = 30.0):
    """Let the app run until `condition()` holds; the limit only turns a hang into a failure."""
    from textual.css.query import NoMatches

    def holds() -> bool:
        try:
            return bool(condition())
        except NoMatches:  # the screen is still composing its widgets
            return False

    deadline = time.monotonic() + limit
    while not holds():
        assert time.monotonic() < deadline, (f"never happened: {what}; screens {pilot.app.screen_stack}, "
                                             f"focus {pilot.app.focused}, held {pilot.app.typeahead.held}")
        await pilot.pause(0.02)


async def test_a_burst_of_keys_fills_each_field_in_turn(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_compose()
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen) and app.focused.id == "to"
        burst(app, [*"ada@example.org", "tab", "tab", "tab", *"Lunch", "tab", "tab", *"See", "space", *"you"])
        # Keys behind a command key (tab) wait for what it sets off: the burst lands over a few frames.
        await _until(pilot, lambda: app.screen.query_one("#body", TextArea).text == "See you", "the body typed ahead")
        screen = app.screen
        assert screen.query_one("#to", Input).value == "ada@example.org"
        assert screen.query_one("#cc", Input).value == ""
        assert screen.query_one("#bcc", Input).value == ""
        assert screen.query_one("#subject", Input).value == "Lunch"
        assert screen.query_one("#body", TextArea).text == "See you"
        assert app.focused.id == "body"


async def test_shift_tab_in_a_burst_goes_back_before_the_next_key(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_compose()
        await pilot.pause()
        burst(app, ["tab", "tab", "tab", *"Hi", "shift+tab", *"boss@example.org"])
        await _until(pilot, lambda: app.screen.query_one("#bcc", Input).value == "boss@example.org",
                     "the address typed ahead")
        assert app.screen.query_one("#subject", Input).value == "Hi"
        assert app.screen.query_one("#bcc", Input).value == "boss@example.org"


async def test_keys_typed_right_after_f6_go_to_the_new_compose_screen(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        burst(app, ["f6", *"bob@example.org", "tab", "tab", "tab", *"Hi"])
        await _until(pilot, lambda: isinstance(app.screen, ComposeScreen)
                     and app.screen.query_one("#subject", Input).value == "Hi", "the subject typed ahead")
        assert app.screen.query_one("#to", Input).value == "bob@example.org"
        assert app.screen.query_one("#cc", Input).value == ""


async def test_keys_typed_after_n_on_the_drafts_offer_go_to_the_new_message(make_app):
    from tamago_tui.backend.compose import Draft

    app = make_app(accounts=[sample_account()])
    app.services.drafts.save("work", Draft(sender="jane@example.org", to=("ada@example.org",), subject="Old",
                                           body="x"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        burst(app, ["f6", "n", *"carol@example.org", "tab", "tab", "tab", *"Yo"])
        await _until(pilot, lambda: isinstance(app.screen, ComposeScreen)
                     and app.screen.query_one("#subject", Input).value == "Yo", "the subject typed ahead")
        assert app.screen.query_one("#to", Input).value == "carol@example.org"
        assert len(app.services.drafts.related(None)) >= 1  # the old draft is still there


async def test_a_command_key_right_behind_text_waits_for_the_text(make_app):
    """ctrl+e (a priority binding) right behind the typed error: it explains the whole text
    instead of finding the box still empty."""
    from tamago_tui.screens.troubleshoot import TroubleshootScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await _until(pilot, lambda: isinstance(app.screen, TroubleshootScreen), "the troubleshooting screen")
        await pilot.pause()
        burst(app, [*"No space left on device", "ctrl+e"])
        await _until(pilot, lambda: getattr(app.screen, "current", None) is not None, "the explanation")
        assert app.screen.current.category == "local_storage"
        assert app.screen.query_one("#error-text", TextArea).text == "No space left on device"


async def test_ctrl_l_right_behind_the_body_queues_every_word(make_app):
    from tamago_tui.backend.outbox import Outbox

    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_compose()
        await pilot.pause()
        burst(app, [*"bob@example.org", "tab", "tab", "tab", *"Quick", "tab", "tab", *"every", "space",
                    *"last", "space", *"word", "ctrl+l"])
        await _until(pilot, lambda: not isinstance(app.screen, ComposeScreen), "the message queued")
    store = app.services.open_store()
    try:
        box = Outbox(store)
        [item] = box.items()
        raw = box.raw(item.id)
    finally:
        store.close()
    assert item.subject == "Quick"
    assert b"every last word" in raw


async def test_keys_behind_enter_on_a_list_go_to_the_screen_it_opens(make_app):
    """A filter, enter (to the list), enter (opens the contact through the list's RowSelected
    message) and "e" right behind: it edits from the contact's screen, not from the list."""
    from tamago_tui.screens.contact import ContactScreen
    from tamago_tui.screens.contact_editor import ContactEditor
    from tamago_tui.screens.contacts import ContactsScreen

    app = make_app(contacts=[("Ada Lovelace", ["ada@example.org"], ""), ("Bob Babbage", ["bob@example.org"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await _until(pilot, lambda: isinstance(app.screen, ContactsScreen) and app.focused is not None
                     and app.focused.id == "filter", "the contacts list")
        await pilot.pause()
        burst(app, [*"bob", "enter", "enter", "e"])
        await _until(pilot, lambda: isinstance(app.screen, ContactEditor), "the contact editor")
        await pilot.pause()
        assert [type(s) for s in app.screen_stack[-3:]] == [ContactsScreen, ContactScreen, ContactEditor]
        assert "Bob" in str(app.screen_stack[-2].query_one("#contact-title").render())


async def test_keys_behind_escape_and_enter_reach_the_list_then_the_new_screen(make_app):
    """escape closes a contact, down moves the list, enter opens the next contact: in one burst."""
    from tamago_tui.screens.contact import ContactScreen
    from tamago_tui.screens.contacts import ContactsScreen

    app = make_app(contacts=[("Ada Lovelace", ["ada@example.org"], ""), ("Bob Babbage", ["bob@example.org"], ""),
                             ("Carol Cray", ["carol@example.org"], "")])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await _until(pilot, lambda: isinstance(app.screen, ContactsScreen) and app.focused is not None
                     and app.focused.id == "filter", "the contacts list")
        await pilot.pause()
        burst(app, ["down", "enter", "escape", "down", "down", "enter", "e", "escape"])
        await _until(pilot, lambda: isinstance(app.screen, ContactScreen)
                     and "Carol" in str(app.screen.query_one("#contact-title").render()), "Carol's screen")
        await pilot.pause()
        assert [type(s) for s in app.screen_stack[-2:]] == [ContactsScreen, ContactScreen]
