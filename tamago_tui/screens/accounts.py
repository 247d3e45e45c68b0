"""Accounts: the linked mailboxes with Email, Status and Action columns."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from tamago_tui.widgets.markup import escape
from textual.containers import Center, Vertical
from textual.css.query import NoMatches
from textual.widgets import Button, DataTable, Footer, Static

from tamago_tui.backend.errors import TamagoError
from tamago_tui.widgets.columns import set_columns
from tamago_tui.widgets.navbar import NavBar
from tamago_tui.screens.base import BaseScreen

STATUS_LABELS = {
    "connected": "✓ connected",
    "failing": "✗ failing",
    "never_tested": "· never tested",
}


def needs_sign_in(account, state: dict) -> bool:
    """An OAuth account whose last test failed because its sign-in is missing or was refused."""
    return (account.auth == "oauth2" and not account.token_command and state.get("status") == "failing"
            and state.get("last_category") == "invalid_credentials")


def action_hint(status: str, sign_in: bool = False) -> str:
    """The most useful next step for an account in this state."""
    if sign_in:
        return "o Sign in again"
    return {
        "connected": "s Sync now",
        "failing": "x Troubleshoot",
    }.get(status, "t Test now")


class AccountsScreen(BaseScreen):
    BINDINGS = [
        Binding("a", "add", "Add", id="accounts.add", tooltip="Add an account"),
        Binding("e", "edit", "Edit", id="accounts.edit", tooltip="Edit the selected account"),
        Binding("t", "test", "Test now", id="accounts.test", tooltip="Test the selected account's connection"),
        Binding("s", "sync", "Sync now", id="accounts.sync", tooltip="Sync the selected account now"),
        Binding("x", "troubleshoot", "Troubleshoot", id="accounts.troubleshoot",
                tooltip="Troubleshoot the selected account's last failure"),
        Binding("o", "sign_in", "Sign in", id="accounts.sign_in",
                tooltip="Sign the selected account in with OAuth 2.0 (device code or browser)"),
        Binding("d", "remove", "Remove", id="accounts.remove", show=False,
                tooltip="Remove the selected account"),
        Binding("m", "send_test", "Send test email", id="accounts.send_test", show=False,
                tooltip="Send a test email to the selected account's own address"),
        Binding("g", "app.settings", "Settings", id="accounts.settings", show=False,
                tooltip="Settings: scans, DNS server, timeouts, where passwords go"),
    ]
    # Actions on the selected account: hidden from the footer and palette while there is none.
    NEEDS_ACCOUNT = {"edit", "test", "sync", "troubleshoot", "remove", "send_test"}

    states: dict = {}

    def compose(self) -> ComposeResult:
        yield NavBar("Accounts", active="accounts")
        with Vertical(id="accounts-empty", classes="empty-state"):
            yield Static("No IMAP accounts connected")
            with Center():
                yield Button("Add New Account", id="add-account", variant="primary")
            yield Static("Press enter or a to add an account, F4 for troubleshooting, F1 for help.",
                         classes="hint")
        table = DataTable(id="accounts-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="accounts-detail", classes="status-line")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sign_in":  # only for an OAuth account that signs in here (no token command)
            try:
                account = self.selected_account()
            except NoMatches:  # asked before the table exists
                account = None
            return account is not None and account.auth == "oauth2" and not account.token_command
        if action in self.NEEDS_ACCOUNT:
            return bool(self.app.services.config.accounts)
        return super().check_action(action, parameters)

    COLUMNS = [("Email", "email", None), ("Status", "status", 16), ("Action", "action", 18)]

    def on_mount(self) -> None:
        set_columns(self.query_one(DataTable), self.COLUMNS, self.app.size.width)
        self.reload()

    def on_resize(self, event) -> None:
        if set_columns(self.query_one(DataTable), self.COLUMNS, event.size.width):
            self.reload()

    def on_screen_resume(self) -> None:
        self.app.follow_config_file()  # edited by hand or by `tamago accounts` while away
        self.reload()

    def reload(self, select: str | None = None) -> None:
        """Rebuild the list; the cursor stays on the same account (or goes to `select`)."""
        services = self.app.services
        accounts = services.accounts()
        table = self.query_one(DataTable)
        current = self.selected_account()
        select = select or (current.name if current else None)
        table.clear()
        store = services.open_store()
        try:
            self.states = {a.name: store.account_state(a.name) for a in accounts}
        finally:
            store.close()
        for account in accounts:
            state = self.states[account.name]
            status = state.get("status") or "never_tested"
            table.add_row(Text(account.email), STATUS_LABELS.get(status, status),
                          action_hint(status, needs_sign_in(account, state)), key=account.name)
        if select in self.states:
            table.move_cursor(row=table.get_row_index(select))
        empty = not accounts
        self.query_one("#accounts-empty").display = empty
        table.display = not empty
        self.query_one("#accounts-detail").display = not empty
        (self.query_one("#add-account") if empty else table).focus()
        self.show_detail()
        self.refresh_bindings()  # the footer's account actions follow the empty state

    def select(self, name: str | None) -> None:
        """Put the cursor on account `name` (the one just saved)."""
        if name:
            self.reload(select=name)

    def selected_account(self):
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.app.services.config.accounts.get(key)

    def show_detail(self) -> None:
        account = self.selected_account()
        detail = self.query_one("#accounts-detail", Static)
        if account is None:
            detail.update("")
            return
        state = self.states.get(account.name, {})
        if state.get("status") == "failing":
            detail.update(f"[b]{state.get('last_category') or 'error'}[/b]: {escape(state.get('last_error') or '')}")
        else:
            detail.update(Text(f"{account.imap.host}:{account.imap.port} ({account.imap.security.label})"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()
        self.refresh_bindings()  # o (sign in) follows the selected account's kind

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit()  # enter on an account opens it, as enter opens a contact

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add-account":
            self.action_add()

    def action_add(self) -> None:
        from tamago_tui.screens.account_editor import AccountEditor

        self.app.push_screen(AccountEditor(), self.select)

    def _selected_or_warn(self):
        account = self.selected_account()
        if account is None:
            self.notify("No account selected. Press a to add one.", severity="warning")
        return account

    def action_edit(self) -> None:
        from tamago_tui.screens.account_editor import AccountEditor

        account = self._selected_or_warn()
        if account is not None:
            self.app.push_screen(AccountEditor(account), self.select)

    def action_test(self) -> None:
        from tamago_tui.screens.connection_test import ConnectionTestScreen

        account = self._selected_or_warn()
        if account is not None:
            self.app.push_screen(ConnectionTestScreen(account, None), lambda _: self.reload())

    def action_sign_in(self) -> None:
        account = self._selected_or_warn()
        if account is None:
            return
        if account.auth != "oauth2" or account.token_command:
            self.notify(escape(f"{account.email} does not sign in with OAuth here."), severity="warning")
            return
        self.app.sign_in(account, then=lambda _: self.reload())

    def action_sync(self) -> None:
        account = self._selected_or_warn()
        if account is not None:
            self.notify(escape(f"Syncing {account.email}…"))
            self.run_sync(account.name)

    @work(thread=True, group="sync", exit_on_error=False)
    def run_sync(self, name: str) -> None:
        from tamago_tui.backend.sync import sync_account

        account = self.app.services.account(name)
        report = sync_account(self.app.services, account)
        if report.error and needs_sign_in(account, {"status": "failing", "last_category": report.category}):
            # A revoked or missing OAuth sign-in: ask to sign in again rather than show a dead end.
            self.app.call_from_thread(self.app.offer_sign_in, account, report.error, lambda _: self.reload())
        elif report.error:
            error = TamagoError(report.error, category=report.category, title=f"Sync of {name} failed")
            self.app.call_from_thread(self.app.show_error, error, f"Sync of {name} failed")
        else:
            failed = [f"{f.folder}: {f.error}" for f in report.folders if f.error]
            text = f"Synced {name}: {report.new} new"
            if report.cached:
                text += f", {report.cached} cached"
            if failed:
                text += " · " + "; ".join(failed)
            self.app.call_from_thread(self.notify, text, severity="warning" if failed else "information")
        self.app.call_from_thread(self.reload)

    def action_remove(self) -> None:
        from tamago_tui.screens.confirm import Confirm

        account = self._selected_or_warn()
        if account is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.remove(account)

        self.app.push_screen(Confirm(
            f"Remove {account.email}? Its password and header index are deleted; "
            "the mailbox itself is not touched."), done)

    @work(thread=True, group="remove-account", exit_on_error=False)
    def remove(self, account) -> None:
        from tamago_tui.backend.accounts import remove_account

        try:
            remove_account(self.app.services, account)
        except TamagoError as exc:
            self.app.call_from_thread(self.app.show_error, exc)
        self.app.call_from_thread(self.reload)

    def action_send_test(self) -> None:
        account = self._selected_or_warn()
        if account is not None:
            self.notify(escape(f"Sending a test message to {account.email}…"))
            self.send_test(account)

    @work(thread=True, group="send-test", exit_on_error=False)
    def send_test(self, account) -> None:
        from tamago_tui.backend.compose import Draft
        from tamago_tui.backend.sending import Sender, sender_address
        from tamago_tui.screens.compose import passphrase_prompt

        sender = Sender(self.app.services, prompt=passphrase_prompt(self.app))
        draft = Draft(
            sender=sender_address(account), to=(account.email,), subject="tamago test message",
            body="This is a test message from tamago. It confirms that sending through this "
                 "account works. You can delete it.",
        )
        try:
            item = sender.deliver(sender.queue(account, draft).id)
        except TamagoError as exc:
            self.app.call_from_thread(self.notify, f"Test message not sent: {exc}", severity="error", timeout=10)
            return
        if item.status == "sent":
            self.app.call_from_thread(self.notify, f"Test message sent to {account.email}.")
        else:
            self.app.call_from_thread(
                self.notify, f"Test message not sent: {item.last_error}", severity="error", timeout=10)

    def action_troubleshoot(self) -> None:
        account = self.selected_account()
        if account is None:
            self.app.show_troubleshooting()
            return
        state = self.states.get(account.name, {})
        self.app.show_troubleshooting(state.get("last_error") or "", provider=account.provider)
