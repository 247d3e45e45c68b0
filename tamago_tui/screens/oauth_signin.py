"""OAuth 2.0 sign-in, usable over SSH on a machine with no browser.

- Device code (Microsoft): the page to open on any device and the code to type
  there, large, with the time left; the token endpoint is polled in a thread.
- Loopback (Google): the address to open, the exact `ssh -L` command that carries
  the browser's return to this machine, and an Input for pasting the address the
  browser ended on when no tunnel is possible.
- Paste: the address to open and the Input.

The flows are backend/oauth_flows.py's; this screen only shows them and passes
the pasted address on. Escape cancels: the worker stops polling (or listening)
and nothing is stored. A failure shows its troubleshooting guide and offers "r
Sign in again"; nothing is ever retried on its own. The screen's result is True
when a sign-in was stored.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from tamago_tui.backend.errors import OAuthError, TamagoError, UsageError
from tamago_tui.backend.models import Account
from tamago_tui.messages import SignInFinished, SignInPrompt
from tamago_tui.screens.base import BaseScreen
from tamago_tui.widgets.error_modal import describe
from tamago_tui.widgets.markup import escape
from tamago_tui.widgets.navbar import NavBar

FLOW_LABELS = {"device": "device code", "loopback": "browser, loopback redirect", "paste": "browser, paste the address"}
# How long the loopback listener and the paste box wait for the browser.
BROWSER_WAIT = 600.0


@dataclass(frozen=True)
class Guide:
    """What the failure view shows under the error: a title, the cause and the steps."""

    title: str
    cause: str
    steps: tuple[str, ...]
    links: tuple[str, ...] = ()


def guide_for_error(error: Exception, preset: str) -> Guide | None:
    """The troubleshooting guide of a sign-in failure: the one it carries, else its category's."""
    explanation = getattr(error, "explanation", None)
    if explanation is not None and explanation.category != "unknown":
        return Guide(explanation.title, explanation.cause, tuple(explanation.steps), tuple(explanation.links))
    category = getattr(error, "category", "unknown")
    if not isinstance(error, TamagoError) or category == "unknown":
        return None
    try:
        from tamago_tui.backend.troubleshoot import guide_for

        guide = guide_for(category, preset)
    except Exception:  # a missing guide must never hide the error itself
        return None
    return Guide(guide.title, guide.cause, tuple(guide.steps), tuple(guide.links))


def spaced(code: str) -> str:
    """A user code set out for reading aloud and typing: `ABCD1234` -> `ABCD 1234`."""
    code = code.strip()
    if "-" in code or " " in code or len(code) < 6:
        return code
    half = (len(code) + 1) // 2
    return f"{code[:half]} {code[half:]}"


def clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.999))
    return f"{seconds // 60}:{seconds % 60:02d}"


