"""Command palette: every key of the current screen and of the app, runnable from ctrl+p.

The footer shows the few keys that matter at 80 columns; this provider lists
all of them, so a key hidden from the footer is still one search away.
"""

from __future__ import annotations

from functools import partial

from textual.actions import parse
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from tamago_tui.keys import KeyEntry, own_bindings, screen_title


def action_state(node: DOMNode, action: str) -> bool | None:
    """What `check_action` says about `action` bound on `node`: True, False (hidden) or None (disabled)."""
    namespace, name, params = parse(action)
    target = node.app if namespace == "app" else node.screen if namespace == "screen" else node
    return target.check_action(name, params)


def available(node: DOMNode) -> list[tuple[DOMNode, KeyEntry]]:
    """`node`'s own key bindings that apply right now."""
    return [(node, entry) for entry in own_bindings(type(node)) if action_state(node, entry.action) is not False]


class KeysProvider(Provider):
    """Lists the current screen's bindings, then the app's, each with its key."""

    def _entries(self) -> list[tuple[DOMNode, KeyEntry, str]]:
        screen, app = self.screen, self.app
        where = screen_title(screen)
        rows = [(node, entry, where) for node, entry in available(screen)]
        rows += [(node, entry, "everywhere") for node, entry in available(app)]
        return rows

    def _command(self, node: DOMNode, entry: KeyEntry):
        return partial(self.app.run_action, entry.action, node)

    @staticmethod
    def _text(entry: KeyEntry) -> str:
        return f"{entry.text}  ({entry.label})"

    @staticmethod
    def _help(entry: KeyEntry, where: str) -> str:
        return f"{entry.label} · {where}"

    async def discover(self) -> Hits:
        for node, entry, where in self._entries():
            yield DiscoveryHit(self._text(entry), self._command(node, entry), help=self._help(entry, where))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for node, entry, where in self._entries():
            text = self._text(entry)
            # The footer's word counts too: "Pin cert" finds "Pin the untrusted certificate".
            score = max(matcher.match(text), matcher.match(entry.description))
            if score > 0:
                yield Hit(score, matcher.highlight(text), self._command(node, entry), text=text,
                          help=self._help(entry, where))
