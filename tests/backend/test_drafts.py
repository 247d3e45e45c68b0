"""The drafts store: save, update, list, delete, and queue to the outbox in one step."""

from __future__ import annotations

import threading

import pytest

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.config import Config
from tamago_tui.backend.drafts import DraftKeeper, has_content
from tamago_tui.backend.errors import NotFound, UsageError
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.outbox import Outbox
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services

ADA = "Ada Lovelace <ada@example.org>"


def account(name="work", email="jane@example.org") -> Account:
    return Account(name=name, email=email,
                   imap=ServerSettings("imap.example.org", 993, Security.SSL, email),
                   smtp=ServerSettings("smtp.example.org", 587, Security.STARTTLS, email))


@pytest.fixture
def services(tamago_home) -> Services:
    return Services(Paths.resolve(tamago_home), Config().with_account(account()))


def reply_draft(**changes) -> Draft:
    values = dict(sender="jane@example.org", to=(ADA,), cc=("alan@example.org",), bcc=("boss@example.org",),
                  subject="Re: Engines", body="Yes.\n\n> Shall we meet?\n", attachments=("/tmp/notes.txt",),
                  attached=(("plan.pdf", "application/pdf", b"%PDF-1.4 plan"),),
                  in_reply_to="<m1@example.org>", references=("<m0@example.org>", "<m1@example.org>"))
    values.update(changes)
    return Draft(**values)


def outbox_items(services):
    store = services.open_store()
    try:
        return Outbox(store).items()
    finally:
        store.close()


def test_a_saved_draft_reads_back_with_everything_compose_holds(services):
    saved = services.drafts.save("work", reply_draft())
    again = services.drafts.get(saved.id)
    assert again.account == "work"
    assert again.draft == reply_draft()  # addresses, subject, body, paths, bytes, reply context
    assert again.created_at and again.updated_at
    [listed] = services.drafts.list()
    assert listed.id == saved.id and listed.draft.attached == ()  # the list leaves the bytes in the store
    assert [(a.filename, a.size) for a in listed.attached_info] == [("plan.pdf", 13)]
    assert listed.as_json()["to"] == [ADA] and listed.preview == "Yes."


def test_saving_again_updates_the_same_draft(services):
    first = services.drafts.save("work", reply_draft(body="first"))
    second = services.drafts.save("work", reply_draft(body="second", attached=()), draft_id=first.id)
    assert second.id == first.id
    assert second.created_at == first.created_at
    assert [d.draft.body for d in services.drafts.list()] == ["second"]
    assert services.drafts.get(first.id).draft.attached == ()  # the removed attachment is gone


def test_a_draft_deleted_elsewhere_is_saved_again_rather_than_lost(services):
    first = services.drafts.save("work", reply_draft(body="one"))
    services.drafts.delete(first.id)
    again = services.drafts.save("work", reply_draft(body="two"), draft_id=first.id)
    assert services.drafts.get(again.id).draft.body == "two"


def test_delete_and_missing_ids(services):
    saved = services.drafts.save("", Draft(sender="", body="x"))
    services.drafts.delete(saved.id)
    assert services.drafts.list() == []
    with pytest.raises(NotFound):
        services.drafts.delete(saved.id)
    with pytest.raises(NotFound):
        services.drafts.get(saved.id)


def test_queue_moves_the_draft_to_the_outbox_in_one_step(services):
    saved = services.drafts.save("work", reply_draft(attachments=()))
    item = services.drafts.queue_saved(saved.id)
    assert services.drafts.list() == []
    [queued] = outbox_items(services)
    assert queued.id == item.id and queued.subject == "Re: Engines"
    assert queued.rcpt_to == ("ada@example.org", "alan@example.org", "boss@example.org")
    store = services.open_store()
    try:
        raw = Outbox(store).raw(item.id)
    finally:
        store.close()
    assert b"In-Reply-To: <m1@example.org>" in raw and b'filename="plan.pdf"' in raw


def test_a_draft_that_cannot_be_built_stays_a_draft(services):
    saved = services.drafts.save("work", reply_draft(to=("not an address",)))
    with pytest.raises(UsageError):
        services.drafts.queue_saved(saved.id)
    assert [d.id for d in services.drafts.list()] == [saved.id]
    assert outbox_items(services) == []


def test_the_draft_stays_when_the_outbox_write_fails(services, monkeypatch):
    """The outbox row and the draft's deletion are one transaction: a failure keeps the draft."""
    saved = services.drafts.save("work", reply_draft(attachments=()))
    original = Outbox.enqueue_message

    def failing(self, *args, then=None, **kwargs):
        def then_fail(db):
            then(db)
            raise RuntimeError("power cut")

        return original(self, *args, then=then_fail, **kwargs)

    monkeypatch.setattr(Outbox, "enqueue_message", failing)
    with pytest.raises(RuntimeError):
        services.drafts.queue_saved(saved.id)
    assert [d.id for d in services.drafts.list()] == [saved.id]
    assert outbox_items(services) == []


