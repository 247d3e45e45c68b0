"""Where tamago keeps its files.

By default: XDG config, data and state directories. `TAMAGO_HOME` (or `--home`)
moves everything into one directory, which is what tests and multiple profiles use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "tamago"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "tamago.db"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "tamago.log"

    @property
    def secrets_file(self) -> Path:
        """The encrypted password store used when no keyring is available."""
        return self.data_dir / "secrets.enc"

    @property
    def cache_dir(self) -> Path:
        """Large cached message files (streamed to disk, not held in memory)."""
        return self.data_dir / "messages"

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> "Paths":
        home = home or os.environ.get("TAMAGO_HOME")
        if home:
            root = Path(home).expanduser().resolve()
            return cls(config_dir=root, data_dir=root, log_dir=root)
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
            log_dir=Path(platformdirs.user_data_dir(APP_NAME)),
        )

    def ensure(self) -> "Paths":
        """Create the directories, private to the user (0700)."""
        for directory in {self.config_dir, self.data_dir, self.log_dir, self.cache_dir}:
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
        return self
