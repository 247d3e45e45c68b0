"""`tamago explain`: the CLI contract (text, stdin, --provider, --json, exit codes)."""

from __future__ import annotations

import io
import json

import pytest

from tamago_tui.backend.troubleshoot import PROVIDERS
from tamago_tui.cli import COMMANDS, main

GMAIL_APP_PASSWORD = (
    "NO [ALERT] Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)"
)


def test_explain_is_a_command():
    assert "explain" in COMMANDS


def test_json_output(capsys):
    assert main(["explain", GMAIL_APP_PASSWORD, "--provider", "gmail", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"category", "confidence", "title", "steps", "links"} <= set(data)
    assert data["category"] == "app_password_required"
    assert 0 < data["confidence"] <= 1
    assert data["provider"] == "gmail"
    assert any("apppasswords" in step for step in data["steps"])
    assert "https://support.google.com/accounts/answer/185833" in data["links"]


def test_human_output_has_title_cause_numbered_steps_and_links(capsys):
    assert main(["explain", GMAIL_APP_PASSWORD, "--provider", "gmail"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Gmail needs an app password")
    assert "Cause: " in out
    assert "\n  1. " in out and "\n  2. " in out
    assert "Links:" in out and "https://support.google.com/accounts/answer/185833" in out


def test_text_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
                                                 "is disabled for the Tenant.\n"))
    assert main(["explain", "-", "--json", "--provider", "office365"]) == 0
    assert json.loads(capsys.readouterr().out)["category"] == "smtp_auth_disabled"


def test_unrecognised_text_still_gets_the_generic_guide(capsys):
    assert main(["explain", "Something went wrong.", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["category"] == "unknown"
    assert data["confidence"] == 0
    assert any("administrator" in step for step in data["steps"])


def test_context_flags(capsys):
    assert main(["explain", "timed out", "--port", "993", "--security", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["category"] == "tls_mismatch"


def test_unknown_provider_is_a_usage_error_listing_the_providers(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", "x", "--provider", "compuserve"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    for provider in PROVIDERS:
        assert provider in err
