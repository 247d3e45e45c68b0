"""Drafts in the TUI: autosave, esc's question, resuming, the F7 list, and the draft leaving with the message.

Autosave is off in other UI tests (tests/ui/conftest.py); the tests here that
need it set a short delay and wait for the save by polling the store, never by
asserting on a clock.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, Input, Static, TextArea

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.drafts import DraftError, Drafts
from tamago_tui.backend.outbox import Outbox
from tamago_tui.screens.compose import ComposeScreen
from tamago_tui.screens.drafts import DraftsScreen, KeepDraft, open_compose
from tests.ui.conftest import sample_account

STAMP = "2026-01-05T09:30:00+00:00"


@pytest.fixture
def autosave(monkeypatch):
    monkeypatch.setattr(ComposeScreen, "AUTOSAVE_DELAY", 0.05)


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def settle(pilot):
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for(pilot, condition, what: str):
    """Let the app run until `condition()` holds (a debounced save is a timer away)."""
    for _ in range(100):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        if condition():
            return
    raise AssertionError(f"never happened: {what}")


def drafts(app):
    return app.services.drafts.list()


def outbox_items(app):
    store = app.services.open_store()
    try:
        return Outbox(store).items()
    finally:
        store.close()


def seed(app, *, body="Shall we meet on Monday?\n", stamp=STAMP, **values) -> int:
    values = {"sender": "jane@example.org", "to": ("ada@example.org",), "subject": "Engines", **values}
    saved = app.services.drafts.save("work", Draft(body=body, **values))
    store = app.services.open_store()
    try:
        with store.db.conn:
            store.db.execute("UPDATE drafts SET created_at = ?, updated_at = ? WHERE id = ?",
                             [stamp, stamp, saved.id])
    finally:
        store.close()
    return saved.id


async def open_new_compose(pilot):
    await settle(pilot)
    await pilot.press("f6")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ComposeScreen)


def status(screen, which="#draft-state") -> str:
    return str(screen.query_one(which, Static).render())


# ----- autosave -----------------------------------------------------------------------------------
async def test_typing_is_saved_as_one_draft_that_follows_the_edits(make_app, autosave):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org", "tab", "tab", "tab", *"Engines", "tab", "tab", *"First line")
        await wait_for(pilot, lambda: [d.draft.body for d in drafts(app)] == ["First line"], "first save")
        assert status(app.screen).startswith("Draft saved ")
        [first] = drafts(app)
        assert (first.account, first.draft.to, first.draft.subject) == ("work", ("ada@example.org",), "Engines")
        await pilot.press("enter", *"Second line")
        await wait_for(pilot, lambda: [d.draft.body for d in drafts(app)] == ["First line\nSecond line"],
                       "the update")
        assert [d.id for d in drafts(app)] == [first.id]  # updated in place, not a second draft


async def test_long_typing_is_saved_before_it_pauses(make_app, monkeypatch):
    """Typing that never pauses still gets saved every AUTOSAVE_MAX_WAIT seconds."""
    monkeypatch.setattr(ComposeScreen, "AUTOSAVE_MAX_WAIT", 0.0)
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org")
        await wait_for(pilot, lambda: [d.draft.to for d in drafts(app)] == [("ada@example.org",)], "a save")


async def test_an_untouched_reply_saves_nothing(make_app, autosave):
    app = make_app(accounts=[sample_account()])
    reply = Draft(sender="jane@example.org", to=("ada@example.org",), subject="Re: Engines",
                  body="\n\n> quoted\n", in_reply_to="<m1@example.org>")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        open_compose(app, reply, account="work")
        await pilot.pause(0.5)  # ten autosave delays: the fields filled on opening are not an edit
        await settle(pilot)
        assert status(app.screen) == ""
        await pilot.press("escape")  # nothing typed: no question either
        await pilot.pause()
        assert not isinstance(app.screen, (ComposeScreen, KeepDraft))
    assert drafts(app) == []


async def test_a_failed_save_says_so_and_keeps_the_text(make_app, autosave, monkeypatch):
    def full(self, *args, **kwargs):
        raise DraftError("Could not save the draft: The disk is full: nothing was changed.")

    monkeypatch.setattr(Drafts, "save", full)
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org")
        await wait_for(pilot, lambda: "NOT saved" in status(app.screen), "the failure shown")
        assert "The disk is full" in status(app.screen, "#compose-status")
        assert app.screen.query_one("#to", Input).value == "ada@example.org"
        # Quitting now would lose the text: tamago asks first, and "n" stays.
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert type(app.screen).__name__ == "Confirm"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)


# ----- leaving ------------------------------------------------------------------------------------
async def test_escape_keep_saves_at_once(make_app):
    app = make_app(accounts=[sample_account()])  # autosave is far away: only "keep" saves here
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org", "tab", "tab", "tab", *"Kept")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, KeepDraft)
        await pilot.press("k")
        await pilot.pause()
        assert not isinstance(app.screen, (ComposeScreen, KeepDraft))
    [kept] = drafts(app)
    assert kept.draft.subject == "Kept" and kept.draft.to == ("ada@example.org",)


async def test_escape_discard_deletes_the_autosaved_draft(make_app, autosave):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org")
        await wait_for(pilot, lambda: len(drafts(app)) == 1, "the autosave")
        await pilot.press("escape", "d")
        await settle(pilot)
        assert not isinstance(app.screen, ComposeScreen)
    assert drafts(app) == []


async def test_enter_on_the_question_keeps_the_draft(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org", "escape")
        await pilot.pause()
        await pilot.press("enter")  # the focused button is the safe one
        await pilot.pause()
    assert [d.draft.to for d in drafts(app)] == [("ada@example.org",)]


async def test_quit_saves_what_was_typed_since_the_last_autosave(make_app):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org", "tab", "tab", "tab", "tab", "tab", *"typed just before quitting")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert [d.draft.body for d in drafts(app)] == ["typed just before quitting"]


async def test_switching_screens_saves_the_pending_draft(make_app, monkeypatch):
    monkeypatch.setattr(ComposeScreen, "AUTOSAVE_DELAY", 3600.0)  # only the switch can save it
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org", "f5")
        await wait_for(pilot, lambda: len(drafts(app)) == 1, "the save on leaving")


# ----- queuing ------------------------------------------------------------------------------------
async def test_queuing_moves_the_draft_to_the_outbox(make_app, autosave):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org", "tab", "tab", "tab", *"Queued")
        await wait_for(pilot, lambda: len(drafts(app)) == 1, "the autosave")
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert not isinstance(app.screen, ComposeScreen)
        await pilot.pause(0.3)  # a save timer left behind would bring the draft back
        await settle(pilot)
    assert drafts(app) == []
    assert [i.subject for i in outbox_items(app)] == ["Queued"]


async def test_a_message_the_outbox_refuses_stays_a_draft(make_app, autosave):
    app = make_app(accounts=[sample_account()])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_compose(pilot)
        await pilot.press(*"not an address")
        await wait_for(pilot, lambda: len(drafts(app)) == 1, "the autosave")
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert "not a valid email address" in status(app.screen, "#compose-status")
    assert outbox_items(app) == [] and len(drafts(app)) == 1


# ----- resuming -----------------------------------------------------------------------------------
async def test_f6_offers_the_drafts_and_enter_resumes_one(make_app):
    app = make_app(accounts=[sample_account()])
    draft_id = seed(app, cc=("alan@example.org",), attached=(("plan.pdf", "application/pdf", b"%PDF"),))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, DraftsScreen)
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComposeScreen) and screen.keeper.draft_id == draft_id
        assert screen.query_one("#to", Input).value == "ada@example.org"
        assert screen.query_one("#cc", Input).value == "alan@example.org"
        assert screen.query_one("#body", TextArea).text == "Shall we meet on Monday?\n"
        assert "plan.pdf" in str(screen.query_one("#attached").render())
        assert status(screen) == "Draft resumed"
        await pilot.press("ctrl+l")  # queue the resumed draft: it leaves the drafts
        await settle(pilot)
    assert drafts(app) == []
    [item] = outbox_items(app)
    assert item.rcpt_to == ("ada@example.org", "alan@example.org")


async def test_f6_n_starts_a_new_message_and_leaves_the_draft(make_app):
    app = make_app(accounts=[sample_account()])
    seed(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6", "n")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen) and app.screen.keeper.draft_id is None
        assert app.screen.query_one("#to", Input).value == ""
    assert len(drafts(app)) == 1


async def test_a_reply_offers_only_the_drafts_replying_to_the_same_message(make_app):
    app = make_app(accounts=[sample_account()])
    same = seed(app, subject="Re: Engines", in_reply_to="<m1@example.org>", body="my answer, half done")
    seed(app, subject="Re: Other", in_reply_to="<m2@example.org>")
    seed(app, subject="Unrelated")
    reply = Draft(sender="jane@example.org", to=("ada@example.org",), subject="Re: Engines",
                  body="\n\n> quoted\n", in_reply_to="<m1@example.org>")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        open_compose(app, reply, account="work")
        await pilot.pause()
        assert isinstance(app.screen, DraftsScreen)
        table = app.screen.query_one(DataTable)
        assert [str(k.value) for k in table.rows] == [str(same)]
        assert "of a reply to this message" in str(app.screen.query_one("#drafts-title").render())
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.query_one("#body", TextArea).text == "\n\n> quoted\n"
        await pilot.press("escape")  # an untouched reply: no question
        await pilot.pause()
        assert not isinstance(app.screen, (ComposeScreen, KeepDraft))
        open_compose(app, Draft(sender="", in_reply_to="<m9@example.org>", subject="Re: new"), account="work")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)  # no draft of that one: straight to compose


async def test_f7_lists_and_deletes_drafts(make_app):
    app = make_app(accounts=[sample_account()])
    first = seed(app, subject="First")
    second = seed(app, subject="Second", stamp="2026-01-06T09:30:00+00:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert [str(k.value) for k in table.rows] == [str(second), str(first)]  # newest first
        await pilot.press("d")
        await pilot.pause()
        assert type(app.screen).__name__ == "Confirm"
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, DraftsScreen)
        assert [str(k.value) for k in app.screen.query_one(DataTable).rows] == [str(first)]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DraftsScreen)
    assert [d.id for d in drafts(app)] == [first]


async def test_a_draft_open_in_compose_is_not_offered_twice(make_app):
    app = make_app(accounts=[sample_account()])
    draft_id = seed(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6", "enter")
        await pilot.pause()
        assert app.screen.keeper.draft_id == draft_id
        await pilot.press("f5", "c")  # outbox, then compose again with the draft still open
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen) and app.screen.keeper.draft_id is None


async def test_editing_an_outbox_message_keeps_changes_as_a_draft_of_it(make_app):
    app = make_app(accounts=[sample_account()])
    store = app.services.open_store()
    try:
        item = Outbox(store).enqueue(app.services.account("work"),
                                     Draft(sender="jane@example.org", to=("nobody@example.org",),
                                           subject="Minutes", body="See attached."))
    finally:
        store.close()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#to", Input).value = "ada@example.org"
        await pilot.pause()
        await pilot.press("escape", "k")
        await pilot.pause()
        [kept] = drafts(app)
        assert kept.outbox_id == item.id
        await pilot.press("f7", "enter")
        await pilot.pause()
        await pilot.press("ctrl+l")
        await settle(pilot)
    [only] = outbox_items(app)  # the same outbox row, changed; no second message
    assert only.id == item.id and only.rcpt_to == ("ada@example.org",)
    assert drafts(app) == []


async def test_a_draft_whose_outbox_message_was_sent_resumes_as_a_new_message(make_app):
    app = make_app(accounts=[sample_account()])
    store = app.services.open_store()
    try:
        box = Outbox(store)
        item = box.enqueue(app.services.account("work"), Draft(sender="jane@example.org", to=("a@example.org",),
                                                              subject="Minutes", body="v1"))
        box._set(item.id, status="sent")
    finally:
        store.close()
    app.services.drafts.save("work", Draft(sender="jane@example.org", to=("a@example.org",), subject="Minutes",
                                           body="v2"), outbox_id=item.id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f7", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen) and app.screen.keeper.outbox_id is None
        await pilot.press("ctrl+l")
        await settle(pilot)
    store = app.services.open_store()
    try:
        rows = {r["id"]: r["status"] for r in store.db["outbox"].rows}
    finally:
        store.close()
    assert rows[item.id] == "sent" and sorted(rows.values()) == ["queued", "sent"]
    assert drafts(app) == []


# ----- snapshots ----------------------------------------------------------------------------------
def test_drafts_list_snapshot(snap_compare, make_app, utc):
    app = make_app(accounts=[sample_account()])
    seed(app, subject="Engines", to=("Ada Lovelace <ada@example.org>",))
    seed(app, subject="", body="\nNotes from the meeting\n", to=(), stamp="2026-01-06T17:05:00+00:00")
    assert snap_compare(app, terminal_size=(80, 24), press=["f7"], run_before=settle)


def test_keep_draft_question_snapshot(snap_compare, make_app):
    app = make_app(accounts=[sample_account()])

    async def ask(pilot):
        await open_new_compose(pilot)
        await pilot.press(*"ada@example.org", "tab", "tab", "tab", *"Lunch", "escape")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=ask)