def test_a_draft_without_an_account_is_refused_by_send(services):
    saved = services.drafts.save("", reply_draft())
    with pytest.raises(UsageError, match="no account"):
        services.drafts.queue_saved(saved.id)
    gone = services.drafts.save("home", reply_draft())
    with pytest.raises(UsageError, match="no\\s+longer exists"):
        services.drafts.queue_saved(gone.id)


def test_a_draft_of_an_outbox_message_replaces_it(services):
    store = services.open_store()
    try:
        item = Outbox(store).enqueue(account(), reply_draft(attachments=(), to=("nobody@example.org",)))
    finally:
        store.close()
    keeper = DraftKeeper(services.drafts, outbox_id=item.id)
    keeper.save(keeper.next_snapshot(), "work", reply_draft(attachments=(), to=("ada@example.org",)))
    services.drafts.queue_saved(keeper.draft_id)
    [only] = outbox_items(services)
    assert only.id == item.id and only.rcpt_to[0] == "ada@example.org"


def test_keeper_never_lets_an_older_snapshot_win(services):
    keeper = DraftKeeper(services.drafts)
    old, new = keeper.next_snapshot(), keeper.next_snapshot()
    assert keeper.save(new, "work", reply_draft(body="newer")) is not None
    assert keeper.save(old, "work", reply_draft(body="older")) is None
    assert [d.draft.body for d in services.drafts.list()] == ["newer"]


def test_keeper_saves_from_threads_into_one_draft(services):
    keeper = DraftKeeper(services.drafts)
    snapshots = [(keeper.next_snapshot(), f"body {i}") for i in range(8)]
    threads = [threading.Thread(target=keeper.save, args=(n, "work", reply_draft(body=b))) for n, b in snapshots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drafts = services.drafts.list()
    assert len(drafts) == 1
    # Whatever order the threads ran in, the newest snapshot is the one kept.
    assert drafts[0].draft.body == "body 7"


def test_keeper_saves_nothing_after_queue_or_discard(services):
    keeper = DraftKeeper(services.drafts)
    keeper.save(keeper.next_snapshot(), "work", reply_draft(attachments=()))
    keeper.queue(account(), reply_draft(attachments=()))
    assert keeper.save(keeper.next_snapshot(), "work", reply_draft()) is None
    assert services.drafts.list() == [] and len(outbox_items(services)) == 1

    other = DraftKeeper(services.drafts)
    other.save(other.next_snapshot(), "work", reply_draft(body="scrap"))
    other.discard()
    assert other.save(other.next_snapshot(), "work", reply_draft()) is None
    assert services.drafts.list() == []


def test_related_drafts_for_reply_forward_and_new(services):
    reply = services.drafts.save("work", reply_draft())
    other = services.drafts.save("work", reply_draft(in_reply_to="<zz@example.org>"))
    fwd = services.drafts.save("work", Draft(sender="", subject="Fwd: Engines", references=("<m1@example.org>",)))
    assert {d.id for d in services.drafts.related(None)} == {reply.id, other.id, fwd.id}
    assert [d.id for d in services.drafts.related(reply_draft(body=""))] == [reply.id]
    assert [d.id for d in services.drafts.related(Draft(sender="", references=("<m1@example.org>",)))] == [fwd.id]


def test_has_content():
    assert not has_content(Draft(sender="jane@example.org", body="  \n"))
    assert has_content(Draft(sender="", body="hi"))
    assert has_content(Draft(sender="", attachments=("a.txt",)))


def test_a_draft_of_an_outbox_message_that_was_sent_meanwhile_is_not_queued(services):
    store = services.open_store()
    try:
        box = Outbox(store)
        item = box.enqueue(account(), reply_draft(attachments=()))
        box._set(item.id, status="sent")
    finally:
        store.close()
    saved = services.drafts.save("work", reply_draft(attachments=(), body="changed"), outbox_id=item.id)
    with pytest.raises(UsageError, match="is sent now"):
        services.drafts.queue_saved(saved.id)
    assert [d.id for d in services.drafts.list()] == [saved.id]
    assert services.drafts.outbox_status(item.id) == "sent"
    # Dropped from the outbox instead: the draft goes in as a new message.
    store = services.open_store()
    try:
        Outbox(store).drop(item.id)
    finally:
        store.close()
    assert services.drafts.outbox_status(item.id) is None
    fresh = services.drafts.queue_saved(saved.id)
    assert fresh.status == "queued" and services.drafts.list() == []
    store = services.open_store()
    try:
        assert b"changed" in Outbox(store).raw(fresh.id)
    finally:
        store.close()
