"""TamagoApp: modes, global bindings, the command palette and error handling.

Screens talk only to services (`self.app.services`); protocol logic lives in
`tamago_tui.backend`. Every action has a key and an id, and the command palette
lists every screen, so the whole app works without a mouse at 80x24.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable

from rich.markup import escape
from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

from tamago_tui import __version__
from tamago_tui.backend.errors import TamagoError
from tamago_tui.backend.services import Services
from tamago_tui.commands import KeysProvider
from tamago_tui.messages import ScanFinished
from tamago_tui.typeahead import TypeAhead
from tamago_tui.screens.accounts import AccountsScreen
from tamago_tui.screens.contacts import ContactsScreen
from tamago_tui.screens.outbox import OutboxScreen
from tamago_tui.screens.troubleshoot import TroubleshootScreen
from tamago_tui.widgets.error_modal import ErrorModal


class TamagoApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "tamago"
    SUB_TITLE = f"mail & contacts {__version__}"
    MODES = {
        "contacts": ContactsScreen,
        "accounts": AccountsScreen,
        "troubleshoot": TroubleshootScreen,
        "outbox": OutboxScreen,
    }
    COMMANDS = App.COMMANDS | {KeysProvider}
    # Screens narrower than 80 columns get the "-narrow" class; app.tcss tightens forms there.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-wide")]
    # The NavBar shows F2-F5 and the footer shows F1; the rest is in the palette and on F1.
    # Keys that change screens are priority bindings: they act before the next key is read,
    # so what is typed after them goes to the new screen (typeahead.py).
    BINDINGS = [
        Binding("f2", "switch_mode('contacts')", "Contacts", id="go.contacts", priority=True, show=False,
                tooltip="Contacts: the contact list"),
        Binding("f3", "switch_mode('accounts')", "Accounts", id="go.accounts", priority=True, show=False,
                tooltip="Accounts: the linked mailboxes"),
        Binding("f4", "switch_mode('troubleshoot')", "Troubleshooting", id="go.troubleshoot", priority=True, show=False,
                tooltip="Troubleshooting: explain a connection error"),
        Binding("f5", "switch_mode('outbox')", "Outbox", id="go.outbox", priority=True, show=False,
                tooltip="Outbox: messages waiting to be sent"),
        Binding("f6", "compose", "Compose", id="app.compose", priority=True, show=False, tooltip="Compose a new message"),
        Binding("f7", "drafts", "Drafts", id="app.drafts", priority=True, show=False,
                tooltip="Drafts: messages being written, saved as you type"),
        Binding("f1", "help", "Help", id="app.help", priority=True, tooltip="Help: the keys of every screen"),
        Binding("question_mark", "help", "Help", id="app.help_key", show=False,
                tooltip="Help: the keys of every screen"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False),
        # Textual's own tab binding waits until the focused widget has seen the key, so in a
        # burst of keys (a fast typist over SSH, a paste) the keys after a tab still landed in
        # the old field. As priority bindings the focus moves before the next key is delivered.
        Binding("tab", "focus_next", "Next field", priority=True, show=False),
        Binding("shift+tab", "focus_previous", "Previous field", priority=True, show=False),
    ]

    def __init__(self, services: Services, **kwargs):
        super().__init__(**kwargs)
        self.services = services
        self.typeahead = TypeAhead(self)

    def pop_screen(self):
        result = super().pop_screen()
        self.typeahead.settle()
        return result

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and self.typeahead.hold(event):
            return  # delivered once the screen being put up is ready (typeahead.py)
        await super().on_event(event)

    # Seconds between checks whether a periodic scan is due (the interval itself is a setting).
    SCAN_CHECK_SECONDS = 300
    FIRST_SCAN_CHECK_SECONDS = 30

    def on_mount(self) -> None:
        from tamago_tui.backend.sending import Sender

        Sender(self.services).recover()  # messages a crash left half-sent: see backend/outbox.py
        # A first run with no accounts lands on the accounts empty state.
        self.switch_mode("contacts" if self.services.accounts() else "accounts")
        if self.services.settings.scan_interval_hours > 0:
            self.set_timer(self.FIRST_SCAN_CHECK_SECONDS, self.check_scan)
            self.set_interval(self.SCAN_CHECK_SECONDS, self.check_scan)

    def check_scan(self) -> None:
        """Start a background scan of the accounts that are due (settings.scan_interval_hours)."""
        self.follow_config_file()
        if any(w.group == "scan" and not w.is_finished for w in self.workers):
            return
        self.run_scan()

    def follow_config_file(self) -> bool:
        """Pick up config.toml if it was changed outside this TUI (a hand edit, `tamago
        accounts add` in another shell). True when the config in memory changed."""
        try:
            changed = self.services.reload_if_changed()
        except TamagoError as exc:
            self.notify(escape(f"config.toml changed but does not read, so tamago goes on with the "
                               f"settings it read before. {exc}"), severity="warning", timeout=15)
            return False
        if changed:
            self.notify("config.toml changed: tamago follows it now.", timeout=4)
        return changed

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan")
    def run_scan(self) -> None:
        from tamago_tui.backend.scheduler import Scheduler

        worker = get_current_worker()
        reports = Scheduler(self.services).run(cancel=lambda: worker.is_cancelled)
        if reports:
            self.post_message(ScanFinished(reports))

    def on_scan_finished(self, event: ScanFinished) -> None:
        # Failures are recorded as the account's status (the accounts list shows them);
        # a background scan never interrupts with a modal.
        new = sum(r.new for r in event.reports)
        if new:
            self.notify(f"Scan: {new} new message{'s' if new != 1 else ''}", timeout=4)

    def on_unmount(self) -> None:
        if "sessions" in self.services.__dict__:  # only if a connection was ever opened
            self.services.sessions.close()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Screens and keys come from KeysProvider (commands.py), each with its key.
        for account in self.services.accounts():
            if account.auth == "oauth2" and not account.token_command:
                yield SystemCommand(f"Sign in (OAuth): {account.email}",
                                    "Sign in with the provider and store a new refresh token",
                                    partial(self.sign_in, account))
        yield SystemCommand("Settings", "Scans, DNS server, timeouts, where passwords go (g on the accounts)",
                            self.action_settings)
        for command in super().get_system_commands(screen):
            if command.title != "Quit":  # KeysProvider lists Quit with its key
                yield command

    def action_help(self) -> None:
        from tamago_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
        else:
            self.push_screen(HelpScreen(self.screen))

    def action_settings(self) -> None:
        from tamago_tui.screens.settings import SettingsScreen

        self.push_screen(SettingsScreen())

    def action_compose(self) -> None:
        from tamago_tui.screens.drafts import open_compose

        open_compose(self)  # offers the drafts first, when there are any

    def action_drafts(self) -> None:
        from tamago_tui.screens.drafts import DraftsScreen, show_drafts

        if not isinstance(self.screen, DraftsScreen):
            show_drafts(self)

    async def action_quit(self) -> None:
        """Quit, saving every open compose screen's draft first; ask if one cannot be saved."""
        from tamago_tui.screens.confirm import Confirm
        from tamago_tui.screens.drafts import compose_screens

        failed = [screen for screen in compose_screens(self) if not screen.save_now()]
        if not failed:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(Confirm("A message you are writing could not be saved as a draft (see the compose "
                                 "screen for why). Quit anyway and lose it?", yes="Quit (y)", no="Stay (n)"),
                         answered)

    def sign_in(self, account, reason: str = "", then: Callable[[bool], None] | None = None) -> None:
        """The OAuth sign-in screen for `account`; `then(True)` once a sign-in is stored."""
        from tamago_tui.screens.oauth_signin import OAuthSignInScreen

        def done(signed_in: bool | None) -> None:
            if signed_in:
                self.notify(f"Signed in {account.email}.")
            if then is not None:
                then(bool(signed_in))

        self.push_screen(OAuthSignInScreen(account, reason=reason), done)

    def offer_sign_in(self, account, why: str, then: Callable[[bool], None] | None = None) -> None:
        """Ask once whether to sign `account` in again after `why` (a refused or missing sign-in).

        Never signs in on its own: a revoked token ends in this question, not in a loop.
        """
        from tamago_tui.screens.confirm import Confirm

        def answered(yes: bool | None) -> None:
            if yes:
                self.sign_in(account, reason=why, then=then)

        self.push_screen(Confirm(f"{why}\n\nSign {account.email} in again now?",
                                 yes="Sign in (y)", no="Not now (n)"), answered)

    def show_troubleshooting(self, text: str = "", provider: str | None = None) -> None:
        """Go to the troubleshooting screen and explain `text` there."""

        def explain() -> None:
            if text and hasattr(self.screen, "show_text"):
                self.screen.show_text(text, provider=provider)

        self.switch_mode("troubleshoot")
        self.call_after_refresh(explain)

    def show_error(self, error: Exception, context: str = "") -> None:
        """Every failure shown to a person goes through here: a guide, never a stack trace."""
        self.push_screen(ErrorModal(error, context=context))
