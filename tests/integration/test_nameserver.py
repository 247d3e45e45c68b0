"""The `nameserver` setting reaches every connection, not just the connection test.

The account's servers are named `imap-only-here.example.test`, a name that only
the test's own DNS server (dnsmasq on loopback) knows. With `nameserver` set,
the connection test, `tamago sync` (IMAP) and `tamago send` (SMTP and the Sent
copy) all find it there; without it, sync fails as a DNS failure, as the
connection test would. Before, the test passed and the sync failed.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tamago_tui.backend.models import Security, ServerSettings
from tests.diagnostics.clihelp import tamago
from tests.integration.send_rig import MASTER, Rig, account_for, fetch_messages

pytestmark = pytest.mark.servers

HOST = "imap-only-here.example.test"  # covered by the test certificate's *.example.test
ENV = {"TAMAGO_MASTER_PASSWORD": MASTER}


@pytest.fixture
def rig(tamago_home, monkeypatch, me, dovecot, smtp_server, test_ca, dns_factory):
    dns = dns_factory().add_a(HOST).start()
    account = account_for(me, dovecot, smtp_server, test_ca)
    account = replace(account, imap=replace(account.imap, host=HOST),
                      smtp=ServerSettings(HOST, smtp_server.ports["submission"], Security.STARTTLS, me.login))
    made = Rig.make(tamago_home, monkeypatch, account, me.password)
    config = made.services.config
    made.services.save_config(replace(config, settings=replace(config.settings, nameserver=dns.nameserver)))
    return made


def set_nameserver(rig: Rig, value: str) -> None:
    config = rig.services.config
    rig.services.save_config(replace(config, settings=replace(config.settings, nameserver=value)))


def test_sync_and_send_resolve_the_server_at_the_configured_nameserver(rig, me, friend, dovecot):
    dovecot.append(me, "INBOX", f"From: {friend.address}\r\nTo: {me.address}\r\n"
                   "Subject: Found via the nameserver\r\n\r\nHi.\r\n".encode())

    synced = tamago("sync", "--json", env=ENV)
    assert synced.returncode == 0, synced.stderr
    report = json.loads(synced.stdout)
    assert report["ok"] is True
    [inbox] = [f for f in report["accounts"][0]["folders"] if f["folder"] == "INBOX"]
    assert inbox["new"] == 1

    sent = tamago("send", "--account", "me", "--to", friend.address, "--subject", "Sent via the nameserver",
                  "--json", stdin="Hello.\n", env=ENV)
    assert sent.returncode == 0, sent.stderr
    item = json.loads(sent.stdout)
    assert (item["status"], item["sent_copy"]) == ("sent", "saved")
    dovecot.wait_for_message(friend)
    assert [m["Subject"] for m, _ in fetch_messages(dovecot, friend)] == ["Sent via the nameserver"]


def test_without_the_nameserver_the_same_sync_is_a_dns_failure(rig):
    set_nameserver(rig, "")
    synced = tamago("sync", env=ENV)
    assert synced.returncode == 1
    assert "dns_failure" in synced.stdout and HOST in synced.stdout
