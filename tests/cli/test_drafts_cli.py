"""`tamago drafts list|show|drop|send`: JSON shapes, human output and exit codes."""

from __future__ import annotations

import json

import pytest

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.config import Config
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.outbox import Outbox
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services
from tamago_tui.cli import main

LIST_KEYS = {"id", "account", "from", "to", "cc", "bcc", "subject", "preview", "attachments", "attached",
             "in_reply_to", "outbox_id", "created_at", "updated_at"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def services(tamago_home) -> Services:
    services = Services(Paths.resolve(tamago_home))
    # SMTP on a loopback port nothing listens on: sending fails fast, without any network.
    account = Account(name="work", email="jane@example.org",
                      imap=ServerSettings("127.0.0.1", 9, Security.SSL, "jane@example.org"),
                      smtp=ServerSettings("127.0.0.1", 9, Security.SSL, "jane@example.org"))
    services.save_config(Config().with_account(account))
    return services


def save(services, account="work", **values):
    draft = Draft(**{"sender": "jane@example.org", "to": ("Ada <ada@example.org>",), "subject": "Engines",
                     "body": "\nShall we meet on Monday?\n", **values})
    return services.drafts.save(account, draft)


def test_list_json_and_text(services, capsys):
    code, out, _ = run(capsys, "drafts", "list", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(capsys, "drafts", "list")
    assert (code, out.strip()) == (0, "There are no drafts.")

    first = save(services, attached=(("plan.pdf", "application/pdf", b"12345"),))
    second = save(services, subject="Second", account="")
    code, out, _ = run(capsys, "drafts", "list", "--json")
    data = json.loads(out)
    assert code == 0
    assert [d["id"] for d in data] == [second.id, first.id]  # newest first (same second: higher id)
    by_id = {d["id"]: d for d in data}
    assert set(by_id[first.id]) == LIST_KEYS
    assert by_id[first.id]["to"] == ["Ada <ada@example.org>"]
    assert by_id[first.id]["preview"] == "Shall we meet on Monday?"
    assert by_id[first.id]["attached"] == [{"filename": "plan.pdf", "content_type": "application/pdf", "size": 5}]
    assert by_id[second.id]["account"] is None
    code, out, _ = run(capsys, "drafts", "list")
    assert "Engines" in out and "Second" in out and out.startswith("ID")


def test_show_prints_the_whole_draft(services, capsys):
    saved = save(services, cc=("alan@example.org",), in_reply_to="<m1@example.org>",
                 references=("<m0@example.org>", "<m1@example.org>"))
    code, out, _ = run(capsys, "drafts", "show", str(saved.id), "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == LIST_KEYS | {"body", "references"}
    assert data["body"] == "\nShall we meet on Monday?\n"
    assert data["references"] == ["<m0@example.org>", "<m1@example.org>"]
    code, out, _ = run(capsys, "drafts", "show", str(saved.id))
    assert code == 0
    assert "Cc:          alan@example.org" in out and "In-Reply-To: <m1@example.org>" in out
    assert out.endswith("\nShall we meet on Monday?\n")


def test_drop(services, capsys):
    saved = save(services)
    code, out, _ = run(capsys, "drafts", "drop", str(saved.id), "--json")
    assert (code, json.loads(out)) == (0, {"id": saved.id, "dropped": True})
    assert services.drafts.list() == []
    code, _, err = run(capsys, "drafts", "drop", str(saved.id))
    assert code == 1 and f"No draft with id {saved.id}" in err


def test_send_later_moves_the_draft_to_the_outbox(services, capsys):
    saved = save(services, bcc=("boss@example.org",))
    code, out, err = run(capsys, "drafts", "send", str(saved.id), "--later", "--json")
    item = json.loads(out)
    assert code == 0, err
    assert item["status"] == "queued" and item["subject"] == "Engines"
    assert item["to"] == ["ada@example.org", "boss@example.org"]
    assert services.drafts.list() == []
    store = services.open_store()
    try:
        assert [i.id for i in Outbox(store).items()] == [item["id"]]
    finally:
        store.close()


def test_send_that_fails_leaves_the_message_in_the_outbox(services, capsys):
    saved = save(services)
    code, _, err = run(capsys, "drafts", "send", str(saved.id))
    assert code == 1
    assert "Not sent (failed)" in err and "stays in the outbox" in err
    assert services.drafts.list() == []  # it is in the outbox now, with its error
    store = services.open_store()
    try:
        [item] = Outbox(store).items()
    finally:
        store.close()
    assert item.status == "failed" and item.last_error


def test_usage_errors_exit_2(services, capsys):
    saved = save(services, account="")
    code, _, err = run(capsys, "drafts", "send", str(saved.id))
    assert code == 2 and "has no account" in err
    bad = save(services, to=("not an address",))
    code, _, err = run(capsys, "drafts", "send", str(bad.id), "--later")
    assert code == 2 and "not a valid email address" in err
    assert {d.id for d in services.drafts.list()} == {saved.id, bad.id}  # nothing was lost
    with pytest.raises(SystemExit) as caught:
        main(["drafts", "show", "seven"])
    assert caught.value.code == 2
