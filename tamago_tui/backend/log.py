"""The log file, with every known secret redacted before it is written.

Call `register_secret()` for each password or token as soon as it is read; the
filter then replaces it wherever it appears in a log record. Common
`password=...`-style assignments are masked too, as a second line of defence.
"""

from __future__ import annotations

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
    "AUTH PLAIN OAUTHBEARER", which the patterns below would mangle."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(text: str) -> str:
    text = redact_secrets(text)
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SASL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return text


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


def setup(log_file: Path, level: int = logging.INFO) -> logging.Logger:
    """Send the `tamago` logger to `log_file` (mode 0600). Safe to call twice."""
    logger = logging.getLogger("tamago")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "_tamago", False):
            logger.removeHandler(handler)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if not log_file.exists():
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT, 0o600))
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler._tamago = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    return logger
