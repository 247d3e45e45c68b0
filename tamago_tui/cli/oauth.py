"""`tamago oauth login|status|logout ACCOUNT` and `tamago oauth providers`: OAuth 2.0
sign-in, also over SSH, and which client IDs are configured where.

login flows:
  device    show a code and a URL; enter the code on any device (Microsoft's default)
  loopback  open the sign-in page; the browser comes back to http://127.0.0.1:PORT/,
            which works from another machine through `ssh -L PORT:127.0.0.1:PORT host`
  paste     open the sign-in page; paste the address the browser could not load

Exit codes: 0 success (status: signed in), 1 a diagnosed failure (status: not
signed in), 2 usage error. Nothing here ever prints a token.
"""

from __future__ import annotations

import os
import sys
import webbrowser

from tamago_tui.backend import oauth as oauth_mod
from tamago_tui.backend.errors import OAuthError, UsageError
from tamago_tui.backend.oauth_flows import AuthCodeFlow, DeviceCodeFlow, ssh_forward_hint

from .output import print_json

FLOWS = ("device", "loopback", "paste")


def register(sub) -> None:
    parser = sub.add_parser("oauth", help="sign in with OAuth 2.0 (Gmail, Microsoft 365), also over SSH")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    login = actions.add_parser(
        "login",
        help="sign an account in and store its refresh token",
        description="Sign in with the provider and store the refresh token in the secret store. "
        "Works on a machine without a browser: --flow device shows a code to enter elsewhere; "
        "--flow loopback listens on 127.0.0.1:PORT (forward it with ssh -L); --flow paste asks "
        "for the address the browser ended on.",
    )
    login.add_argument("account", metavar="ACCOUNT", help="account name or address")
    login.add_argument("--flow", choices=FLOWS, help="how to sign in (default: the provider's)")
    login.add_argument("--port", type=int, default=0, metavar="N",
                       help="loopback port for the redirect (default: a free one); pick one to set "
                            "up `ssh -L N:127.0.0.1:N` in advance")
    login.add_argument("--no-browser", action="store_true", help="never try to open a browser here")
    login.add_argument("--wait", type=float, default=300.0, metavar="SECONDS",
                       help="how long to wait for the browser (loopback; default: 300)")
    login.set_defaults(func=run_login)

    status = actions.add_parser("status", help="show whether an account is signed in (never a token)")
    status.add_argument("account", metavar="ACCOUNT", help="account name or address")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=run_status)

    logout = actions.add_parser("logout", help="forget an account's tokens and revoke them where possible")
    logout.add_argument("account", metavar="ACCOUNT", help="account name or address")
    logout.add_argument("--no-revoke", action="store_true", help="only forget locally; do not tell the provider")
    logout.set_defaults(func=run_logout)

    providers = actions.add_parser(
        "providers",
        help="list the OAuth servers, their client IDs and where each was set",
        description="List the OAuth authorization servers tamago knows (built-in, the site files in "
        "$XDG_CONFIG_DIRS/tamago/oauth.toml, and [oauth.NAME] in config.toml), whether each has a client "
        "ID and which layer set it. Never prints a client secret. Exit code 0 when every server that "
        "a provider preset uses has a client ID, 1 when one has none.",
    )
    providers.add_argument("--json", action="store_true", help="print JSON")
    providers.set_defaults(func=run_providers)


def oauth_for(services) -> oauth_mod.OAuth:
    """The OAuth facade on the services' config and secret store."""
    return oauth_mod.for_services(services)


def can_open_browser() -> bool:
    """A local graphical session, not an SSH login (where webbrowser would start lynx)."""
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_browser(url: str) -> bool:
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


def _say(text: str = "") -> None:
    print(text, flush=True)


def _oauth_account(services, name: str):
    account = services.account(name)
    if account.auth != "oauth2":
        raise UsageError(
            f"{account.name} signs in with {account.auth!r}, not OAuth. Set auth = \"oauth2\" in its "
            "config table (or add it with `tamago accounts add ADDRESS --auth oauth2`)."
        )
    return account


def _print_guide(exc: OAuthError) -> None:
    """The troubleshooting guide that came with the error, on stderr before the error line."""
    explanation = getattr(exc, "explanation", None)
    if explanation is None or exc.category == "unknown":
        return
    print(f"Fix: {explanation.title}", file=sys.stderr)
    print(f"  {explanation.cause}", file=sys.stderr)
    for number, step in enumerate(explanation.steps, 1):
        print(f"  {number}. {step}", file=sys.stderr)
    for link in explanation.links:
        print(f"  {link}", file=sys.stderr)


def run_login(args, services) -> int:
    try:
        return _login(args, services)
    except OAuthError as exc:
        _print_guide(exc)
        raise


