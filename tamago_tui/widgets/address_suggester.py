"""Completes the last address in a comma-separated field from the contact book."""

from __future__ import annotations

from textual.suggester import Suggester


class AddressSuggester(Suggester):
    def __init__(self, addresses: list[str]):
        # case_sensitive=True: Textual would otherwise lower-case the whole value, and accepting
        # a suggestion would lower-case the names already typed. Matching ignores case below.
        super().__init__(use_cache=False, case_sensitive=True)
        # "Name <addr>" and bare addresses, matched on either part.
        self.addresses = addresses

    async def get_suggestion(self, value: str) -> str | None:
        head, sep, last = value.rpartition(",")
        needle = last.strip().lower()
        if len(needle) < 2:
            return None
        for candidate in self.addresses:
            if candidate.lower().startswith(needle):
                prefix = f"{head}{sep} " if sep else ""
                return prefix + candidate
        for candidate in self.addresses:
            email = candidate.rpartition("<")[2].rstrip(">").lower()
            if email.startswith(needle):
                prefix = f"{head}{sep} " if sep else ""
                return prefix + candidate
        return None
