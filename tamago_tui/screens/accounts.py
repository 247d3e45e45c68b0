"""Accounts: the linked mailboxes with Email, Status and Action columns."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Static

from tamago_tui.widgets.navbar import NavBar

STATUS_LABELS = {
    "connected": "✓ connected",
    "failing": "✗ failing",
    "never_tested": "· never tested",
}


def action_hint(status: str) -> str:
    """The most useful next step for an account in this state."""
    return {
        "connected": "s Sync now",
        "failing": "x Troubleshoot",
    }.get(status, "t Test now")


class AccountsScreen(Screen):
    BINDINGS = [
        Binding("a", "add", "Add", id="accounts.add"),
        Binding("e", "edit", "Edit", id="accounts.edit"),
        Binding("t", "test", "Test now", id="accounts.test"),
        Binding("s", "sync", "Sync now", id="accounts.sync"),
        Binding("x", "troubleshoot", "Troubleshoot", id="accounts.troubleshoot"),
        Binding("d", "remove", "Remove", id="accounts.remove", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield NavBar("Accounts", active="accounts")
        with Vertical(id="accounts-empty", classes="empty-state"):
            yield Static("No IMAP accounts connected")
            yield Button("Add New Account", id="add-account", variant="primary")
            yield Static("Press a to add an account, F4 for troubleshooting.", classes="hint")
        table = DataTable(id="accounts-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="accounts-detail", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Email", key="email", width=34)
        table.add_column("Status", key="status", width=16)
        table.add_column("Action", key="action", width=18)
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        services = self.app.services
        accounts = services.accounts()
        table = self.query_one(DataTable)
        table.clear()
        store = services.open_store()
        try:
            self.states = {a.name: store.account_state(a.name) for a in accounts}
        finally:
            store.close()
        for account in accounts:
            status = self.states[account.name].get("status") or "never_tested"
            table.add_row(account.email, STATUS_LABELS.get(status, status), action_hint(status), key=account.name)
        empty = not accounts
        self.query_one("#accounts-empty").display = empty
        table.display = not empty
        self.query_one("#accounts-detail").display = not empty
        (self.query_one("#add-account") if empty else table).focus()
        self.show_detail()

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
            detail.update(f"[b]{state.get('last_category') or 'error'}[/b]: {state.get('last_error') or ''}")
        else:
            detail.update(f"{account.imap.host}:{account.imap.port} ({account.imap.security.label})")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add-account":
            self.action_add()

    def action_add(self) -> None:
        self.notify("The account editor is not available yet.", severity="warning")

    def action_edit(self) -> None:
        self.action_add()

    def action_test(self) -> None:
        if self.selected_account() is None:
            self.notify("No account selected.", severity="warning")

    def action_sync(self) -> None:
        self.action_test()

    def action_remove(self) -> None:
        self.action_test()

    def action_troubleshoot(self) -> None:
        account = self.selected_account()
        self.app.switch_mode("troubleshoot")
        if account is not None:
            state = self.states.get(account.name, {})
            screen = self.app.screen
            if state.get("last_error") and hasattr(screen, "show_text"):
                screen.show_text(state["last_error"], provider=account.provider)
