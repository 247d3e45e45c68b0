"""`tamago oauth providers` and the site layer: an administrator's
$XDG_CONFIG_DIRS/tamago/oauth.toml gives every user on the machine a client ID,
and a real device-code sign-in against the loopback IdP uses it."""

from __future__ import annotations

import json

import pytest

from tamago_tui.backend import config as config_mod
from tamago_tui.backend.config import Config
from tamago_tui.backend.paths import Paths
from tamago_tui.cli import main
from tests.oauth_helpers import approve_when_asked, make_account
from tests.servers.oauth_server import TEST_CLIENT_ID


def _toml_table(name: str, table: dict) -> str:
    lines = [f"[{name}]"]
    for key, value in table.items():
        lines.append(f"{key} = {json.dumps(value)}")  # strings and lists of strings: JSON is TOML here
    return "\n".join(lines) + "\n"


@pytest.fixture
def site(tmp_path, monkeypatch, idp):
    """A site file with the test IdP as `[test]` and a Microsoft client ID; the user's own config
    has the account and no [oauth] tables at all."""
    path = tmp_path / "etc-xdg" / "tamago" / "oauth.toml"
    path.parent.mkdir(parents=True)
    table = idp.provider_table(TEST_CLIENT_ID)
    path.write_text(_toml_table("test", table) + _toml_table("microsoft", {"client_id": "ms-site-id"}))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(path.parent.parent))
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "correct horse battery staple")
    return path


def test_providers_shows_where_each_client_id_comes_from(tamago_home, site, capsys):
    assert main(["oauth", "providers", "--json"]) == 1  # Google, used by a preset, has none
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert "No client ID for: google." in err
    servers = {s["key"]: s for s in data["providers"]}
    assert data["site_files"] == [str(site)]
    assert data["config_file"] == str(Paths.resolve(tamago_home).config_file)
    assert servers["microsoft"]["client_id"] == "ms-site-id"
    assert servers["microsoft"]["client_id_from"] == str(site)
    assert servers["microsoft"]["flows"] == ["device", "loopback", "paste"]
    assert servers["google"]["client_id"] is None and servers["google"]["client_id_from"] is None
    assert servers["google"]["register_url"].startswith("https://console.cloud.google.com/")
    assert servers["test"]["client_id"] == TEST_CLIENT_ID and servers["test"]["client_secret_set"] is False

    assert main(["oauth", "providers"]) == 1
    out, err = capsys.readouterr()
    assert f"ms-site-id (from {site})" in out
    assert "No client ID for: google." in err and f"{site.parent.parent}/tamago/oauth.toml" in err

    config_mod.save(Config(oauth={"google": {"client_id": "mine.apps", "client_secret": "shh-not-shown"}}),
                    Paths.resolve(tamago_home).config_file)
    assert main(["oauth", "providers"]) == 0
    out, err = capsys.readouterr()
    assert "mine.apps (from config.toml, with a client secret)" in out
    assert "shh-not-shown" not in out + err and "No client ID" not in err


def test_sign_in_uses_the_site_client_id(tamago_home, site, idp, capsys):
    config_mod.save(Config(accounts={"alice": make_account()}), Paths.resolve(tamago_home).config_file)

    thread = approve_when_asked(idp)
    assert main(["oauth", "login", "alice"]) == 0
    thread.join(10)
    assert "Signed in alice@example.test" in capsys.readouterr().out
    assert main(["oauth", "status", "alice", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["client_id"] == TEST_CLIENT_ID and status["client_id_from"] == str(site)
