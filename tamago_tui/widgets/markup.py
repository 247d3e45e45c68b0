"""Put untrusted text (server replies, file names) inside console markup safely."""

from __future__ import annotations


def escape(text: str) -> str:
    """Every `[` escaped. Textual reads `[ALERT]` as a tag, and rich's escape() leaves
    upper-case tags alone, so server replies lost their response codes."""
    return text.replace("[", "\\[")
