"""`tamago send` and `tamago outbox` as subprocesses against the real servers: JSON shapes, exit codes.

The password comes from the encrypted secret store (no desktop keyring in tests),
unlocked through TAMAGO_MASTER_PASSWORD, or from a password_command.
"""

from __future__ import annotations

import json
import shlex

import pytest

from tests.diagnostics.clihelp import home_files_contain, tamago
from tests.integration.send_rig import MASTER, Rig, account_for, fetch_messages

pytestmark = pytest.mark.servers

ITEM_KEYS = {"id", "account", "message_id", "to", "subject", "status", "attempts", "error", "category",
             "rejected", "created_at", "sent_at", "sent_copy"}
ENV = {"TAMAGO_MASTER_PASSWORD": MASTER}


@pytest.fixture
def rig(tamago_home, monkeypatch, me, dovecot, smtp_server, test_ca):
    return Rig.make(tamago_home, monkeypatch, account_for(me, dovecot, smtp_server, test_ca), me.password)


def send(*args, body="Hello from the command line.\n"):
    result = tamago("send", "--account", "me", *args, "--json", stdin=body, env=ENV)
    return result.returncode, json.loads(result.stdout) if result.stdout else None, result.stderr


def outbox(*args, env=ENV):
    result = tamago("outbox", *args, env=env)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


def test_send_prints_the_outbox_item_and_delivers(rig, me, friend, dovecot, smtp_server, tmp_path, tamago_home):
    report = tmp_path / "report.csv"
    report.write_text("quarter,total\nQ1,12\n")
    code, item, err = send("--to", friend.address, "--cc", f"Me Too <{me.address}>", "--subject", "Report",
                           "--attach", str(report))

    assert code == 0, err
    assert set(item) == ITEM_KEYS
    assert item["status"] == "sent"
    assert (item["account"], item["subject"], item["attempts"]) == ("me", "Report", 1)
    assert item["to"] == [friend.address, me.address]
    assert (item["error"], item["category"], item["rejected"]) == (None, None, {})
    assert item["sent_copy"] == "saved"
    assert item["sent_at"] and item["created_at"]
    dovecot.wait_for_message(friend)
    [(msg, _)] = fetch_messages(dovecot, friend)
    assert msg["Message-ID"] == item["message_id"]
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hello from the command line.\n"
    assert [p.get_filename() for p in msg.iter_attachments()] == ["report.csv"]
    assert len(smtp_server.messages()) == 1
    # Sent mail leaves the outbox list; --all still shows it.
    assert outbox("list", "--json")[:2] == (0, [])
    code, everything, _ = outbox("list", "--all", "--json")
    assert [i["id"] for i in everything] == [item["id"]] and set(everything[0]) == ITEM_KEYS
    assert home_files_contain(tamago_home, me.password) == []


def test_rejected_recipient_exits_1_keeps_the_message_and_retry_sends(rig, friend, smtp_server):
    nobody = "nobody@example.test"
    smtp_server.configure(reject_recipients=[nobody])
    code, item, err = send("--to", friend.address, "--cc", nobody, "--subject", "Both")

    assert code == 1
    assert item["status"] == "failed"
    assert list(item["rejected"]) == [nobody] and item["rejected"][nobody].startswith("550 5.1.1")
    assert nobody in item["error"] and "550" in item["error"]
    assert item["category"] == "sender_rejected"
    code, listed, _ = outbox("list", "--json")
    assert code == 0 and [i["id"] for i in listed] == [item["id"]]
    assert listed[0]["rejected"] == item["rejected"]
    assert smtp_server.messages() == []

    smtp_server.configure(reject_recipients=[])
    code, retried, err = outbox("retry", str(item["id"]), "--json")
    assert code == 0, err
    assert (retried["id"], retried["status"], retried["attempts"], retried["rejected"]) == (item["id"], "sent", 2, {})
    assert len(smtp_server.messages()) == 1


def test_temporary_failure_then_retry(rig, friend, smtp_server):
    smtp_server.configure(tempfail=1)
    code, item, _ = send("--to", friend.address, "--subject", "451")
    assert (code, item["status"]) == (1, "failed")
    assert "451" in item["error"]

    code, retried, _ = outbox("retry", str(item["id"]), "--json")
    assert (code, retried["status"]) == (0, "sent")
    assert len(smtp_server.messages()) == 1


def test_uncertain_needs_force_and_human_output(rig, friend, smtp_server):
    smtp_server.configure(drop_after_data=1)
    code, item, _ = send("--to", friend.address, "--subject", "Dropped")
    assert (code, item["status"]) == (1, "uncertain")
    assert len(smtp_server.messages()) == 1

    refused = tamago("outbox", "retry", str(item["id"]), env=ENV)
    assert refused.returncode == 2
    assert "--force" in refused.stderr and refused.stdout == ""
    assert len(smtp_server.messages()) == 1

    listed = tamago("outbox", "list", env=ENV)
    assert listed.returncode == 0
    assert "uncertain" in listed.stdout and "Dropped" in listed.stdout

    forced = tamago("outbox", "retry", str(item["id"]), "--force", env=ENV)
    assert forced.returncode == 0
    assert forced.stdout.strip() == f"Sent message {item['id']}."
    assert len(smtp_server.messages()) == 2


def test_drop(rig, friend, smtp_server):
    smtp_server.configure(tempfail=1)
    _, item, _ = send("--to", friend.address, "--subject", "Never mind")
    assert outbox("drop", str(item["id"]), "--json")[:2] == (0, {"id": item["id"], "dropped": True})
    assert outbox("list", "--all", "--json")[:2] == (0, [])
    code, _, err = outbox("retry", str(item["id"]), "--json")
    assert code == 1 and f"No outbox message with id {item['id']}" in err


def test_bad_password_exits_1_with_category(rig, friend, smtp_server):
    rig.set_password("wrong-password")
    code, item, err = send("--to", friend.address, "--subject", "Locked out")
    assert code == 1
    assert (item["status"], item["category"]) == ("failed", "invalid_credentials")
    assert "wrong-password" not in json.dumps(item) + err
    assert smtp_server.messages() == []


def test_password_command_account(tamago_home, monkeypatch, me, friend, dovecot, smtp_server, test_ca):
    account = account_for(me, dovecot, smtp_server, test_ca).with_(
        password_command=f"printf '%s\\n' {shlex.quote(me.password)}")
    rig = Rig.make(tamago_home, monkeypatch, account, "unused-stored-password")
    result = tamago("send", "--account", me.address, "--to", friend.address, "--subject", "Via command",
                    stdin="body", env={"TAMAGO_MASTER_PASSWORD": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Sent message 1 to ")
    assert me.password not in result.stdout + result.stderr
    assert rig.services.paths.log_file.exists()
    assert me.password not in rig.services.paths.log_file.read_text()
    assert len(smtp_server.messages()) == 1


def test_usage_errors_exit_2(rig):
    result = tamago("send", "--account", "me", "--subject", "nobody to send to", stdin="x", env=ENV)
    assert result.returncode == 2 and "at least one recipient" in result.stderr
    result = tamago("send", "--account", "me", "--to", "not an address", stdin="x", env=ENV)
    assert result.returncode == 2 and "not a valid email address" in result.stderr
    assert tamago("outbox", "frobnicate", env=ENV).returncode == 2
