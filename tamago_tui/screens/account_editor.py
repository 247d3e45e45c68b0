"""Account editor: provider preset, IMAP and SMTP settings, test, folders, save.

Picking a preset fills the form; typing an address at a known domain suggests
one. ctrl+l looks the servers up in the background. A connection test must pass
before the account can be saved (the Taskip seed); after a successful login the
folder list appears, with the provider's defaults ticked.

Auth is a password, a password command, or OAuth 2.0 (issue 7): for OAuth the
password fields give way to the SASL mechanism, an optional token command and a
line naming the OAuth provider and whether a client ID is configured. Presets
that recommend OAuth (Gmail, Office 365...) pick it for a new account until the
person picks otherwise. The test (ctrl+t) of an OAuth account that is not signed
in offers the sign-in; ctrl+o signs in directly.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from tamago_tui.widgets.markup import escape
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Checkbox, Footer, Input, Label, Select, SelectionList, Static

from tamago_tui.backend import providers
from tamago_tui.backend.config import check_aliases
from tamago_tui.backend.errors import ConfigError, TamagoError
from tamago_tui.backend.models import DEFAULT_PORTS, Account, Protocol, Security, ServerSettings
from tamago_tui.widgets.navbar import NavBar
from tamago_tui.screens.base import BaseScreen

SECURITY_CHOICES = [(s.label, s.value) for s in Security]
AUTH_CHOICES = [("Password", "password"), ("Password command", "command"), ("OAuth 2.0", "oauth2")]
FLOW_NAMES = {"device": "device-code", "loopback": "browser", "paste": "browser"}
MECHANISM_CHOICES = [("XOAUTH2 mechanism", "XOAUTH2"), ("OAUTHBEARER mechanism (RFC 7628)", "OAUTHBEARER")]


def split_aliases(text: str) -> list[str]:
    """"a@x, b@y; c@z" -> ["a@x", "b@y", "c@z"]; a part with spaces stays whole, so its error names it."""
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


def _slug(email: str, taken) -> str:
    base = (email.split("@")[0] or "account").lower()
    base = "".join(c if c.isalnum() or c in "-_" else "-" for c in base).strip("-") or "account"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


class AccountEditor(BaseScreen[str | None]):
    # Short descriptions fit the footer at 80 columns; the tooltips are what the palette shows.
    BINDINGS = [
        Binding("ctrl+t", "test", "Test", id="editor.test", priority=True, tooltip="Test the connection"),
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True,
                tooltip="Save the account (after a passing test)"),
        Binding("ctrl+l", "lookup", "Lookup", id="editor.lookup", priority=True,
                tooltip="Look up the servers for this address"),
        Binding("ctrl+r", "clear", "Clear", id="editor.clear", priority=True, tooltip="Clear the form"),
        Binding("ctrl+o", "sign_in", "Sign in", id="editor.sign_in", priority=True, show=False,
                tooltip="Sign in with OAuth 2.0 now (the test offers it too)"),
        Binding("escape", "cancel", "Cancel", id="editor.cancel", tooltip="Close the editor without saving"),
    ]

    def __init__(self, account: Account | None = None):
        super().__init__()
        self.original = account
        self.tested: Account | None = None  # the settings that last passed a test
        self.folders: list[tuple[str, tuple[str, ...]]] = []
        self.confirmed_plaintext = False
        self.last_report = None
        self.pristine: tuple | None = None  # the form as opened, to tell whether escape loses anything
        # The auth a preset suggested; once the person picks another, presets leave it alone.
        self.suggested_auth = _auth_of(account)
        self.auth_chosen = account is not None
        # An OAuth sign-in stored for this unsaved account, forgotten again if it is not saved.
        self.unsaved_sign_in: Account | None = None

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        a = self.original
        choices = [(p.name, p.id) for p in providers.all_providers()]
        yield NavBar("Edit account" if a else "Add account")
        with VerticalScroll(id="editor-form"):
            with Horizontal(classes="field-row"):
                yield Label("Provider", classes="field-label")
                yield Select(choices, value=a.provider if a else "custom", allow_blank=False,
                             id="provider", compact=True)
            yield from self._row("Email", "email", a.email if a else "", placeholder="you@example.org")
            # The preset's badges and the form's warnings, near the top so they need no scrolling.
            yield Static("", id="editor-notes", classes="notes")
            yield from self._row("Name", "display_name", a.display_name if a else "",
                                 placeholder="display name (optional)")
            yield from self._row("Aliases", "aliases", ", ".join(a.aliases) if a else "",
                                 placeholder="other addresses you send as, comma-separated (optional)")
            with Horizontal(classes="field-row"):
                yield Label("Auth", classes="field-label")
                yield Select(AUTH_CHOICES, value=_auth_of(a), allow_blank=False, id="auth", compact=True)
            yield from self._row("Pass cmd", "password_command", a.password_command if a else "",
                                 placeholder="a command that prints the password (pass, gopass…)",
                                 row_id="password-command-row")
            with Horizontal(classes="field-row", id="oauth-mechanism-row"):
                yield Label("SASL", classes="field-label")
                yield Select(MECHANISM_CHOICES, value=a.oauth_mechanism if a else "XOAUTH2", allow_blank=False,
                             id="oauth_mechanism", compact=True)
            yield from self._row("Token", "token_command", a.token_command if a else "",
                                 placeholder="optional: a command that prints an access token (mutt_oauth2.py…)",
                                 row_id="token-command-row")
            yield Static("", id="oauth-info")
            yield Static("IMAP (reading mail)", classes="section")
            yield from self._server_rows("imap", a.imap if a else None)
            yield from self._row("Password", "imap_password", "", password=True,
                                 placeholder="kept as is" if a else "app password if your provider needs one",
                                 row_id="imap-password-row")
            yield Static("SMTP (sending mail)", classes="section")
            yield Checkbox("Same username and password as IMAP", value=self._smtp_same(a), id="smtp_same",
                           compact=True)
            yield from self._server_rows("smtp", a.smtp if a else None)
            yield from self._row("Password", "smtp_password", "", password=True,
                                 placeholder="only if different from IMAP", row_id="smtp-password-row")
            yield from self._row("Backfill", "backfill_days", str(a.backfill_days if a else 90),
                                 placeholder="days of history to index")
            yield from self._row("CA file", "cafile", a.cafile if a else "",
                                 placeholder="optional: PEM file of a private certificate authority")
            yield Static("Folders: test the connection to choose.", id="folders-hint", classes="section")
            yield SelectionList[str](id="folders")
            yield Static("", id="provider-notes", classes="hint")
        yield Static("", id="editor-status", classes="status-line")
        yield Footer()

    def _row(self, label, field_id, value, placeholder="", password=False, row_id=None):
        with Horizontal(classes="field-row", id=row_id):
            yield Label(label, classes="field-label")
            yield Input(value, id=field_id, placeholder=placeholder, password=password, compact=True)

    def _server_rows(self, proto: str, server: ServerSettings | None):
        default_security = Security.SSL if proto == "imap" else Security.STARTTLS
        security = server.security if server else default_security
        port = server.port if server else DEFAULT_PORTS[(Protocol(proto), security)]
        with Horizontal(classes="field-row"):
            yield Label("Host", classes="field-label")
            yield Input(server.host if server else "", id=f"{proto}_host", compact=True,
                        placeholder=f"e.g. {proto}.example.org")
            yield Label(" Port ")
            yield Input(str(port), id=f"{proto}_port", compact=True, classes="port")
            yield Select(SECURITY_CHOICES, value=security.value, allow_blank=False,
                         id=f"{proto}_security", compact=True, classes="security")
        with Horizontal(classes="field-row"):
            yield Label("Username", classes="field-label")
            yield Input(server.username if server else "", id=f"{proto}_username", compact=True,
                        placeholder="usually the full address")

    @staticmethod
    def _smtp_same(a: Account | None) -> bool:
        return a is None or a.smtp.username == a.imap.username

    def on_mount(self) -> None:
        if self.original is None:
            self.query_one("#email", Input).focus()
        elif self.original.auth == "password":
            self.query_one("#imap_password", Input).focus()
        else:
            self.query_one("#auth", Select).focus()
        self._show_auth_fields()
        if self.original:
            self.folders = [(f, ()) for f in self.original.folders]
        self._show_folders(list(self.original.folders) if self.original else [])
        self._update_smtp_fields()
        self._show_notes()
        self.call_after_refresh(self._remember_pristine)

    def _remember_pristine(self) -> None:
        self.pristine = self._form_state()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sign_in":
            try:
                return self.auth == "oauth2" and not self.value("token_command")
            except NoMatches:  # asked before the form exists
                return False
        return super().check_action(action, parameters)

    # -- reading the form -----------------------------------------------------

    def value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value.strip()

    def _server(self, proto: str) -> ServerSettings:
        security = Security(self.query_one(f"#{proto}_security", Select).value)
        port_text = self.value(f"{proto}_port")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise TamagoError(f"The {proto.upper()} port must be a number from 1 to 65535.", title="Invalid port")
        username = self.value(f"{proto}_username")
        if proto == "smtp" and self.query_one("#smtp_same", Checkbox).value:
            username = self.value("imap_username")
        pinned = ""
        if self.original:
            old = getattr(self.original, proto)
            if (old.host, old.port) == (self.value(f"{proto}_host"), int(port_text)):
                pinned = old.pinned_sha256
        if self.tested is not None:
            pinned = getattr(self.tested, proto).pinned_sha256 or pinned
        return ServerSettings(self.value(f"{proto}_host"), int(port_text), security, username, pinned)

    def form_account(self) -> Account:
        email = self.value("email")
        if "@" not in email:
            raise TamagoError("Enter the mailbox's email address.", title="Missing address")
        imap, smtp = self._server("imap"), self._server("smtp")
        for proto, server in (("IMAP", imap), ("SMTP", smtp)):
            if not server.host:
                raise TamagoError(f"Enter the {proto} server, or press ctrl+l to look it up.", title="Missing server")
        backfill = self.value("backfill_days") or "90"
        if not backfill.isdigit():
            raise TamagoError("Backfill days must be a whole number.", title="Invalid backfill")
        selected = tuple(self.query_one("#folders", SelectionList).selected)
        auth = self.auth
        if auth == "command" and not self.value("password_command"):
            raise TamagoError("Enter the password command, or choose another Auth.", title="Missing command")
        try:
            aliases = check_aliases(email, split_aliases(self.value("aliases")))
        except ConfigError as exc:
            raise TamagoError(str(exc), title="Aliases") from None
        taken = {n for n in self.app.services.config.accounts if not self.original or n != self.original.name}
        return Account(
            name=self.original.name if self.original else _slug(email, taken),
            email=email,
            display_name=self.value("display_name"),
            aliases=aliases,
            provider=str(self.query_one("#provider", Select).value),
            imap=imap,
            smtp=smtp,
            backfill_days=int(backfill),
            folders=selected,
            password_command=self.value("password_command") if auth == "command" else "",
            auth=auth,
            oauth_mechanism=str(self.query_one("#oauth_mechanism", Select).value) if auth == "oauth2"
            else (self.original.oauth_mechanism if self.original else "XOAUTH2"),
            oauth_provider=self.original.oauth_provider if self.original else "",
            token_command=self.value("token_command") if auth == "oauth2" else "",
            cafile=self.value("cafile"),
            save_sent=self.original.save_sent if self.original else None,
            auto_cache=self.original.auto_cache if self.original else False,
        )

    @property
    def auth(self) -> str:
        return str(self.query_one("#auth", Select).value)

    def passwords(self) -> tuple[str | None, str | None]:
        if self.auth != "password":  # hidden fields: a command or OAuth provides the secret
            return None, None
        imap = self.value("imap_password") or None
        smtp = self.value("smtp_password") or None
        if self.query_one("#smtp_same", Checkbox).value:
            smtp = None
        return imap, smtp

    # -- reacting to input ----------------------------------------------------

    @on(Select.Changed, "#provider")
    def preset_chosen(self, event: Select.Changed) -> None:
        if event.value == "custom" or not self.value("email") and event.value == "custom":
            self._suggest_auth("custom")
            self._show_notes()
            self._show_oauth_info()
            return
        self.apply_preset(str(event.value))

    def apply_preset(self, provider_id: str) -> None:
        self._suggest_auth(provider_id)
        email = self.value("email") or "user@example.org"
        imap, smtp = providers.fill(provider_id, email)
        for proto, server in (("imap", imap), ("smtp", smtp)):
            if server.host:
                self.query_one(f"#{proto}_host", Input).value = server.host
            self.query_one(f"#{proto}_port", Input).value = str(server.port)
            self.query_one(f"#{proto}_security", Select).value = server.security.value
            if self.value("email"):
                self.query_one(f"#{proto}_username", Input).value = server.username
        self._show_notes()
        self._show_oauth_info()

    def _suggest_auth(self, provider_id: str) -> None:
        """A new account follows the preset: OAuth where it is recommended, else a password."""
        if self.auth_chosen:
            return
        try:
            recommended = providers.get(provider_id).oauth_recommended
        except TamagoError:
            recommended = False
        self.suggested_auth = "oauth2" if recommended else "password"
        self.query_one("#auth", Select).value = self.suggested_auth

    @on(Select.Changed, "#auth")
    def auth_changed(self, event: Select.Changed) -> None:
        if event.value != self.suggested_auth:
            self.auth_chosen = True  # the person's choice from now on
        self._show_auth_fields()
        self._show_notes()

    @on(Select.Changed, "#oauth_mechanism")
    @on(Input.Changed, "#token_command")
    def _oauth_changed(self) -> None:
        self._show_oauth_info()

    def _show_auth_fields(self) -> None:
        auth = self.auth
        self.query_one("#password-command-row").display = auth == "command"
        for row in ("#oauth-mechanism-row", "#token-command-row", "#oauth-info"):
            self.query_one(row).display = auth == "oauth2"
        self.query_one("#imap-password-row").display = auth == "password"
        self.query_one("#smtp-password-row").display = auth == "password"
        label = "Same username and password as IMAP" if auth == "password" else "Same username as IMAP"
        self.query_one("#smtp_same", Checkbox).label = label
        self._show_oauth_info()
        self.refresh_bindings()  # ctrl+o is for OAuth only

    def _show_oauth_info(self) -> None:
        """Which OAuth server signs this address in, and whether tamago has a client ID for it."""
        info = self.query_one("#oauth-info", Static)
        if self.auth != "oauth2":
            info.update("")
            return
        if self.value("token_command"):
            info.update("Access tokens come from the token command; tamago does not sign in itself.")
            return
        from tamago_tui.backend.oauth_providers import load_providers, provider_for_account

        probe = Account(name="", email=self.value("email") or "user@example.org",
                        imap=ServerSettings("", 993, Security.SSL), smtp=ServerSettings("", 587, Security.STARTTLS),
                        provider=str(self.query_one("#provider", Select).value),
                        oauth_provider=self.original.oauth_provider if self.original else "")
        try:
            server = provider_for_account(probe, load_providers(self.app.services.config.oauth))
        except TamagoError as exc:
            info.update(f"[b]OAuth provider:[/b] unknown. {escape(str(exc))}")
            return
        name = escape(server.name or server.key)
        if server.client_id:
            where = " (site)" if server.client_id_from not in ("config.toml", "built-in") else ""
            info.update(f"[b]OAuth provider:[/b] {name} · client ID configured{where} ✓ · "
                        f"{escape(FLOW_NAMES.get(server.default_flow, server.default_flow))} sign-in (ctrl+o)")
        else:
            info.update(f"[b]OAuth provider:[/b] {name} · [b]no client ID configured[/b]: register an app and "
                        f"set client_id under {escape(f'[oauth.{server.key}]')} in config.toml (docs/oauth.md)."
                        + (f" {escape(server.register_url)}" if server.register_url else ""))

    @on(Input.Changed, "#email")
    def email_typed(self, event: Input.Changed) -> None:
        email = event.value.strip()
        if "@" not in email:
            return
        provider = providers.for_email(email)
        select = self.query_one("#provider", Select)
        self._show_oauth_info()
        if provider and select.value != provider.id:
            select.value = provider.id  # fires preset_chosen, which fills the form
        elif provider:
            self.apply_preset(provider.id)
        if not self.original:
            for proto in ("imap", "smtp"):
                field = self.query_one(f"#{proto}_username", Input)
                if not field.value or "@" in field.value or field.value == email.split("@")[0][:-1]:
                    if not provider:
                        field.value = email

    @on(Checkbox.Changed, "#smtp_same")
    def _update_smtp_fields(self) -> None:
        same = self.query_one("#smtp_same", Checkbox).value
        self.query_one("#smtp_username", Input).disabled = same
        self.query_one("#smtp_password", Input).disabled = same
        self._show_notes()

    @on(Select.Changed, ".security")
    def security_changed(self, event: Select.Changed) -> None:
        proto = event.select.id.split("_")[0]
        security = Security(event.value)
        port = self.query_one(f"#{proto}_port", Input)
        standard = {str(p) for p in DEFAULT_PORTS.values()}
        if not port.value or port.value in standard:
            port.value = str(DEFAULT_PORTS[(Protocol(proto), security)])
        if security is Security.NONE:
            self.confirmed_plaintext = False
        self._show_notes()

    @on(Input.Changed, "#imap_username, #smtp_username")
    def _username_changed(self) -> None:
        self._show_notes()

    def _show_notes(self) -> None:
        notes, details = [], []
        try:
            provider = providers.get(str(self.query_one("#provider", Select).value))
        except Exception:
            provider = None
        if provider is not None and provider.id != "custom":
            flags = providers.flag_notes(provider)
            if flags:
                notes.append(f"[b]{escape(provider.name)}:[/b] " + " · ".join(escape(f) for f in flags))
            details = [f"• {escape(n)}" for n in provider.notes]
            if provider.help_url:
                details.append(f"→ {escape(provider.help_url)}")
        imap_user = self.value("imap_username")
        smtp_user = imap_user if self.query_one("#smtp_same", Checkbox).value else self.value("smtp_username")
        if smtp_user and imap_user and smtp_user.lower() != imap_user.lower():
            notes.append(
                "⚠ The SMTP login differs from the IMAP mailbox: mail will sync from one "
                "inbox and be sent from another identity."
            )
        for proto in ("imap", "smtp"):
            if self.query_one(f"#{proto}_security", Select).value == "none":
                secret = "access token" if self.auth == "oauth2" else "password"
                notes.append(f"⚠ {proto.upper()} without encryption sends your {secret} in clear text.")
        box = self.query_one("#editor-notes", Static)
        box.update("\n".join(notes))
        box.display = bool(notes)
        more = self.query_one("#provider-notes", Static)
        more.update(f"[b]Notes for {escape(provider.name)}[/b]\n" + "\n".join(details) if details else "")
        more.display = bool(details)

    def _show_folders(self, selected: list[str]) -> None:
        folder_list = self.query_one("#folders", SelectionList)
        folder_list.clear_options()
        for name, flags in folder_order(self.folders):
            label = f"{name}  {' '.join(special_use(flags))}".rstrip()
            # Text, not markup: "[Gmail]/All Mail" would lose its "[Gmail]" as a style tag.
            folder_list.add_option((Text(label), name, name in selected))
        hint = "Folders to index (space toggles):" if self.folders else "Folders: test the connection to choose."
        self.query_one("#folders-hint", Static).update(hint)
        folder_list.display = bool(self.folders)

    def _focus_folders(self) -> None:
        """After a passing test the next step is the folder list: go there, first folder highlighted."""
        folder_list = self.query_one("#folders", SelectionList)
        folder_list.focus()
        if folder_list.option_count and folder_list.highlighted is None:
            folder_list.highlighted = 0
        self.query_one("#folders-hint").scroll_visible(animate=False, top=True)

    def status(self, text: str) -> None:
        self.query_one("#editor-status", Static).update(text)

    # -- actions --------------------------------------------------------------

    def action_clear(self) -> None:
        for field in self.query(Input):
            field.value = ""
        self.query_one("#provider", Select).value = "custom"
        # Blank ports and backfill would only fail validation: back to the defaults.
        for proto in ("imap", "smtp"):
            security = Security(self.query_one(f"#{proto}_security", Select).value)
            self.query_one(f"#{proto}_port", Input).value = str(DEFAULT_PORTS[(Protocol(proto), security)])
        self.query_one("#backfill_days", Input).value = "90"
        self.tested = None
        self.folders = []
        self._show_folders([])
        self.status("Cleared.")
        self.query_one("#email", Input).focus()

    def action_sign_in(self) -> None:
        """Sign the account as filled in now in with OAuth; the test can then log in."""
        if self.auth != "oauth2" or self.value("token_command"):
            self.status("Choose Auth: OAuth 2.0 (without a token command) to sign in here.")
            return
        try:
            account = self.form_account()
        except TamagoError as exc:
            self.status(f"[b]{escape(exc.title)}:[/b] {escape(str(exc))}")
            return

        def done(ok: bool) -> None:
            if ok:
                self._signed_in(account)
                self.status("✓ Signed in. ctrl+t tests the connection with it.")

        self.app.sign_in(account, then=done)

    def _signed_in(self, account: Account) -> None:
        """Remember a sign-in stored under a name no saved account has yet (see _close)."""
        if self.original is None or self.original.name != account.name:
            self.unsaved_sign_in = account

    def _close(self) -> None:
        """Leave without saving; a sign-in made for the unsaved account goes with it."""
        if self.unsaved_sign_in is not None:
            self.forget_sign_in(self.unsaved_sign_in)
        self.dismiss(None)

    @work(thread=True, group="forget-sign-in", exit_on_error=False)
    def forget_sign_in(self, account: Account) -> None:
        from tamago_tui.backend import oauth

        try:
            oauth.for_services(self.app.services, prompt=self._passphrase_prompt).logout(account, revoke=False)
        except TamagoError as exc:
            self.app.call_from_thread(self.notify, escape(f"Could not forget the sign-in of {account.email}: {exc}"),
                                      severity="warning")

    def _form_state(self) -> tuple:
        return (tuple(i.value for i in self.query(Input)), tuple(s.value for s in self.query(Select)),
                self.query_one("#smtp_same", Checkbox).value,
                tuple(self.query_one("#folders", SelectionList).selected))

    def action_cancel(self) -> None:
        """Close; a form with changes asks first, so a stray escape loses nothing."""
        from tamago_tui.screens.confirm import Confirm

        if self.pristine is None or self._form_state() == self.pristine:
            self._close()
            return

        def done(discard: bool | None) -> None:
            if discard:
                self._close()

        self.app.push_screen(Confirm("Discard the changes to this account?", yes="Discard (y)",
                                     no="Keep editing (n)"), done)

    @on(Input.Submitted)
    def next_field(self) -> None:
        """Enter moves on to the next field, as in a paper form."""
        self.focus_next()

    def action_lookup(self) -> None:
        email = self.value("email")
        if "@" not in email:
            self.status("Enter the email address first.")
            return
        self.status(escape(f"Looking up the servers for {email.split('@')[1]}…"))
        self.run_lookup(email)

    @work(thread=True, exclusive=True, group="lookup", exit_on_error=False)
    def run_lookup(self, email: str) -> None:
        from tamago_tui.backend.discovery import lookup

        try:
            result = lookup(email, nameserver=self.app.services.settings.nameserver)
        except TamagoError as exc:
            self.app.call_from_thread(self.status, f"[b]Lookup failed:[/b] {escape(str(exc))}")
            return
        self.app.call_from_thread(self._apply_lookup, result)

    def _apply_lookup(self, result) -> None:
        if result.imap is None and result.smtp is None:
            self.status(escape(getattr(result, "message", "") or "Could not determine the server settings. "
                               "Contact your email administrator for the IMAP and SMTP details."))
            return
        for proto in ("imap", "smtp"):
            server = getattr(result, proto)
            if server is None:
                continue
            self.query_one(f"#{proto}_host", Input).value = server.host
            self.query_one(f"#{proto}_port", Input).value = str(server.port)
            self.query_one(f"#{proto}_security", Select).value = server.security.value
            if server.username:
                self.query_one(f"#{proto}_username", Input).value = server.username
        if getattr(result, "provider", None):
            self.query_one("#provider", Select).value = result.provider
        found = f"Found via {result.source} ({result.confidence} confidence)."
        password = self.query_one("#imap_password", Input)
        if self.auth == "password" and not password.value and self.original is None:
            password.focus()  # the one field left before a test
            self.status(f"{found} Enter the password, then ctrl+t tests the connection.")
        else:
            self.status(f"{found} Test the connection next (ctrl+t).")

    def action_test(self) -> None:
        from tamago_tui.screens.confirm import Confirm
        from tamago_tui.screens.connection_test import ConnectionTestScreen

        try:
            account = self.form_account()
        except TamagoError as exc:
            self.status(f"[b]{escape(exc.title)}:[/b] {escape(str(exc))}")
            return
        plaintext = Security.NONE in (account.imap.security, account.smtp.security)
        if plaintext and not self.confirmed_plaintext:

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.confirmed_plaintext = True
                    self.action_test()

            self.app.push_screen(
                Confirm("Security 'none' sends your password unencrypted over the network. "
                        "Use it only on a network you control. Continue?", yes="Send unencrypted (y)"),
                confirmed,
            )
            return
        if account.auth == "oauth2":
            # The test gets a token itself (refreshed, or from the token command) and offers the
            # sign-in when there is none yet.
            self.app.push_screen(ConnectionTestScreen(account, None), self._test_finished)
            return
        imap_password, smtp_password = self.passwords()
        keeps_stored = self.original is not None and self.original.name == account.name
        if not imap_password and not account.password_command and not keeps_stored:
            self.status("Enter the password first (or a password command).")
            self.query_one("#imap_password", Input).focus()
            return
        if account.password_command and not imap_password:
            from tamago_tui.backend.secrets import run_command

            try:
                imap_password = run_command(account.password_command)
            except TamagoError as exc:
                self.status(f"[b]Password command failed:[/b] {escape(str(exc))}")
                return
        self.app.push_screen(
            ConnectionTestScreen(account, imap_password, smtp_password), self._test_finished
        )

    def _test_finished(self, result) -> None:
        if result is None:
            return
        account, report = result.account, result.report
        if result.signed_in:
            self._signed_in(account)
        self.last_report = report
        if report.ok:
            self.tested = account
            folders = result.folders
            if folders:
                self.folders = folders
                defaults = list(account.folders) or providers.default_folders(account.provider, folders)
                self._show_folders(defaults)
                self.call_after_refresh(self._focus_folders)
            self.status("✓ Connection test passed. Check the folders (space ticks), then ctrl+s saves.")
        else:
            self.tested = None
            failure = report.first_failure
            self.status(f"✗ {failure.protocol.upper()} {failure.name} failed ({report.category}). "
                        "Fix it and test again; saving needs a passing test.")
        if result.pinned:
            self.tested = account if report.ok else None
            self.status(self.query_one("#editor-status", Static).content + "  (certificate pinned)")

    def action_save(self) -> None:
        try:
            account = self.form_account()
        except TamagoError as exc:
            self.status(f"[b]{escape(exc.title)}:[/b] {escape(str(exc))}")
            return
        if self.tested is None or not _same_servers(self.tested, account) or not _same_login(self.tested, account):
            self.status("Test the connection first (ctrl+t): a failing or untested account cannot be saved.")
            return
        account = replace(account, imap=self.tested.imap, smtp=self.tested.smtp)
        if not account.folders and self.folders:
            self.status("Choose at least one folder to index.")
            return
        imap_password, smtp_password = self.passwords()
        self.save_account(account, imap_password, smtp_password)

    @work(thread=True, exclusive=True, group="save-account", exit_on_error=False)
    def save_account(self, account: Account, imap_password, smtp_password) -> None:
        from tamago_tui.backend.accounts import record_test, save_account

        try:
            save_account(self.app.services, account, imap_password, smtp_password,
                         prompt=self._passphrase_prompt, previous=self.original)
            record_test(self.app.services, account, self.last_report)
        except TamagoError as exc:
            self.app.call_from_thread(self.status, f"[b]{escape(exc.title)}:[/b] {escape(str(exc))}")
            return
        self.app.call_from_thread(self._saved, account)

    def _passphrase_prompt(self, question: str = "Master passphrase for tamago's password store") -> str | None:
        from tamago_tui.screens.passphrase import SecretPrompt
        from tamago_tui.widgets.ask import ask_from_thread

        hint = "No system keyring here: passwords are kept in an encrypted file instead."
        return ask_from_thread(self.app, SecretPrompt(question, hint))

    def _saved(self, account: Account) -> None:
        if self.unsaved_sign_in is not None and self.unsaved_sign_in.name == account.name:
            self.unsaved_sign_in = None  # saved under the name it was signed in with: keep it
        self.notify(escape(f"Saved {account.email}."))
        self.dismiss(account.name)  # the list selects it


# RFC 6154 SPECIAL-USE flags, plus Gmail's \\Important; \\HasNoChildren and the like are noise here.
SPECIAL_USE = {"\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash", "\\important"}


def special_use(flags) -> list[str]:
    return [str(f) for f in flags or () if str(f).lower() in SPECIAL_USE]


def folder_order(folders: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, tuple[str, ...]]]:
    """INBOX first, then the special-use folders (Sent, All Mail...), then the rest, each in server order."""
    def rank(item):
        name, flags = item
        return 0 if name.upper() == "INBOX" else 1 if special_use(flags) else 2

    return sorted(folders, key=rank)


def _auth_of(account: Account | None) -> str:
    """The Auth choice for an account; a password command counts even where auth was left at
    "password" (as this editor used to save it)."""
    if account is None:
        return "password"
    if account.auth == "password" and account.password_command:
        return "command"
    return account.auth if account.auth in {v for _, v in AUTH_CHOICES} else "password"


def _same_login(a: Account, b: Account) -> bool:
    """The test logged in the way the account will: same auth, command and mechanism."""
    def key(x: Account):
        return (x.auth, x.password_command, x.token_command, x.oauth_mechanism if x.auth == "oauth2" else "")

    return key(a) == key(b)


def _same_servers(a: Account, b: Account) -> bool:
    def key(s: ServerSettings):
        return (s.host, s.port, s.security, s.username)

    return key(a.imap) == key(b.imap) and key(a.smtp) == key(b.smtp) and a.email == b.email
