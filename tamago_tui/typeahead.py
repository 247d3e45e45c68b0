"""Type-ahead: keys typed while a new screen is still being put up go to that screen.

Over SSH a person types ahead: F6 and straight on with the address, enter on a
contact and straight on with j j enter. Textual delivers a key to whatever has
the focus when the key is read, and a screen that has just been pushed has no
focus until it is mounted, so those keys went to the screen underneath (or
nowhere). Here the app holds the keys that arrive while the top screen is not
ready yet (mounted, with its focus set), for at most HOLD_SECONDS, and then
delivers them in the order they were typed. A command key (ctrl+s, ctrl+e, tab)
typed right behind text waits until that text has reached its field: otherwise
ctrl+s could send a message without its last words. After a screen closes, keys wait
until the screen underneath has run what the closing asked for (a dialog's
answer often opens the next screen: "n" on the drafts offer opens compose).

The keys that change screens from anywhere are priority bindings (app.py), so they
act before the next key is read. Any other command key (enter on a list, "e" on a
contact, escape, down) acts through messages: the focused widget, then the
widgets it tells, then perhaps a new screen. So behind a command key the next
keys wait until every widget on the screen has handled what it had (and a new
screen is ready): "enter e" opens a contact and edits it, instead of "e" reaching
the list underneath. Letters typed into a text field are not commands.
"""

from __future__ import annotations

import time
import weakref

from textual import events
from textual.screen import Screen
from textual.widgets import Input, TextArea

HOLD_SECONDS = 3.0  # never hold keys longer than this, whatever the screen does
POLL_SECONDS = 0.02


class TypeAhead:
    def __init__(self, app):
        self.app = app
        self.held: list[events.Key] = []
        self._ready: weakref.WeakSet[Screen] = weakref.WeakSet()
        self._checking: weakref.WeakSet[Screen] = weakref.WeakSet()
        self._since: weakref.WeakKeyDictionary[Screen, float] = weakref.WeakKeyDictionary()
        self._settling_since: float | None = None
        self._command_since: float | None = None

    def settle(self) -> None:
        """A screen has just closed: hold keys until the one underneath has had its turn."""
        self._settling_since = time.monotonic()
        self.app.screen.call_after_refresh(self._settled)

    def _settled(self) -> None:
        self._settling_since = None

    def _settling(self) -> bool:
        if self._settling_since is not None and time.monotonic() - self._settling_since >= HOLD_SECONDS:
            self._settling_since = None
        return self._settling_since is not None

    def _acting(self) -> bool:
        """A command key was delivered and some widget is still handling what it set off."""
        if self._command_since is None:
            return False
        if time.monotonic() - self._command_since >= HOLD_SECONDS or not self._busy():
            self._command_since = None
        return self._command_since is not None

    def _busy(self) -> bool:
        # The top screen's widgets, and the app itself (focus() and call_later() queue their work
        # there), but not the keys waiting in the app's queue: those are what is typed next.
        # A screen underneath keeps its messages until it is shown again: it is not looked at.
        return _has_work(self.app, skip_keys=True) or any(
            _has_work(node) for node in self.app.screen.walk_children(with_self=True))

    def _is_ready(self, screen: Screen) -> bool:
        if screen in self._ready:
            return True
        if screen.is_mounted and screen not in self._checking:
            # Mounted; what it focuses in on_mount (focus() is deferred) lands after the next
            # refresh. From then on its keys go straight through, focus or not.
            self._checking.add(screen)
            screen.call_after_refresh(self._ready.add, screen)
        return False

    def _waited_long_enough(self, screen: Screen) -> bool:
        return time.monotonic() - self._since.setdefault(screen, time.monotonic()) >= HOLD_SECONDS

    def hold(self, event: events.Key) -> bool:
        """Keep `event` for later if it must wait; False to deliver it now."""
        screen = self.app.screen
        if (not self.held and not self._settling() and not self._acting()
                and (self._is_ready(screen) or self._waited_long_enough(screen))):
            focused = self.app.focused
            if event.is_printable and isinstance(focused, (Input, TextArea)):
                return False  # text for its field
            if event.is_printable or focused is None or focused.message_queue_size == 0:
                self._command_since = time.monotonic()  # what comes next waits for what this sets off
                return False
            # A command key (ctrl+s, ctrl+e, tab...) right behind text that has not reached its
            # field yet: it waits until the focused widget has handled what came before it.
            self.held.append(events.Key(event.key, event.character))
            # The release itself goes through the app's queue, behind any keys of the same burst
            # still waiting there (they join the held ones), so the order stays the typed one.
            focused.call_later(self.app.call_later, self._release)
            self.app.set_timer(HOLD_SECONDS, self._release)  # in case that widget goes away
            return True
        self.held.append(events.Key(event.key, event.character))
        if len(self.held) == 1:
            self.app.set_timer(POLL_SECONDS, self._deliver_when_ready)
        return True

    def _release(self) -> None:
        keys, self.held = self.held, []
        for key in keys:  # each goes through hold() again, in order
            self.app.post_message(key)

    def _deliver_when_ready(self) -> None:
        if not self.app.screen_stack:
            return  # the app is closing
        screen = self.app.screen
        if self._settling() or self._acting() or not (self._is_ready(screen) or self._waited_long_enough(screen)):
            self.app.set_timer(POLL_SECONDS, self._deliver_when_ready)
            return
        self._release()  # behind them in the queue: whatever the terminal sends next


def _has_work(node, *, skip_keys: bool = False) -> bool:
    """`node` has messages queued: work still to do. A test's pilot posts a callback to every
    widget each time it pauses, which would look like work that never ends: those are not."""
    if not node.message_queue_size:
        return False
    queued = getattr(node._message_queue, "values", None)  # Textual's own queue (a deque)
    if queued is None:
        return True
    for message in list(queued):
        if skip_keys and isinstance(message, events.Key):
            continue
        if isinstance(message, events.Callback) and _from_pilot(message):
            continue
        return True
    return False


def _from_pilot(message: events.Callback) -> bool:
    callback = message.callback
    function = getattr(callback, "func", callback)  # call_later wraps it in a partial
    return getattr(function, "__module__", "") == "textual.pilot"
