"""Helpers for printing: JSON for scripts, aligned text for people."""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager


def print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line.rstrip())
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def read_password_stdin() -> str:
    """The first line of stdin, without its newline. Passwords never come from argv."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # already text (tests, embedding)
        return sys.stdin.readline().rstrip("\r\n")
    try:
        line = raw.readline().decode("utf-8")
    except UnicodeDecodeError:
        from tamago_tui.backend.errors import UsageError

        raise UsageError("The password on stdin is not UTF-8 text; mail servers expect UTF-8.") from None
    return line.rstrip("\r\n")


def read_text_stdin() -> str:
    """All of stdin as text, whatever the locale; bytes that are not UTF-8 become U+FFFD."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:
        return sys.stdin.read()
    return raw.read().decode("utf-8", "replace")


# C0 controls but tab and newline, DEL and the C1 range: what a terminal would obey (colours,
# cursor moves, title changes, clearing the screen) if a message or a contact carried it.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` with terminal control characters shown as \\xNN instead of obeyed."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class TerminalSafe:
    """Wraps a terminal stream so nothing printed to it can drive the terminal."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(visible(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextmanager
def terminal_guard():
    """While a subcommand runs, stdout and stderr that are terminals only show text."""
    saved = sys.stdout, sys.stderr
    try:
        if _is_tty(sys.stdout):
            sys.stdout = TerminalSafe(sys.stdout)
        if _is_tty(sys.stderr):
            sys.stderr = TerminalSafe(sys.stderr)
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _is_tty(stream) -> bool:
    try:
        return bool(stream) and stream.isatty()
    except (AttributeError, ValueError):
        return False
