"""UI test helpers: an app factory with sample data, and no blinking cursors."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TextArea

from tamago_tui.app import TamagoApp
from tamago_tui.backend.config import Config
from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services


@pytest.fixture(autouse=True)
def steady_cursors(monkeypatch):
    """A blinking cursor makes screenshots depend on timing; keep it visible."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)


@pytest.fixture(autouse=True)
def quiet_autosave(monkeypatch):
    """Compose autosaves a draft after a pause in typing, and shows the time it did: keep that
    out of tests that do not ask for it (tests/ui/test_drafts.py turns it back on)."""
    from tamago_tui.screens.compose import ComposeScreen

    monkeypatch.setattr(ComposeScreen, "AUTOSAVE_DELAY", 3600.0)
    monkeypatch.setattr(ComposeScreen, "AUTOSAVE_MAX_WAIT", 7200.0)


def sample_account(name="work", email="jane@example.org", provider="custom") -> Account:
    return Account(
        name=name,
        email=email,
        provider=provider,
        imap=ServerSettings("imap.example.org", 993, Security.SSL, email),
        smtp=ServerSettings("smtp.example.org", 587, Security.STARTTLS, email),
        folders=("INBOX", "Sent"),
    )


@pytest.fixture
def make_app(tamago_home):
    def factory(accounts=(), contacts=()) -> TamagoApp:
        config = Config()
        for account in accounts:
            config = config.with_account(account)
        services = Services(Paths.resolve(tamago_home), config)
        store = services.open_store()
        book = ContactBook(store)
        for name, emails, org in contacts:
            book.add(name, emails, organisation=org)
        store.close()
        return TamagoApp(services)

    return factory
