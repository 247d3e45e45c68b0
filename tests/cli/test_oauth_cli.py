"""`tamago oauth login|status|logout` end to end: the real secret store (encrypted file, as on
a headless machine), the loopback IdP, and the person's side played by the test."""

from __future__ import annotations

import io
import json
import threading

import pytest

from tamago_tui.backend import oauth
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.secrets import SecretStore
from tamago_tui.backend.services import Services
from tamago_tui.cli import main
from tamago_tui.cli import oauth as cli_oauth
from tests.oauth_helpers import approve_when_asked, browser_redirect, visit


@pytest.fixture
def home(headless_home):
    return headless_home


@pytest.fixture
def browser(monkeypatch):
    """Stands in for the person's browser: records the URL it was asked to open."""
    opened: list[str] = []
    monkeypatch.setattr(cli_oauth, "can_open_browser", lambda: True)
    monkeypatch.setattr(cli_oauth, "open_browser", lambda url: opened.append(url) or True)
    return opened


def stored_grant(home) -> oauth.Grant | None:
    services = Services(Paths.resolve(home), log_to_file=False)
    return oauth.load_grant(SecretStore.for_services(services), "alice")


def all_bytes_under(home) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_device_login_status_and_logout(home, idp, capsys):
    thread = approve_when_asked(idp)
    assert main(["oauth", "login", "alice"]) == 0  # the test provider's default flow is device
    thread.join(10)
    out = capsys.readouterr().out
    assert idp.url("/device") in out and "enter the code" in out and "Signed in alice@example.test" in out
    [refresh_token] = idp.refresh_tokens
    assert stored_grant(home).refresh_token == refresh_token

    assert main(["oauth", "status", "alice", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["signed_in"] is True and status["provider"] == "test" and status["source"] == "refresh_token"
    assert status["scopes"] == ["mail", "offline_access"]

    # Secrets never reach the config file, the database or the log; the secret store is encrypted.
    files = all_bytes_under(home)
    assert "config.toml" in files and "tamago.log" in files and "secrets.enc" in files
    assert b"Signed in alice with test" in files["tamago.log"]
    for secret in [refresh_token, *idp.access_tokens]:
        for name, data in files.items():
            assert secret.encode() not in data, name

    assert main(["oauth", "logout", "alice"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert not idp.refresh_tokens[refresh_token].active and stored_grant(home) is None
    assert main(["oauth", "status", "alice"]) == 1
    assert "tamago oauth login alice" in capsys.readouterr().out


def test_loopback_login_through_the_listener(home, idp, browser, capsys, monkeypatch):
    def follow(url):
        browser.append(url)
        location = browser_redirect(url)
        threading.Thread(target=visit, args=(location,), daemon=True).start()
        return True

    monkeypatch.setattr(cli_oauth, "open_browser", follow)
    assert main(["oauth", "login", "alice", "--flow", "loopback", "--wait", "20"]) == 0
    out = capsys.readouterr().out
    [url] = browser
    assert url in out and "ssh -L " in out and "127.0.0.1:" in out
    assert stored_grant(home) is not None
    assert idp.calls[("token", "authorization_code")] == 1


def test_paste_login(home, idp, browser, capsys, monkeypatch):
    class Stdin(io.StringIO):
        def readline(self, *args):
            return browser_redirect(browser[0]) + "\n"

    monkeypatch.setattr("sys.stdin", Stdin())
    assert main(["oauth", "login", "alice", "--flow", "paste", "--port", "8765"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8765/" in out and "paste it here" in out
    assert stored_grant(home) is not None


def test_no_browser_is_respected(home, idp, browser, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["oauth", "login", "alice", "--flow", "paste", "--no-browser"]) == 2
    assert browser == []


def test_usage_errors(home, idp, capsys):
    assert main(["oauth", "login", "pw"]) == 2
    assert "not OAuth" in capsys.readouterr().err
    assert main(["oauth", "login", "alice", "--port", "70000"]) == 2


def test_sign_in_error_is_classified(home, idp, capsys):
    idp.fail_next("device", "invalid_request", "AADSTS90094: The grant requires admin permission.")
    assert main(["oauth", "login", "alice"]) == 1
    err = capsys.readouterr().err
    assert "consent_required" in err and "AADSTS90094" in err
    assert "Fix: " in err and "  1. " in err  # the troubleshooting guide
