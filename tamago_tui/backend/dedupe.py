"""Finding contacts that are probably the same person.

Two contacts are duplicates when they share an address, or when their names
match once normalised: case, accents, punctuation and spacing are ignored, and
word order too, so "Lovelace, Ada", "ada  lovelace" and "Ada Lovelace" agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .store import Store

_PUNCT = re.compile(r"[^\w@]+")


def name_key(name: str) -> str:
    """A comparison key for a person's name; "" when there is nothing to compare."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    # "ß" casefolds to "ss"; "ø", "ł" and "đ" have no decomposition, so map them.
    folded = folded.translate(_EXTRA)
    words = [w for w in _PUNCT.split(folded) if w]
    return " ".join(sorted(words))


_EXTRA = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"})


@dataclass(frozen=True)
class DuplicatePair:
    """`other_id` looks like `keep_id` (the older contact). `reasons` say why."""

    keep_id: int
    keep_name: str
    other_id: int
    other_name: str
    reasons: tuple[str, ...]

    def as_json(self) -> dict:
        return {
            "keep": {"id": self.keep_id, "name": self.keep_name},
            "other": {"id": self.other_id, "name": self.other_name},
            "reasons": list(self.reasons),
        }


def find_duplicates(store: Store) -> list[DuplicatePair]:
    """Every likely duplicate, as pairs against the oldest contact of each group.

    Two queries for any size of book; names are keyed in Python because SQLite
    cannot strip accents.
    """
    names: dict[int, str] = dict(store.db.execute("SELECT id, coalesce(name, '') FROM contacts"))
    reasons: dict[tuple[int, int], list[str]] = {}

    def note(ids: list[int], reason: str) -> None:
        ids = sorted(set(ids))
        for other in ids[1:]:
            reasons.setdefault((ids[0], other), []).append(reason)

    sql = """
        SELECT address, group_concat(contact_id) FROM contact_addresses
        GROUP BY address HAVING count(DISTINCT contact_id) > 1 ORDER BY address
    """
    for address, ids in store.db.execute(sql):
        note([int(i) for i in ids.split(",")], f"same address {address}")

    by_key: dict[str, list[int]] = {}
    for cid, name in names.items():
        key = name_key(name)
        if key:
            by_key.setdefault(key, []).append(cid)
    for key, ids in by_key.items():
        if len(ids) > 1:
            note(ids, "same name")

    return [
        DuplicatePair(keep, names.get(keep, ""), other, names.get(other, ""), tuple(why))
        for (keep, other), why in sorted(reasons.items())
    ]