class OAuthSignInScreen(BaseScreen[bool]):
    DEFAULT_CSS = """
    OAuthSignInScreen #signin-body {
        height: 1fr;
        padding: 0 1;
    }
    OAuthSignInScreen #signin-body > Static {
        height: auto;
    }
    OAuthSignInScreen .signin-step {
        margin-top: 1;
    }
    OAuthSignInScreen .signin-value {
        padding: 0 0 0 3;
        text-style: bold;
        color: $accent;
    }
    OAuthSignInScreen #signin-code {
        width: auto;
        margin: 0 0 0 3;
        padding: 1 4;
        border: round $accent;
        text-style: bold;
        color: $text;
    }
    OAuthSignInScreen #signin-paste {
        margin: 0 0 0 3;
        width: 1fr;
    }
    OAuthSignInScreen .signin-ok {
        color: $success;
        text-style: bold;
    }
    OAuthSignInScreen .signin-error {
        color: $error;
        text-style: bold;
    }
    OAuthSignInScreen .signin-guide {
        margin-top: 1;
        color: $text-muted;
    }
    """
    # One escape: it cancels a sign-in that is still waiting, and goes back once it has ended.
    BINDINGS = [
        Binding("escape", "back", "Back", id="signin.back",
                tooltip="Go back (a sign-in still waiting is cancelled; nothing is stored)"),
        Binding("ctrl+y", "copy_link", "Copy link", id="signin.copy", priority=True,
                tooltip="Copy the sign-in address to the clipboard"),
        Binding("ctrl+b", "open_browser", "Open browser", id="signin.browser", priority=True,
                tooltip="Open the sign-in address in this machine's browser"),
        Binding("r", "again", "Sign in again", id="signin.again", tooltip="Start a new sign-in"),
    ]

    # Overridable so snapshots can freeze the countdown.
    clock = staticmethod(time.monotonic)

    def __init__(self, account: Account, *, flow: str | None = None, port: int = 0,
                 wait: float = BROWSER_WAIT, reason: str = ""):
        super().__init__()
        self.account = account
        self.flow = flow
        self.port = port
        self.wait = wait
        self.reason = reason
        self.state = "starting"  # starting, device, loopback, paste, finishing, done, failed
        self.prompt: SignInPrompt | None = None
        self.error: Exception | None = None
        self.signed_in = False
        self._code = None  # the AuthCodeFlow waiting for the browser, if any
        self._stop = threading.Event()
        self._pasted: str | None = None

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield NavBar(f"Sign in (OAuth) · {self.account.email}")
        yield VerticalScroll(id="signin-body")
        yield Static("", id="signin-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self.start()

    def start(self) -> None:
        self._stop = threading.Event()
        self._pasted = None
        self._code = None
        self.prompt = None
        self.error = None
        self._show([Static(self._intro(), classes="signin-intro")])
        self._set_state("starting", "Contacting the sign-in server…")
        self.run_sign_in()

    def _intro(self) -> str:
        lines = []
        if self.reason:
            lines.append(f"[b]{escape(self.reason)}[/b]")
        lines.append(f"Signing in {escape(self.account.email)} with OAuth 2.0 "
                     f"({escape(self.account.oauth_mechanism)}).")
        return "\n".join(lines)

    def _show(self, widgets: list) -> None:
        body = self.query_one("#signin-body", VerticalScroll)
        body.remove_children()
        body.mount_all(widgets)

    def _set_state(self, state: str, status: str = "") -> None:
        self.state = state
        self.query_one("#signin-status", Static).update(status)
        self.refresh_bindings()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        waiting = self.state in ("device", "loopback", "paste")
        return {
            "again": self.state == "failed",
            "copy_link": waiting,
            "open_browser": waiting and _can_open_browser(),
        }.get(action, True)

    # -- the worker ----------------------------------------------------------

    def on_unmount(self) -> None:
        # However the screen goes (dismissed, app quitting), the worker must not poll on.
        self._stop.set()

    @work(thread=True, exclusive=True, group="oauth-signin", exit_on_error=False)
    def run_sign_in(self) -> None:
        stop = self._stop
        worker = get_current_worker()

        def should_stop() -> bool:
            # Textual cancels workers when the app exits: that counts as escape too.
            return stop.is_set() or worker.is_cancelled

        try:
            message = self._sign_in(stop, should_stop)
        except Exception as exc:  # shown as a readable error, never as a traceback
            message = SignInFinished(error=exc)
        if not should_stop():
            self.post_message(message)

    def _sign_in(self, stop: threading.Event, should_stop) -> SignInFinished:
        from tamago_tui.backend import oauth as oauth_mod
        from tamago_tui.backend.oauth_flows import AuthCodeFlow, DeviceCodeFlow, ssh_forward_hint

        account = self.account
        if account.auth != "oauth2":
            raise UsageError(f"{account.email} signs in with a password, not OAuth. Choose OAuth 2.0 "
                             "in the account editor first.")
        if account.token_command:
            raise UsageError(f"{account.email} gets its tokens from its token command, so there is "
                             "nothing to sign in here.")
        services = self.app.services
        oauth = oauth_mod.for_services(services, prompt=self._ask_passphrase)
        provider = oauth.provider_for(account)
        name = provider.name or provider.key
        flow = self.flow or provider.default_flow
        if flow not in provider.flows:
            raise UsageError(f"{name} does not offer the {flow} sign-in; it offers: "
                             f"{', '.join(provider.flows) or 'none'}.")
        timeout = services.settings.timeout
        if flow == "device":
            device = DeviceCodeFlow(provider, timeout=timeout)
            auth = device.start()
            self.post_message(SignInPrompt("device", name, auth.verification_uri, user_code=auth.user_code,
                                           expires_at=auth.expires_at))
            # Event.wait as the sleep: escape wakes the poll at once instead of after the interval.
            tokens = device.poll(auth, sleep=stop.wait, should_stop=should_stop)
        else:
            code = AuthCodeFlow(provider, port=self.port, listen=flow == "loopback",
                                login_hint=account.email, timeout=timeout)
            self._code = code
            listening = flow == "loopback"
            try:
                self.post_message(SignInPrompt(
                    flow, name, code.authorization_url, expires_at=self.clock() + self.wait,
                    redirect_uri=code.redirect_uri, port=code.port,
                    ssh_hint=ssh_forward_hint(code.port) if flow == "loopback" else "",
                ))
                tokens = self._wait_for_browser(code, listening, stop, should_stop)
            finally:
                code.close()
        stored = oauth.save_sign_in(account, provider, tokens)
        where = "system keyring" if getattr(oauth.vault, "backend_name", "") == "keyring" \
            else "encrypted secret store"
        return SignInFinished(provider_name=name, stored=stored, where=where)

    def _wait_for_browser(self, code, listening: bool, stop: threading.Event, should_stop):
        """The loopback redirect or a pasted address, whichever comes first."""
        if listening:
            try:
                return code.wait(self.wait, should_stop=lambda: should_stop() or self._pasted is not None)
            except OAuthError as exc:
                if exc.error != "cancelled" or should_stop() or self._pasted is None:
                    raise
        else:
            deadline = self.clock() + self.wait
            while self._pasted is None:
                if stop.wait(0.2) or should_stop():
                    raise OAuthError("Sign-in cancelled.", category="unknown", error="cancelled")
                if self.clock() >= deadline:
                    raise OAuthError(f"Nothing was pasted within {self.wait:g} s. Start the sign-in again.",
                                     category="timeout", error="timeout")
        self.post_message(SignInPrompt("finishing", self.prompt.provider_name if self.prompt else ""))
        return code.complete(self._pasted)

    def _ask_passphrase(self, question: str = "Master passphrase for tamago's password store") -> str | None:
        from tamago_tui.screens.passphrase import SecretPrompt
        from tamago_tui.widgets.ask import ask_from_thread

        hint = "No system keyring here: the sign-in is kept in an encrypted file instead."
        return ask_from_thread(self.app, SecretPrompt(question, hint))

    # -- what the worker reports ---------------------------------------------

    def on_sign_in_prompt(self, message: SignInPrompt) -> None:
        if message.kind == "finishing":
            self._set_state("finishing", "Finishing the sign-in…")
            return
        self.prompt = message
        if message.kind == "device":
            self._show_device(message)
        else:
            self._show_browser(message)
        self._tick()

    def _show_device(self, p: SignInPrompt) -> None:
        self._show([
            Static(self._intro(), classes="signin-intro"),
            Static("1. On any device (phone, laptop), open this page in a browser:", classes="signin-step"),
            Static(Text(p.url), id="signin-url", classes="signin-value"),
            Static("2. Enter this code there:", classes="signin-step"),
            Static(Text(spaced(p.user_code)), id="signin-code"),
            Static(f"3. Sign in as {escape(self.account.email)} and allow tamago to read and send mail.",
                   classes="signin-step"),
        ])
        self._set_state("device")

    def _show_browser(self, p: SignInPrompt) -> None:
        widgets = [
            Static(self._intro(), classes="signin-intro"),
            Static("1. Open this address in a browser, on this machine or any other (ctrl+y copies it):",
                   classes="signin-step"),
            Static(Text(p.url, overflow="fold"), id="signin-url", classes="signin-value"),
        ]
        if p.kind == "loopback":
            widgets += [
                Static(f"2. After you approve, the browser returns to {escape(p.redirect_uri)}, where tamago "
                       "is listening. If the browser runs on another machine, forward the port from there "
                       "first:", classes="signin-step"),
                Static(Text(p.ssh_hint), id="signin-ssh", classes="signin-value"),
                Static("3. No tunnel? Paste the address the browser ended on (it starts with "
                       f"{escape(p.redirect_uri)}) and press enter:", classes="signin-step"),
            ]
        else:
            widgets.append(Static(
                f"2. After you approve, the browser fails to open {escape(p.redirect_uri)}… Copy that whole "
                "address from its address bar, paste it here and press enter:", classes="signin-step"))
        paste = Input(id="signin-paste", placeholder=f"{p.redirect_uri}?code=…&state=…", compact=True)
        widgets.append(paste)
        self._show(widgets)
        self._set_state(p.kind)
        paste.focus()

    def _tick(self) -> None:
        p = self.prompt
        if p is None or self.state not in ("device", "loopback", "paste"):
            return
        left = clock_text(p.expires_at - self.clock())
        if self.state == "device":
            text = f"Waiting for you to enter the code… it expires in {left}. esc cancels."
        elif self.state == "loopback":
            text = f"Waiting for the browser… {left} left. esc cancels."
        else:
            text = f"Waiting for the pasted address… {left} left. esc cancels."
        self.query_one("#signin-status", Static).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "signin-paste" or self._code is None or self.state not in ("loopback", "paste"):
            return
        problem = self._paste_problem(event.value)
        if problem:
            self.query_one("#signin-status", Static).update(f"[b]Not that address:[/b] {escape(problem)}")
            return
        self._pasted = event.value.strip()
        self._set_state("finishing", "Finishing the sign-in…")

    def _paste_problem(self, text: str) -> str:
        from tamago_tui.backend.oauth_flows import parse_redirect

        if not text.strip():
            return "nothing was pasted."
        params = parse_redirect(text)
        if not ({"code", "error"} & params.keys()):
            return f"it has no code. Paste the whole address that starts with {self._code.redirect_uri}"
        if params.get("state") != self._code.state:
            return "it belongs to a different sign-in (its state does not match). Use the link shown here."
        return ""

    def on_sign_in_finished(self, message: SignInFinished) -> None:
        if message.error is not None:
            self._show_failure(message.error)
            return
        self.signed_in = True
        widgets = [
            Static(self._intro(), classes="signin-intro"),
            Static(f"✓ Signed in {escape(self.account.email)} with {escape(message.provider_name)}.",
                   id="signin-result", classes="signin-ok signin-step"),
            Static(f"The refresh token is kept in the {message.where}, never in config.toml or the "
                   "database. tamago renews access tokens by itself.", classes="signin-step"),
        ]
        if not message.stored:
            widgets.append(Static(
                f"[b]Warning:[/b] {escape(message.provider_name)} sent no refresh token, so this sign-in "
                "lasts only until the access token expires. Check that the app registration allows "
                "offline access, then sign in again.", classes="signin-step"))
        self._show(widgets)
        self._set_state("done", "Signed in. esc goes back.")

    def _show_failure(self, error: Exception) -> None:
        self.error = error
        title, message, category = describe(error)
        widgets = [
            Static(self._intro(), classes="signin-intro"),
            Static(f"✗ {escape(title)}", id="signin-result", classes="signin-error signin-step"),
            Static(Text(message), id="signin-message"),
        ]
        guide = guide_for_error(error, self.account.provider)
        if guide is not None:
            lines = [f"[b]Fix: {escape(guide.title)}[/b] ({escape(category)})", escape(guide.cause)]
            lines += [f"{n}. {escape(step)}" for n, step in enumerate(guide.steps, 1)]
            lines += [escape(link) for link in guide.links]
            widgets.append(Static("\n".join(lines), id="signin-guide", classes="signin-guide"))
        self._show(widgets)
        self._set_state("failed", "Sign-in failed. r signs in again, esc goes back.")

    # -- actions ----------------------------------------------------------------

    def action_back(self) -> None:
        if not self.finished:  # stop polling or listening at once; nothing is stored
            self._stop.set()
            self.workers.cancel_group(self, "oauth-signin")
        self.dismiss(self.signed_in)

    def action_again(self) -> None:
        if self.state == "failed":
            self.start()

    def action_copy_link(self) -> None:
        if self.prompt is None:
            return
        self.app.copy_to_clipboard(self.prompt.url)
        self.notify("Link copied to the clipboard.")

    def action_open_browser(self) -> None:
        if self.prompt is not None and _can_open_browser():
            from tamago_tui.cli.oauth import open_browser

            open_browser(self.prompt.url)


def _can_open_browser() -> bool:
    """Only in a local graphical session: over SSH Python would start a text browser."""
    from tamago_tui.cli.oauth import can_open_browser

    return can_open_browser()
