"""The log file, with every known secret redacted before it is written.

Call `register_secret()` for each password or token as soon as it is read; the
filter then replaces it wherever it appears in a log record. Common
`password=...`-style assignments are masked too, as a second line of defence.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import threading
from pathlib import Path

REDACTED = "********"
_secrets: set[str] = set()
_lock = threading.Lock()
_ASSIGNMENT = re.compile(
    r"(?i)\b(password|passwd|pass|secret|token|access_token|refresh_token|authorization)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
)
# SASL PLAIN/XOAUTH2 blobs after AUTHENTICATE/AUTH commands.
_SASL = re.compile(r"(?i)\b(AUTHENTICATE|AUTH)(\s+\S+\s+)([A-Za-z0-9+/=]{8,})")


def register_secret(secret: str | None) -> None:
    if secret and len(secret) >= 3:
        with _lock:
            _secrets.add(secret)


def redact_secrets(text: str) -> str:
    """Mask only the registered secrets (no pattern guessing): for protocol text such as
    "AUTH PLAIN OAUTHBEARER", which the patterns below would mangle.

    A secret hidden in base64 (a SASL PLAIN blob "\\0user\\0password", an XOAUTH2
    string, a Basic auth header) is masked too: every base64-looking word is decoded
    and checked.
    """
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    if not secrets:
        return text
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _BASE64_WORD.sub(lambda m: REDACTED if _hides_secret(m.group(0), secrets) else m.group(0), text)


_BASE64_WORD = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])")


def _hides_secret(word: str, secrets: list[str]) -> bool:
    try:
        decoded = base64.b64decode(word + "=" * (-len(word) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    text = decoded.decode("utf-8", "replace")
    return any(secret in text for secret in secrets)


def redact(text: str) -> str:
    text = redact_secrets(text)
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SASL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return text


class _LogFile(logging.FileHandler):
    """A log file that never disturbs the user when it cannot be written (a full disk, a
    removed directory): logging's default prints a traceback to stderr, over the TUI."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self.failed = True

    def close(self) -> None:
        try:
            super().close()
        except (OSError, ValueError):  # the last flush failed: the file is gone or the disk full
            pass


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


LEVEL_ENV = "TAMAGO_LOG_LEVEL"
# Libraries whose debug output would carry protocol traffic (imapclient logs every IMAP
# command it sends). Their records go through the same redacting file handler, and never
# below INFO, whatever TAMAGO_LOG_LEVEL says.
LIBRARY_LOGGERS = ("imapclient", "aiosmtplib", "keyring", "asyncio")
LIBRARY_FLOOR = logging.INFO

# Until setup() runs, tamago's records go nowhere: never to stderr through logging's
# last-resort handler (which would print tracebacks over the TUI or a CLI's output).
logging.getLogger("tamago").addHandler(logging.NullHandler())


def level_from_env(default: int = logging.INFO) -> int:
    """TAMAGO_LOG_LEVEL=debug|info|warning|error; anything else keeps `default`."""
    name = os.environ.get(LEVEL_ENV, "").strip().upper()
    value = logging.getLevelName(name) if name else None
    return value if isinstance(value, int) else default


def setup(log_file: Path, level: int | None = None) -> logging.Logger:
    """Send the `tamago` logger to `log_file` (mode 0600). Safe to call twice.

    `level` defaults to TAMAGO_LOG_LEVEL, else INFO. A log file that cannot be
    created leaves logging off rather than stopping tamago.
    """
    level = level_from_env() if level is None else level
    logger = logging.getLogger("tamago")
    logger.setLevel(level)
    for name in ("tamago",) + LIBRARY_LOGGERS:
        named = logging.getLogger(name)
        for handler in list(named.handlers):
            if getattr(handler, "_tamago", False):
                named.removeHandler(handler)
                handler.close()
    logger.propagate = False
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        if not log_file.exists():
            os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT, 0o600))
        handler = _LogFile(log_file, encoding="utf-8")
    except OSError:
        return logger
    handler._tamago = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.setLevel(max(level, LIBRARY_FLOOR))
        library.addHandler(handler)
        library.propagate = False
    return logger


def log_file_of(logger: logging.Logger | None = None) -> Path | None:
    """Where `setup()` sends the log, or None when it is not set up."""
    for handler in (logger or logging.getLogger("tamago")).handlers:
        if getattr(handler, "_tamago", False):
            return Path(handler.baseFilename)
    return None
