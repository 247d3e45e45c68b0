"""`tamago accounts add --auth oauth2`, `oauth login` and `accounts test` against Dovecot and the
SMTP server, both checking tokens with the loopback IdP's introspection endpoint."""

from __future__ import annotations

import json
import tomllib

import pytest

from tamago_tui.backend import config as config_mod
from tamago_tui.backend.config import Config
from tamago_tui.backend.paths import Paths
from tamago_tui.cli import main
from tests.oauth_helpers import approve_when_asked
from tests.servers.oauth_server import TEST_CLIENT_ID

pytestmark = pytest.mark.servers


@pytest.fixture
def servers(oauth_dovecot, oauth_smtp):
    return oauth_dovecot, oauth_smtp


@pytest.fixture
def home(tamago_home, idp, monkeypatch):
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "master-passphrase-for-tests")
    # The IdP signs in every address at example.test, as Google does for gmail.com.
    config = Config(oauth={"test": idp.provider_table(TEST_CLIENT_ID, domains=["example.test"])})
    config_mod.save(config, Paths.resolve(tamago_home).config_file)
    return tamago_home


def options(servers, test_ca) -> list[str]:
    dovecot, smtp = servers
    return ["--imap-host", "localhost", "--imap-port", str(dovecot.ports["imaps"]), "--imap-security", "ssl",
            "--smtp-host", "localhost", "--smtp-port", str(smtp.ports["smtps"]), "--smtp-security", "ssl",
            "--cafile", str(test_ca.cafile), "--name", "alice"]


def saved(home) -> dict:
    return tomllib.loads((home / "config.toml").read_text())


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_add_sign_in_and_test_an_oauth_account(home, servers, test_ca, idp, capsys, mechanism):
    assert main(["accounts", "add", "alice@example.test", *options(servers, test_ca), "--auth", "oauth2",
                 "--oauth-mechanism", mechanism.lower()]) == 0
    captured = capsys.readouterr()
    assert f"will use {mechanism}" in captured.out  # the AUTH step checked the server offers it
    assert "tamago oauth login alice" in captured.err
    table = saved(home)["accounts"]["alice"]
    assert table["auth"] == "oauth2" and table["oauth_mechanism"] == mechanism
    assert saved(home)["oauth"]["test"]["client_id"] == TEST_CLIENT_ID  # other tables survive the save

    thread = approve_when_asked(idp)
    assert main(["oauth", "login", "alice"]) == 0
    thread.join(10)
    capsys.readouterr()

    assert main(["accounts", "test", "alice", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    logins = {s["protocol"]: s for s in report["steps"] if s["name"] == "Login"}
    assert logins["imap"]["status"] == "ok" and mechanism in logins["imap"]["detail"]
    assert logins["smtp"]["status"] == "ok" and mechanism in logins["smtp"]["detail"]
    assert idp.calls[("introspect", "")] >= 2  # Dovecot and the SMTP server both asked
    secrets = [*idp.refresh_tokens, *idp.access_tokens]
    assert {"config.toml", "tamago.db", "tamago.log", "secrets.enc"} <= {p.name for p in home.iterdir()}
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [s for s in secrets if s.encode() in data], path


def test_add_with_a_token_command_logs_in_for_real(home, servers, test_ca, idp, tmp_path, capsys):
    token_file = tmp_path / "token"
    token_file.write_text(idp._issue("alice@example.test", TEST_CLIENT_ID, "mail")["access_token"] + "\n")
    assert main(["accounts", "add", "alice@example.test", *options(servers, test_ca),
                 "--token-command", f"cat {token_file}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and [s["status"] for s in report["steps"] if s["name"] == "Login"] == ["ok", "ok"]
    table = saved(home)["accounts"]["alice"]
    assert table["auth"] == "oauth2" and table["token_command"] == f"cat {token_file}"
    assert "INBOX" in table["folders"]


def test_a_refused_token_is_not_saved(home, servers, test_ca, tmp_path, capsys):
    token_file = tmp_path / "token"
    token_file.write_text("at-not-issued-by-anyone\n")
    assert main(["accounts", "add", "alice@example.test", *options(servers, test_ca),
                 "--token-command", f"cat {token_file}", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["category"] == "invalid_credentials"
    assert [(s["protocol"], s["name"]) for s in report["steps"] if s["status"] == "fail"][0] == ("imap", "Login")
    assert "alice" not in saved(home).get("accounts", {})


def test_oauth_and_password_options_do_not_mix(home, capsys):
    assert main(["accounts", "add", "alice@example.test", "--auth", "oauth2", "--password-stdin"]) == 2
    assert main(["accounts", "add", "alice@example.test", "--auth", "password", "--token-command", "x"]) == 2
