"""A save keeps what changed in config.toml since this program read it (Services.save_config).

The TUI holds its config for hours. `tamago accounts add` in another shell, or a hand edit,
changes the file meanwhile; the TUI's next save (an account edited, a certificate pinned)
must merge into the file as it is now, not write its old copy over it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tamago_tui.backend.config import Config, Settings, merge
from tamago_tui.backend.errors import ConfigError
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services


def account(name: str, email: str | None = None, **changes) -> Account:
    email = email or f"{name}@example.org"
    made = Account(name=name, email=email,
                   imap=ServerSettings("imap.example.org", 993, Security.SSL, email),
                   smtp=ServerSettings("smtp.example.org", 587, Security.STARTTLS, email))
    return replace(made, **changes)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    Services(Paths.resolve(home)).save_config(Config().with_account(account("work")).with_account(account("old")))
    return home


def open_services(home) -> Services:
    return Services(Paths.resolve(home), log_to_file=False)


def test_an_account_added_by_another_tamago_survives_an_edit_in_the_first(home):
    tui = open_services(home)          # started first, holds its config
    cli = open_services(home)
    cli.save_config(cli.config.with_account(account("home")))  # `tamago accounts add` meanwhile

    tui.save_config(tui.config.with_account(account("work", display_name="Mia at work")))

    on_disk = open_services(home).config
    assert sorted(on_disk.accounts) == ["home", "old", "work"]
    assert on_disk.accounts["work"].display_name == "Mia at work"
    assert tui.config == on_disk  # the TUI now shows the account added elsewhere


def test_hand_edits_to_settings_and_aliases_are_kept(home):
    tui = open_services(home)
    path = tui.paths.config_file
    text = path.read_text()
    text = text.replace('nameserver = ""', 'nameserver = "192.0.2.53"', 1)
    text = text.replace('email = "old@example.org"', 'email = "old@example.org"\naliases = ["hi@example.org"]', 1)
    path.write_text(text)

    tui.save_config(tui.config.with_account(account("work", backfill_days=30)))

    on_disk = open_services(home).config
    assert on_disk.settings.nameserver == "192.0.2.53"
    assert on_disk.accounts["old"].aliases == ("hi@example.org",)
    assert on_disk.accounts["work"].backfill_days == 30


def test_an_account_removed_elsewhere_stays_removed_and_ours_win_on_the_same_account(home):
    tui = open_services(home)
    cli = open_services(home)
    cli.save_config(cli.config.without_account("old").with_account(account("work", display_name="theirs")))

    tui.save_config(tui.config.with_account(account("work", display_name="ours")))

    on_disk = open_services(home).config
    assert sorted(on_disk.accounts) == ["work"]
    assert on_disk.accounts["work"].display_name == "ours"


def test_a_file_that_no_longer_reads_is_not_overwritten(home):
    tui = open_services(home)
    path = tui.paths.config_file
    path.write_text(path.read_text() + "\n[accounts.half\nemail = \n")
    broken = path.read_text()

    with pytest.raises(ConfigError, match="Not saved"):
        tui.save_config(tui.config.with_account(account("new")))
    assert path.read_text() == broken


def test_without_changes_on_disk_a_save_is_a_plain_write(home):
    tui = open_services(home)
    tui.save_config(tui.config.without_account("old"))
    tui.save_config(tui.config.with_account(account("third")))  # its own earlier save is not a change on disk
    assert sorted(open_services(home).config.accounts) == ["third", "work"]


def test_merge_field_by_field():
    base = Config(settings=Settings(timeout=20.0, nameserver=""), accounts={"a": account("a")})
    ours = replace(base, settings=replace(base.settings, timeout=5.0))
    theirs = replace(base, settings=replace(base.settings, nameserver="192.0.2.1"),
                     accounts={"a": account("a"), "b": account("b")}, oauth={"google": {"client_id": "x"}})
    merged = merge(base, ours, theirs)
    assert (merged.settings.timeout, merged.settings.nameserver) == (5.0, "192.0.2.1")
    assert list(merged.accounts) == ["a", "b"] and merged.oauth == {"google": {"client_id": "x"}}


def test_a_running_program_follows_the_file_when_it_changes(home):
    tui = open_services(home)
    assert tui.reload_if_changed() is False  # nothing changed: not even read again
    cli = open_services(home)
    cli.save_config(cli.config.with_account(account("home")))
    assert tui.reload_if_changed() is True
    assert sorted(tui.config.accounts) == ["home", "old", "work"]
    assert tui.reload_if_changed() is False


def test_a_broken_edit_keeps_the_config_in_memory_and_is_reported_once(home):
    tui = open_services(home)
    path = tui.paths.config_file
    path.write_text(path.read_text() + "\n[accounts.half\n")
    with pytest.raises(ConfigError):
        tui.reload_if_changed()
    assert sorted(tui.config.accounts) == ["old", "work"]
    assert tui.reload_if_changed() is False  # the same broken file is not reported again


def test_a_given_config_never_reloads(tmp_path):
    services = Services(Paths.resolve(tmp_path / "h"), Config().with_account(account("mem")), log_to_file=False)
    Services(Paths.resolve(tmp_path / "h"), log_to_file=False).save_config(Config())
    assert services.reload_if_changed() is False and list(services.config.accounts) == ["mem"]