def _login(args, services) -> int:
    account = _oauth_account(services, args.account)
    if account.token_command:
        raise UsageError(f"{account.name} gets its tokens from its token_command; there is nothing to sign in.")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535.")
    oauth = oauth_for(services)
    provider = oauth.provider_for(account)
    flow = args.flow or provider.default_flow
    if flow not in provider.flows:
        raise UsageError(f"{provider.name} does not support --flow {flow}; use {' or '.join(provider.flows)}.")
    browser = not args.no_browser and can_open_browser()
    timeout = services.settings.timeout
    if flow == "device":
        device = DeviceCodeFlow(provider, timeout=timeout)
        auth = device.start()
        _say(f"To sign in {account.email} with {provider.name}, open this page on any device:")
        _say(f"    {auth.verification_uri}")
        _say(f"and enter the code:  {auth.user_code}")
        _say("Waiting for you to finish signing in (Ctrl-C cancels)...")
        tokens = device.poll(auth)
    elif flow == "loopback":
        with AuthCodeFlow(provider, port=args.port, listen=True, login_hint=account.email, timeout=timeout) as code:
            _say(f"To sign in {account.email} with {provider.name}, open this address in a browser:")
            _say(f"    {code.authorization_url}")
            _say(f"The browser then returns to {code.redirect_uri}, where tamago is listening.")
            _say("If the browser runs on another machine, forward the port from there first:")
            _say(f"    {ssh_forward_hint(code.port)}")
            _say("(or run again with --flow paste)")
            if browser:
                open_browser(code.authorization_url)
            _say("Waiting for the browser (Ctrl-C cancels)...")
            tokens = code.wait(args.wait)
    else:
        code = AuthCodeFlow(provider, port=args.port, listen=False, login_hint=account.email, timeout=timeout)
        _say(f"To sign in {account.email} with {provider.name}, open this address in a browser:")
        _say(f"    {code.authorization_url}")
        _say(f"After you approve, the browser tries to open {code.redirect_uri}... and shows an error page.")
        _say("Copy the whole address from its address bar and paste it here, then press Enter:")
        if browser:
            open_browser(code.authorization_url)
        pasted = sys.stdin.readline()
        if not pasted.strip():
            raise UsageError("Nothing was pasted.")
        tokens = code.complete(pasted)
    stored = oauth.save_sign_in(account, provider, tokens)
    _say(f"Signed in {account.email} with {provider.name}.")
    if not stored:
        _say(f"Warning: {provider.name} sent no refresh token, so this sign-in lasts only until the access "
             "token expires. Check the app registration (offline access) and sign in again.")
    return 0


def run_status(args, services) -> int:
    account = services.account(args.account)
    status = oauth_for(services).status(account)
    if args.json:
        print_json(status)
    else:
        rows = [
            ("Account", f"{status['account']} <{status['email']}>"),
            ("Auth", status["auth"]),
            ("Mechanism", status["mechanism"]),
            ("Tokens from", "token command" if status["source"] == "token_command" else "refresh token"),
            ("Provider", status["provider_name"] or "unknown"),
            ("Client ID", status["client_id"] or "not configured (see docs/oauth.md)"),
            ("Signed in", "yes" if status["signed_in"] else "no"),
        ]
        if status["scopes"]:
            rows.append(("Scopes", " ".join(status["scopes"])))
        if status["obtained_at"]:
            rows.append(("Since", status["obtained_at"]))
        if status["access_token_expires_in"] is not None:
            rows.append(("Access token", f"expires in {status['access_token_expires_in']} s"))
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key.ljust(width)}  {value}")
        if not status["signed_in"] and status["auth"] == "oauth2":
            print(f"Sign in with `tamago oauth login {status['account']}`.")
    return 0 if status["signed_in"] else 1


def run_providers(args, services) -> int:
    from tamago_tui.backend.oauth_providers import describe, load_providers, site_files, site_hint

    servers = [describe(p) for p in load_providers(services.config.oauth).values()]
    missing = [s["key"] for s in servers if s["presets"] and not s["client_id"]]
    if args.json:
        print_json({
            "providers": servers,
            "site_files": [str(path) for path in site_files()],
            "config_file": str(services.paths.config_file),
        })
    for server in [] if args.json else servers:
        print(f"{server['name']} [oauth.{server['key']}]")
        if server["client_id"]:
            secret = ", with a client secret" if server["client_secret_set"] else ""
            print(f"  client ID   {server['client_id']} (from {server['client_id_from']}{secret})")
        else:
            print("  client ID   not configured")
        flows = ", ".join(f + (" (default)" if f == server["default_flow"] else "") for f in server["flows"])
        print(f"  sign-in     {flows or 'none (no endpoints)'}")
        if server["presets"]:
            print(f"  presets     {', '.join(server['presets'])}")
        if not server["client_id"] and server["register_url"]:
            print(f"  register    {server['register_url']}")
    if missing:
        print(f"No client ID for: {', '.join(missing)}. Register an app (docs/oauth.md) and set "
              f"client_id under [oauth.NAME] in {services.paths.config_file}, or ask your administrator "
              f"to put it in {site_hint()} for everyone.", file=sys.stderr)
    return 1 if missing else 0


def run_logout(args, services) -> int:
    account = services.account(args.account)
    result = oauth_for(services).logout(account, revoke=not args.no_revoke)
    if not result["removed"]:
        print(f"{account.name} had no stored sign-in.")
        return 0
    print(f"Signed out {account.name}: its refresh token is deleted from the secret store.")
    if result["revoked"]:
        print("The provider revoked the token as well.")
    elif result["revoke_error"]:
        print(f"The provider did not confirm revocation ({result['revoke_error']}); you can remove "
              "tamago's access in your account's security settings.")
    return 0
