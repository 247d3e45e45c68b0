"""Reply (r), reply-all (g) and forward (f) from the message viewer open a filled compose screen."""

from __future__ import annotations

from textual.widgets import Input, Select, Static, TextArea

from tamago_tui.backend.outbox import Outbox
from tamago_tui.screens.compose import ComposeScreen
from tamago_tui.screens.message import MessageScreen
from tests.ui.conftest import sample_account
from tests.ui.history_data import seed_cached_message, seed_history

ADA = [("Ada Lovelace", ["ada@example.org"], "Analytical Engines")]
# The cached message is to jane@example.org; Cc it to a third person for reply-all.
CC_MESSAGE_HEADER = b"To: Jane Doe <jane@example.org>\r\n"


async def settle(app, pilot):
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def open_viewer(app, pilot, *, cc: bytes = b""):
    rowid = seed_history(app.services)[0]
    seed_cached_message(app.services)
    if cc:
        from tamago_tui.backend.cache import cache_file

        path = cache_file(app.services, "notes-1@example.org")
        path.write_bytes(path.read_bytes().replace(CC_MESSAGE_HEADER, CC_MESSAGE_HEADER + b"Cc: " + cc + b"\r\n"))
    await settle(app, pilot)
    app.push_screen(MessageScreen(rowid))
    await settle(app, pilot)


def fields(screen) -> dict:
    values = {name: screen.query_one(f"#{name}", Input).value for name in ("to", "cc", "bcc", "subject")}
    values["from"] = screen.query_one("#from", Select).value
    values["body"] = screen.query_one("#body", TextArea).text
    return values


async def test_r_replies_to_the_sender_threaded_and_quoted(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_viewer(app, pilot, cc=b"Charles Babbage <charles@example.org>")
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        values = fields(screen)
        assert (values["to"], values["cc"], values["from"]) == ("Ada Lovelace <ada@example.org>", "", ("work", "jane@example.org"))
        assert values["subject"] == "Re: Notes on the Analytical Engine"
        assert "Ada Lovelace <ada@example.org> wrote:" in values["body"]
        assert "> The Engine weaves algebraic patterns just as the Jacquard loom weaves flowers." in values["body"]
        assert app.focused.id == "body"
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
    store = app.services.open_store()
    try:
        [item] = Outbox(store).items()
        raw = Outbox(store).raw(item.id)
    finally:
        store.close()
    assert item.rcpt_to == ("ada@example.org",)
    assert b"In-Reply-To: <notes-1@example.org>" in raw
    assert b"References: <notes-1@example.org>" in raw


async def test_g_replies_to_everyone_but_me(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_viewer(app, pilot, cc=b"Charles Babbage <charles@example.org>, jane@example.org")
        await pilot.press("g")
        await pilot.pause()
        values = fields(app.screen)
        assert values["to"] == "Ada Lovelace <ada@example.org>"
        assert values["cc"] == "Charles Babbage <charles@example.org>"


async def test_f_forwards_with_the_attachment(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_viewer(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        screen = app.screen
        values = fields(screen)
        assert (values["to"], values["subject"]) == ("", "Fwd: Notes on the Analytical Engine")
        assert "---------- Forwarded message ----------" in values["body"]
        assert "From: Ada Lovelace <ada@example.org>" in values["body"]
        assert "note-g.csv" in str(screen.query_one("#attached", Static).render())
        assert app.focused.id == "to"
        await pilot.press(*"grace@navy.example", "ctrl+l")
        await pilot.pause()
    store = app.services.open_store()
    try:
        [item] = Outbox(store).items()
        raw = Outbox(store).raw(item.id)
    finally:
        store.close()
    assert item.rcpt_to == ("grace@navy.example",)
    assert b'filename="note-g.csv"' in raw


async def test_writing_back_needs_the_message_text(make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)
    rowid = seed_history(app.services)[1]  # not cached, and the sample account cannot fetch it
    notes = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.notify = lambda message, **kw: notes.append(message)
        await settle(app, pilot)
        app.push_screen(MessageScreen(rowid))
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
    assert "The message could not be opened, so there is nothing to quote." in notes


async def test_viewer_and_compose_footers_fit_in_80_columns(make_app):
    from tests.ui.test_keyboard import footer_keys

    app = make_app(accounts=[sample_account()], contacts=ADA)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_viewer(app, pilot)
        for expected in ({"escape", "r", "g", "f", "s", "a", "f1"}, {"escape", "ctrl+s", "ctrl+l", "f1"}):
            shown, palette = footer_keys(app.screen)
            assert expected <= {k.key for k in shown}
            assert max(k.region.right for k in shown) <= palette.region.x
            await pilot.press("r")
            await pilot.pause()


def test_forward_snapshot(snap_compare, make_app):
    app = make_app(accounts=[sample_account()], contacts=ADA)

    async def forward(pilot):
        await open_viewer(pilot.app, pilot)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"ad")  # completion from the contact book
        await settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=forward)
