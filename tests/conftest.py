"""Shared fixtures. Every test gets its own TAMAGO_HOME so nothing touches the developer's files."""

from __future__ import annotations

import pytest

from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services

# Real Dovecot, SMTP and DNS servers on loopback: see tests/servers/README.md.
# The OAuth fixtures (idp, oauth_dovecot, oauth_smtp, headless_home): tests/oauth_helpers.py.
pytest_plugins = ["tests.servers.fixtures", "tests.oauth_helpers", "pytester"]


@pytest.fixture(autouse=True)
def tamago_home(tmp_path, monkeypatch):
    home = tmp_path / "tamago-home"
    monkeypatch.setenv("TAMAGO_HOME", str(home))
    # Keep the developer's keyring and XDG dirs out of the tests.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg-site"))  # no /etc/xdg/tamago/oauth.toml
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture
def services(tamago_home) -> Services:
    return Services(Paths.resolve(tamago_home))
