"""Helpers for printing: JSON for scripts, aligned text for people."""

from __future__ import annotations

import json
import sys


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
    line = sys.stdin.readline()
    if not is_utf8(line):
        from tamago_tui.backend.errors import UsageError

        raise UsageError("The password on stdin is not UTF-8 text; mail servers expect UTF-8.")
    return line.rstrip("\r\n")


def is_utf8(text: str) -> bool:
    """False when `text` holds bytes that were not UTF-8 (read with surrogateescape)."""
    return not any("\udc80" <= ch <= "\udcff" for ch in text)


def read_text_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8 become U+FFFD."""
    text = sys.stdin.read()
    return text if is_utf8(text) else text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
