"""The service container both front ends are built on.

`Services` knows where files are, holds the loaded config and opens stores.
The TUI receives one in `TamagoApp(services)`; each CLI subcommand gets one too.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

from . import config as config_mod
from .config import Config
from .errors import ConfigError, NotFound, StoreError
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
        # The config file as this program last read or wrote it (None: the config was given,
        # not read), so that a save keeps what changed on disk meanwhile (save_config).
        self._on_disk: Config | None = self.config if config is None else None
        self._stamp = self._file_stamp()
        self._followed: Config | None = None  # the config the index's own addresses follow
        self._follow_lock = threading.Lock()
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
        """A new connection for the calling thread.

        The first one for a newly loaded or saved config also brings the header index in
        line with each account's own addresses (aliases.follow_config), so aliases edited
        by hand in config.toml reach mail indexed before. Later opens cost nothing more."""
        store = Store(self.paths.database)
        if self._followed is not self.config:
            try:
                self._follow_own_addresses(store)
            except BaseException:
                store.close()
                raise
        return store

    def _follow_own_addresses(self, store: Store) -> None:
        from .aliases import follow_config

        with self._follow_lock:
            config = self.config
            if self._followed is config:
                return
            # Tried once per config, even if it fails: a busy or full database must not
            # stall every later open. What was not recorded is tried again at the next start.
            self._followed = config
            try:
                changed = follow_config(store, config.accounts.values())
            except StoreError as exc:
                log.warning("could not bring the index in line with the accounts' addresses: %s", exc)
                return
            if changed:
                log.info("own addresses followed from the config: %s", changed)

    def reload(self) -> Config:
        stamp = self._file_stamp()
        self.config = self._on_disk = config_mod.load(self.paths.config_file)
        self._stamp = stamp
        return self.config

    def _file_stamp(self) -> tuple | None:
        try:
            info = self.paths.config_file.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def reload_if_changed(self) -> bool:
        """Read config.toml again if it changed since this program read or wrote it (a hand
        edit, `tamago accounts add` in another shell), so a long-running TUI follows it.
        True when it did. A file that no longer reads raises ConfigError and the config in
        memory stays as it was. A config that was given rather than read never reloads."""
        stamp = self._file_stamp()
        if self._on_disk is None or stamp == self._stamp:
            return False
        self._stamp = stamp  # tried once for each change of the file, even if it does not read
        before = self.config
        return self.reload() != before

    def save_config(self, config: Config) -> None:
        """Write `config`, keeping what changed in the file since this program read it.

        The TUI runs for hours; meanwhile `tamago accounts add` in another shell, or a
        hand edit, may change config.toml. Writing the whole config back from memory
        would drop those changes, so the file is read again first and this program's own
        changes are merged into it (config.merge). A file that no longer reads (a hand
        edit half done) is a ConfigError, and is left exactly as it is."""
        if self._on_disk is not None:
            try:
                now = config_mod.load(self.paths.config_file)
            except ConfigError as exc:
                raise ConfigError(f"Not saved: the config file was changed since tamago read it, and it no "
                                  f"longer reads. {exc}") from exc
            if now != self._on_disk:
                log.info("config.toml changed on disk since it was read: merging this change into it")
                config = config_mod.merge(self._on_disk, config, now)
        config_mod.save(config, self.paths.config_file)
        self.config = config
        if self._on_disk is not None:
            self._on_disk = config
            self._stamp = self._file_stamp()

    def accounts(self) -> list[Account]:
        return list(self.config.accounts.values())

    def account(self, name_or_email: str) -> Account:
        """Find an account by its name or its email address (case-insensitive)."""
        wanted = name_or_email.strip().lower()
        for account in self.config.accounts.values():
            if account.name.lower() == wanted or account.email.lower() == wanted:
                return account
        raise NotFound(f"No account named {name_or_email!r}. See `tamago accounts list`.")
