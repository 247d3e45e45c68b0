"""Troubleshooting guides, kept as data in tamago_tui/data/guides.toml.

The file has one table per category holding the generic guide, and below it
one sub-table per provider whose fix differs:

    [imap_disabled]            # generic guide
    title = "..."
    cause = "..."
    steps = ["...", "..."]
    links = ["https://..."]

    [imap_disabled.gmail]      # Gmail's own variant
    ...

A top-level `reviewed = "YYYY-MM-DD"` dates the whole file; a guide may carry
its own `reviewed`. Editing guidance never needs a code change.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

GUIDE_FILE = "guides.toml"
_GUIDE_KEYS = {"title", "cause", "steps", "links", "reviewed"}


@dataclass(frozen=True)
class Guide:
    """What a category means and how to fix it, for one provider or in general."""

    category: str
    provider: str | None  # None: the generic guide
    title: str
    cause: str
    steps: tuple[str, ...]
    links: tuple[str, ...]
    reviewed: str


class GuideDataError(ValueError):
    """guides.toml does not have the expected shape."""


def _guide(category: str, provider: str | None, table: dict, reviewed: str) -> Guide:
    unknown = set(k for k, v in table.items() if not isinstance(v, dict)) - _GUIDE_KEYS
    if unknown:
        raise GuideDataError(f"{category}/{provider or 'generic'}: unknown keys {sorted(unknown)}")
    try:
        title, cause, steps = table["title"], table["cause"], table["steps"]
    except KeyError as missing:
        raise GuideDataError(f"{category}/{provider or 'generic'}: missing {missing}") from None
    if not steps or not all(isinstance(s, str) and s.strip() for s in steps):
        raise GuideDataError(f"{category}/{provider or 'generic'}: steps must be non-empty strings")
    return Guide(
        category=category,
        provider=provider,
        title=title.strip(),
        cause=" ".join(cause.split()),
        steps=tuple(" ".join(s.split()) for s in steps),
        links=tuple(table.get("links", ())),
        reviewed=str(table.get("reviewed", reviewed)),
    )


def parse(data: dict) -> dict[tuple[str, str | None], Guide]:
    """All guides in a parsed guides.toml, keyed by (category, provider or None)."""
    reviewed = str(data.get("reviewed", ""))
    guides: dict[tuple[str, str | None], Guide] = {}
    for category, table in data.items():
        if not isinstance(table, dict):
            continue
        guides[(category, None)] = _guide(category, None, table, reviewed)
        for provider, sub in table.items():
            if isinstance(sub, dict):
                guides[(category, provider)] = _guide(category, provider, sub, reviewed)
    return guides


@lru_cache(maxsize=1)
def load() -> dict[tuple[str, str | None], Guide]:
    text = resources.files("tamago_tui").joinpath("data").joinpath(GUIDE_FILE).read_text(encoding="utf-8")
    return parse(tomllib.loads(text))
