"""`tamago sync`, `tamago history` and `tamago show MESSAGE_ID` against the real Dovecot."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tamago_tui.cli import main

from .conftest import ADA, OTHER, message
from tests.loopback import unused_port

pytestmark = pytest.mark.servers

FOLDER_KEYS = {"folder", "new", "updated", "expunged", "uidvalidity_reset", "unchanged", "partial", "commands",
               "error", "category"}
ACCOUNT_KEYS = {"account", "ok", "error", "category", "guide", "round_trips", "cached", "cancelled", "folders"}
HISTORY_KEYS = ["message_id", "account", "folder", "uid", "date", "from", "to", "cc", "subject", "size",
                "has_attachments"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sync_json_summary_and_a_second_run_changes_nothing(capsys, dovecot, imap_user, add_account):
    dovecot.append_many(imap_user, "INBOX", [message(subject="a"), message(subject="b")])
    add_account(dovecot, imap_user)

    code, out, _ = run_cli(capsys, "sync", "--json")

    assert code == 0
    summary = json.loads(out)
    assert summary["ok"] is True and len(summary["accounts"]) == 1
    account = summary["accounts"][0]
    assert set(account) == ACCOUNT_KEYS and all(set(f) == FOLDER_KEYS for f in account["folders"])
    assert {f["folder"]: f["new"] for f in account["folders"]} == {"INBOX": 2, "Sent": 0}

    code, out, _ = run_cli(capsys, "sync", "--json", "--account", imap_user.address)
    again = json.loads(out)["accounts"][0]
    assert code == 0 and all(f["unchanged"] and f["new"] == 0 for f in again["folders"])


def test_sync_exits_1_when_an_account_fails_and_still_syncs_the_others(
    capsys, dovecot, imap_user, add_account
):
    dovecot.append(imap_user, "INBOX", message(subject="ok"))
    add_account(dovecot, imap_user, name="good")
    add_account(dovecot, imap_user, name="bad", port=unused_port())

    code, out, err = run_cli(capsys, "sync", "--json")

    assert out, err
    accounts = {a["account"]: a for a in json.loads(out)["accounts"]}
    assert code == 1
    assert accounts["good"]["ok"] and accounts["good"]["folders"][0]["new"] == 1
    assert not accounts["bad"]["ok"] and accounts["bad"]["category"] == "connection_refused"


def test_sync_for_one_contact_searches_where_the_index_is_not_complete(capsys, dovecot, imap_user, add_account):
    dovecot.append_many(imap_user, "INBOX", [message(subject="hers"), message(sender=OTHER, subject="not hers")])
    add_account(dovecot, imap_user)
    run_cli(capsys, "contacts", "add", "Ada Lovelace", "--email", ADA.address)

    code, out, _ = run_cli(capsys, "sync", "--contact", "Ada Lovelace", "--json")

    inbox = json.loads(out)["accounts"][0]["folders"][0]
    assert code == 0 and inbox["partial"] is True and inbox["new"] == 1
    code, out, _ = run_cli(capsys, "history", ADA.address, "--json")
    assert [row["subject"] for row in json.loads(out)] == ["hers"]


def test_sync_text_output_for_people(capsys, dovecot, imap_user, add_account):
    add_account(dovecot, imap_user)
    code, out, _ = run_cli(capsys, "sync")
    assert code == 0
    assert out.splitlines()[0].split() == ["ACCOUNT", "FOLDER", "NEW", "UPDATED", "EXPUNGED", "STATUS"]


def test_history_fetches_then_lists_with_the_exact_keys(capsys, dovecot, imap_user, add_account):
    dovecot.append_many(imap_user, "INBOX", [
        message(subject="Newer", days_ago=1), message(subject="Older", days_ago=3),
        message(sender=OTHER, subject="Not hers"),
    ])
    add_account(dovecot, imap_user)
    run_cli(capsys, "contacts", "add", "Ada Lovelace", "--email", ADA.address)

    code, out, _ = run_cli(capsys, "history", "Ada Lovelace", "--json")

    rows = json.loads(out)
    assert code == 0
    assert [list(row) for row in rows] == [HISTORY_KEYS, HISTORY_KEYS]
    assert [row["subject"] for row in rows] == ["Newer", "Older"]
    assert rows[0]["from"] == "Ada Lovelace <ada@partner.test>" and rows[0]["to"] == ["Test User <me@example.test>"]
    assert rows[0]["folder"] == "INBOX" and isinstance(rows[0]["uid"], int) and rows[0]["has_attachments"] is False


def test_show_message_id_caches_and_prints_the_show_json(capsys, dovecot, imap_user, add_account):
    dovecot.append(imap_user, "INBOX", message(
        subject="Show me", body="Readable text.", message_id="<show-1@partner.test>",
        attachments=(("data.csv", "text", "csv", b"a,b\r\n1,2\r\n"),)))
    add_account(dovecot, imap_user)
    run_cli(capsys, "sync")

    code, out, _ = run_cli(capsys, "show", "<show-1@partner.test>", "--json")

    shown = json.loads(out)
    assert code == 0
    assert {"subject", "from", "to", "cc", "date", "text", "attachments"} <= set(shown)
    assert shown["subject"] == "Show me" and "Readable text." in shown["text"]
    assert [(a["filename"], a["content_type"]) for a in shown["attachments"]] == [("data.csv", "text/csv")]
    assert {"filename", "content_type", "size"} <= set(shown["attachments"][0])
    # Without the brackets, and now from the cache.
    code, out, _ = run_cli(capsys, "show", "show-1@partner.test", "--json")
    assert code == 0 and json.loads(out)["subject"] == "Show me"


def test_show_an_unknown_message_id_is_a_diagnosed_failure(capsys):
    code, _, err = run_cli(capsys, "show", "nobody@nowhere.example", "--json")
    assert code == 1 and "not in the local index" in err


def test_sync_without_accounts_says_how_to_add_one(capsys):
    code, _, err = run_cli(capsys, "sync")
    assert code == 1 and "tamago accounts add" in err


def test_sync_command_does_not_import_the_tui(tamago_home):
    code = (
        "import sys\n"
        "from tamago_tui.cli import main\n"
        "try:\n"
        "    main(['sync', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1:] in ([""], []), result.stdout
