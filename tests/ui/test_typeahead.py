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


async def test_a_burst_of_keys_fills_each_field_in_turn(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_compose()
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen) and app.focused.id == "to"
        burst(app, [*"ada@example.org", "tab", "tab", "tab", *"Lunch", "tab", "tab", *"See", "space", *"you"])
        await pilot.pause()
        await pilot.pause()
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
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#subject", Input).value == "Hi"
        assert app.screen.query_one("#bcc", Input).value == "boss@example.org"


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
        assert time.monotonic() < deadline, f"never happened: {what}"
        await pilot.pause(0.02)


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
