"""The app's own key bindings, listed for the command palette and the help screen.

Only bindings declared by tamago's classes are listed: Textual's built-in ones
(focus next, the palette itself) are the same everywhere and would bury the
few that matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import format_key

# How keys read in the palette and the help screen: spelled out, not the footer's "^t".
KEY_NAMES = {"escape": "esc", "slash": "/", "question_mark": "?", "space": "space", "enter": "enter",
             "tab": "tab", "delete": "del"}


def key_label(key: str) -> str:
    """"ctrl+t", "F2", "esc", "/" for one key of a binding."""
    *modifiers, name = key.split("+")
    if name in KEY_NAMES:
        name = KEY_NAMES[name]
    elif len(name) > 1 and name[0] == "f" and name[1:].isdigit():
        name = name.upper()
    else:
        name = format_key(name)
    return "+".join([*modifiers, name])


# Screens by class name, as the help screen and the palette name them.
SCREEN_TITLES = {
    "ContactsScreen": "Contacts",
    "ContactScreen": "Contact history",
    "MessageScreen": "Message viewer",
    "ContactEditor": "Contact editor",
    "ContactPicker": "Choose a contact",
    "DuplicatesScreen": "Duplicates",
    "AccountsScreen": "Accounts",
    "AccountEditor": "Account editor",
    "ConnectionTestScreen": "Connection test",
    "OAuthSignInScreen": "OAuth sign-in",
    "TroubleshootScreen": "Troubleshooting",
    "OutboxScreen": "Outbox",
    "ComposeScreen": "Compose",
    "DraftsScreen": "Drafts",
    "KeepDraft": "Keep the draft?",
    "HelpScreen": "Help",
    "Confirm": "Question",
    "ErrorModal": "Error",
    "PathPrompt": "File name",
    "SecretPrompt": "Passphrase",
}


def screen_title(screen_or_class) -> str:
    cls = screen_or_class if isinstance(screen_or_class, type) else type(screen_or_class)
    for klass in cls.__mro__:  # a subclass (a test's stand-in) reads as its parent
        if klass.__name__ in SCREEN_TITLES:
            return SCREEN_TITLES[klass.__name__]
    return cls.__name__


@dataclass(frozen=True)
class KeyEntry:
    """One action and every key bound to it."""

    keys: tuple[str, ...]
    description: str
    action: str
    id: str | None
    tooltip: str
    show: bool

    @property
    def label(self) -> str:
        return " / ".join(key_label(k) for k in self.keys)

    @property
    def text(self) -> str:
        """The longer wording: the tooltip when there is one, else the footer's description."""
        return self.tooltip or self.description


# Textual's focus keys, which app.py declares again only to make them priority bindings:
# the help screen lists them under "Moving around", and they are not palette commands.
REDECLARED_ACTIONS = frozenset({"focus_next", "focus_previous"})


def own_bindings(cls: type) -> list[KeyEntry]:
    """The bindings tamago's classes declare on `cls` and its bases, subclass first.

    A key bound again in a subclass replaces the base's binding, as Textual does;
    compound keys ("n,escape") and keys bound to the same action are one entry.
    """
    by_key: dict[str, tuple[int, Binding]] = {}
    classes = [c for c in cls.__mro__ if c.__module__.startswith("tamago_tui")]
    for depth, klass in enumerate(classes):
        for binding in Binding.make_bindings(klass.__dict__.get("BINDINGS", [])):
            if binding.action in REDECLARED_ACTIONS:
                continue
            by_key.setdefault(binding.key, (depth, binding))  # the subclass, met first, wins
    entries: dict[tuple[str, str], KeyEntry] = {}
    # The subclass's keys first, each class's in declaration order (sorted() is stable).
    order = [b for _, b in sorted(by_key.values(), key=lambda item: item[0])]
    for binding in order:
        group = (binding.action, binding.description)
        if group in entries:
            entry = entries[group]
            entries[group] = KeyEntry(entry.keys + (binding.key,), entry.description, entry.action,
                                      entry.id, entry.tooltip, entry.show or binding.show)
        else:
            entries[group] = KeyEntry((binding.key,), binding.description, binding.action, binding.id,
                                      binding.tooltip, binding.show)
    return list(entries.values())
