"""The service container both front ends are built on.

`Services` knows where files are, holds the loaded config and opens stores.
The TUI receives one in `TamagoApp(services)`; each CLI subcommand gets one too.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from . import config as config_mod
from .config import Config
from .errors import ConfigError, NotFound
from .fsutil import is_disk_full, reason
from .log import setup as setup_log
from .models import Account
from .paths import Paths
from .store import Store

log = logging.getLogger("tamago.services")


class Services:
    def __init__(self, paths: Paths, config: Config | None = None, *, log_to_file: bool = True):
        try:
            self.paths = paths.ensure()
        except OSError as exc:
            start = "The disk is full: cannot" if is_disk_full(exc) else "Cannot"
            raise ConfigError(f"{start} create tamago's directories ({exc.filename or paths.data_dir}): "
                              f"{reason(exc)}. Check the disk and the permissions, or choose another "
                              "place with --home or TAMAGO_HOME.") from exc
        self.config = config if config is not None else config_mod.load(paths.config_file)
        if log_to_file:
            setup_log(paths.log_file)

    @classmethod
    def from_home(cls, home: str | Path | None = None) -> "Services":
        return cls(Paths.resolve(home))

    @property
    def settings(self) -> config_mod.Settings:
        return self.config.settings

    @functools.cached_property
    def sessions(self):
        """The IMAP connection pool (one connection per account at a time). Tests may assign one."""
        from .sessions import SessionPool

        return SessionPool(self)

    @functools.cached_property
    def drafts(self):
        """Drafts of messages being composed (drafts.py); any thread may call it."""
        from .drafts import Drafts

        return Drafts(self)

    def open_store(self) -> Store:
        """A new connection for the calling thread."""
        return Store(self.paths.database)

    def reload(self) -> Config:
        self.config = config_mod.load(self.paths.config_file)
        return self.config

    def save_config(self, config: Config) -> None:
        config_mod.save(config, self.paths.config_file)
        self.config = config

    def accounts(self) -> list[Account]:
        return list(self.config.accounts.values())

    def account(self, name_or_email: str) -> Account:
        """Find an account by its name or its email address (case-insensitive)."""
        wanted = name_or_email.strip().lower()
        for account in self.config.accounts.values():
            if account.name.lower() == wanted or account.email.lower() == wanted:
                return account
        raise NotFound(f"No account named {name_or_email!r}. See `tamago accounts list`.")
