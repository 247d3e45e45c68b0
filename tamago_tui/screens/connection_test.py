"""Connection test: the IMAP and SMTP checklist, live, with the fix for the first failure.

Runs the backend's diagnostics in a thread worker; each finished step is posted
back and drawn at once. An untrusted certificate shows its SHA-256 fingerprint
and can be pinned for this account with p.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from tamago_tui.widgets.markup import escape
from textual.widgets import DataTable, Footer, Static

from tamago_tui.backend.models import Account
from tamago_tui.messages import StepReported
from tamago_tui.widgets.columns import set_columns
from tamago_tui.widgets.navbar import NavBar
from tamago_tui.screens.base import BaseScreen

MARKS = {"ok": "[green]✓ ok[/]", "warn": "[yellow]! warn[/]", "fail": "[red]✗ FAIL[/]", "skipped": "[dim]- skip[/]"}


@dataclass(frozen=True)
class TestResult:
    account: Account
    report: object  # diagnostics.Report
    folders: list
    pinned: bool = False
    signed_in: bool = False  # an OAuth sign-in was stored during the test


class ConnectionTestScreen(BaseScreen[TestResult | None]):
    # x and p appear once there is a failure to fix or a certificate to pin (check_action).
    BINDINGS = [
        Binding("escape", "close", "Done", id="test.close", tooltip="Back to the editor or the list"),
        Binding("x", "troubleshoot", "Fix", id="test.fix", tooltip="Show the fix for the failed step"),
        Binding("p", "pin", "Pin cert", id="test.pin", tooltip="Pin the untrusted certificate for this account"),
        Binding("r", "rerun", "Run again", id="test.rerun", tooltip="Run the test again"),
        Binding("o", "sign_in", "Sign in", id="test.sign_in",
                tooltip="Sign in again with OAuth 2.0, then run the test again"),
        Binding("c", "copy", "Copy", id="test.copy", tooltip="Copy the report (it holds no password)"),
    ]
    # Detail takes the rest of the width.
    COLUMNS = [("Step", "step", 22), ("Result", "status", 8), ("Detail", "detail", None)]

    def __init__(self, account: Account, password: str | None, smtp_password: str | None = None,
                 only: str | None = None):
        super().__init__()
        self.account = account
        self.password = password
        self.smtp_password = smtp_password
        self.only = only
        self.steps: list = []
        self.pinned = False
        self.done = False
        self.token_error: Exception | None = None  # why no OAuth access token could be had
        self.offered_sign_in = False  # the sign-in is offered once by itself; o offers it again
        self.signed_in = False

    def compose(self) -> ComposeResult:
        yield NavBar(f"Connection test · {self.account.email}")
        yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        yield Static("", id="test-detail", classes="hint")
        yield Static("Testing…", id="test-status", classes="status-line")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("troubleshoot", "pin"):
            failure = self.report().first_failure if self.done else None
            return failure is not None and (action == "troubleshoot" or bool(failure.data.get("sha256")))
        if action == "rerun":
            return self.done
        if action == "sign_in":
            return self.done and self.needs_sign_in
        return super().check_action(action, parameters)

    @property
    def needs_sign_in(self) -> bool:
        """An OAuth account (no token command) whose sign-in is missing or was refused."""
        error = self.token_error
        return (error is not None and self.account.auth == "oauth2" and not self.account.token_command
                and (getattr(error, "needs_sign_in", False) or getattr(error, "category", "") == "invalid_credentials"))

    @property
    def detail_width(self) -> int:
        return list(self.query_one(DataTable).columns.values())[-1].width

    def on_mount(self) -> None:
        set_columns(self.query_one(DataTable), self.COLUMNS, self.app.size.width)
        self.start()

    def on_resize(self, event) -> None:
        if set_columns(self.query_one(DataTable), self.COLUMNS, event.size.width):
            steps, self.steps = self.steps, []
            for step in steps:
                self._add_step(step)
            failure = self.report().first_failure if self.done else None
            if failure is not None:
                self.query_one(DataTable).move_cursor(row=self.steps.index(failure))

    def start(self) -> None:
        self.steps = []
        self.done = False
        self.token_error = None
        self.refresh_bindings()
        self.query_one(DataTable).clear()
        self.query_one("#test-status", Static).update("Testing…")
        self.query_one("#test-detail", Static).update("")
        self.run_checks()

    @work(thread=True, exclusive=True, group="connection-test", exit_on_error=False)
    def run_checks(self) -> None:
        from tamago_tui.backend.diagnostics import run_checks

        account = self.account
        oauth = account.oauth_mechanism if account.auth == "oauth2" else None
        if oauth:
            # A fresh token every run (the last one may be why the test is run again).
            self.password = self.smtp_password = self._access_token(account)
        elif self.password is None and account.name in self.app.services.config.accounts:
            self.password, self.smtp_password = self._stored_secrets(account)
        steps = run_checks(
            account.imap if self.only in (None, "imap") else None,
            account.smtp if self.only in (None, "smtp") else None,
            self.password,
            smtp_password=self.smtp_password,
            cafile=account.cafile,
            timeout=self.app.services.settings.timeout,
            nameserver=self.app.services.settings.nameserver,
            provider=account.provider,
            oauth_mechanism=oauth,
        )
        for step in steps:
            self.post_message(StepReported(step))
        self.post_message(StepReported(None))

    def _access_token(self, account: Account) -> str | None:
        """A current OAuth access token (refreshed or from the token command), saved account or not.

        Without one the checklist still runs up to the login; the reason is the first
        step, so the report, the accounts list and the fix all name it.
        """
        from tamago_tui.backend.accounts import secret_store
        from tamago_tui.backend.diagnostics import Step
        from tamago_tui.backend.errors import TamagoError
        from tamago_tui.backend.oauth import access_token

        try:
            secrets = None if account.token_command else secret_store(self.app.services, prompt=self._ask_passphrase)
            return access_token(self.app.services, account, secrets)
        except TamagoError as exc:
            self.token_error = exc
            self.post_message(StepReported(Step("oauth", "Sign-in", "fail", str(exc), category=exc.category)))
            return None

    def _stored_secrets(self, account: Account) -> tuple[str | None, str | None]:
        """The saved password(s); a missing one just stops the checklist before login."""
        from tamago_tui.backend.accounts import secret_store
        from tamago_tui.backend.errors import TamagoError

        try:
            secrets = secret_store(self.app.services, prompt=self._ask_passphrase)
            return secrets.password_for(account, "imap"), secrets.password_for(account, "smtp")
        except TamagoError as exc:
            self.app.call_from_thread(self.notify, escape(f"{exc.title}: {exc}"), severity="error")
            return None, None

    def _ask_passphrase(self, question: str = "Master passphrase for tamago's password store") -> str | None:
        from tamago_tui.screens.passphrase import SecretPrompt
        from tamago_tui.widgets.ask import ask_from_thread

        return ask_from_thread(self.app, SecretPrompt(question))

    def on_step_reported(self, message: StepReported) -> None:
        step = message.step
        if step is None:
            self.finish()
            return
        self._add_step(step)

    def _add_step(self, step) -> None:
        self.steps.append(step)
        table = self.query_one(DataTable)
        width = self.detail_width
        detail = step.detail if len(step.detail) <= width else step.detail[: width - 1] + "…"
        table.add_row(Text(f"{step.protocol.upper()} {step.name}"), MARKS.get(step.status, step.status),
                      Text(detail))
        table.move_cursor(row=table.row_count - 1)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.steps):
            step = self.steps[event.cursor_row]
            text = escape(step.detail)
            if step.status == "fail" and step.category:
                text += f"\n{self._guide_line(step)}Press x for the full fix."
            self.query_one("#test-detail", Static).update(text)

    def _guide_line(self, step) -> str:
        try:
            from tamago_tui.backend.troubleshoot import guide_for

            guide = guide_for(step.category, self.account.provider)
        except Exception:  # the guide is a help, never a new failure
            return f"Category: {step.category}. "
        return f"[b]{escape(guide.title)}[/b] ({step.category}). "

    def report(self):
        from tamago_tui.backend.diagnostics import collect

        return collect(self.steps)

    def finish(self) -> None:
        self.done = True
        self.refresh_bindings()
        report = self.report()
        if self.account.name in self.app.services.config.accounts:
            from tamago_tui.backend.accounts import record_test

            record_test(self.app.services, self.account, report)
        status = self.query_one("#test-status", Static)
        if report.ok:
            status.update("[green]✓ All checks passed.[/] Press escape to go back, r to run again.")
            return
        failure = report.first_failure
        self.query_one(DataTable).move_cursor(row=self.steps.index(failure))
        if self.needs_sign_in:
            status.update(f"[red]✗ Not signed in[/] ({report.category}): o signs in again, x shows the fix.")
            if not self.offered_sign_in:
                self.offered_sign_in = True
                self.action_sign_in()
            return
        hint = "x shows the fix"
        if failure.data.get("sha256"):
            hint += ", p pins this certificate"
        status.update(f"[red]✗ {failure.protocol.upper()} {failure.name} failed[/] ({report.category}): {hint}.")

    def folders(self) -> list:
        from tamago_tui.backend.accounts import folders_from

        return folders_from(self.steps)

    def action_close(self) -> None:
        if not self.done:
            self.workers.cancel_group(self, "connection-test")
        result = TestResult(self.account, self.report(), self.folders(), self.pinned, self.signed_in)
        self.dismiss(result if self.done else None)

    def action_sign_in(self) -> None:
        """Offer the sign-in; after a stored one, run the test again (once, on the person's word)."""
        if not self.needs_sign_in:
            return

        def signed_in(ok: bool) -> None:
            if ok:
                self.signed_in = True
                if self.is_attached:
                    self.start()

        self.app.offer_sign_in(self.account, str(self.token_error), then=signed_in)

    def action_rerun(self) -> None:
        if self.done:
            self.start()

    def action_copy(self) -> None:
        from tamago_tui.backend.diagnostics import format_report

        self.app.copy_to_clipboard(format_report(self.report()))
        self.notify("Report copied (it holds no password).")

    def action_troubleshoot(self) -> None:
        failure = self.report().first_failure if self.done else None
        if failure is None:
            return
        from tamago_tui.screens.troubleshoot import TroubleshootScreen

        screen = TroubleshootScreen()
        self.app.push_screen(screen)
        screen.call_after_refresh(screen.show_text, failure.detail, self.account.provider, failure.category)

    def action_pin(self) -> None:
        failure = self.report().first_failure if self.done else None
        if failure is None or not failure.data.get("sha256"):
            self.notify("Only an untrusted certificate can be pinned.", severity="warning")
            return
        from tamago_tui.screens.confirm import Confirm

        fingerprint = failure.data["sha256"]
        proto = failure.protocol

        def done(yes: bool | None) -> None:
            if yes:
                server = getattr(self.account, proto).with_(pinned_sha256=fingerprint)
                self.account = replace(self.account, **{proto: server})
                self.pinned = True
                self.start()

        self.app.push_screen(Confirm(
            f"Trust this exact {proto.upper()} certificate for {self.account.email} only?\n"
            f"SHA-256 {fingerprint}\nCompare it with what your administrator gives you first.",
            yes="Pin it (y)",
        ), done)
