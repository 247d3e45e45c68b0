"""`tamago accounts list|add|test|pin|remove`.

`add` tests the connection before saving and refuses to save an account whose
test failed (unless `--no-test`). `test` runs the same checklist as `tamago
doctor` with the stored password and records the result. Exit codes: 0
success, 1 a failed test or a diagnosed error, 2 usage error.
"""

from __future__ import annotations

from tamago_tui.backend import accounts
from tamago_tui.backend.config import check_aliases
from tamago_tui.backend.errors import ConfigError, SecretError, UsageError
from tamago_tui.backend.models import Account

from .checklist import emit, hint
from .output import print_json, print_table
from .serverargs import add_server_options, check_address, endpoints, read_password


def register(sub) -> None:
    parser = sub.add_parser("accounts", help="list, add, test and remove mail accounts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    lister = actions.add_parser("list", help="list configured accounts and their status")
    lister.add_argument("--json", action="store_true", help="print JSON")
    lister.set_defaults(func=run_list)

    adder = actions.add_parser(
        "add",
        help="test and save a mail account",
        description="Test the IMAP and SMTP connection, then save the account. A failing test "
        "prevents saving. The password goes to the secret store, never to the config file.",
    )
    adder.add_argument("address", metavar="ADDRESS", help="the email address")
    add_server_options(adder, password_help="read the password from the first line of stdin")
    adder.add_argument("--name", help="short name for the account (default: the address)")
    adder.add_argument("--display-name", default="", help="the name shown on sent mail")
    adder.add_argument("--provider", help="provider preset id, e.g. gmail (default: suggested from the address)")
    adder.add_argument("--backfill-days", type=int, default=90, metavar="DAYS",
                       help="how many days of history to index (default: 90)")
    adder.add_argument("--alias", action="append", default=[], metavar="ADDRESS",
                       help="another address this mailbox receives and sends as (repeat for each alias)")
    adder.add_argument("--folder", action="append", default=[], metavar="FOLDER",
                       help="a folder to index (repeat; default: chosen from the server's folders)")
    adder.add_argument("--password-command", metavar="CMD",
                       help="a command that prints the password (pass, gopass...); stored instead of the password")
    adder.add_argument("--auth", choices=["password", "oauth2"],
                       help="how to log in (default: password; oauth2 with --token-command)")
    adder.add_argument("--oauth-mechanism", choices=["XOAUTH2", "OAUTHBEARER"], default="XOAUTH2", type=str.upper,
                       help="SASL mechanism for --auth oauth2 (default: XOAUTH2)")
    adder.add_argument("--token-command", metavar="CMD",
                       help="a command that prints an OAuth access token (like mutt_oauth2.py); implies --auth oauth2")
    adder.add_argument("--no-test", action="store_true", help="save without testing the connection first")
    adder.add_argument("--json", action="store_true", help="print the test result as JSON")
    adder.set_defaults(func=run_add)

    tester = actions.add_parser("test", help="test a saved account's connection and record the result")
    tester.add_argument("name", metavar="NAME", help="account name or address")
    tester.add_argument("--only", choices=["imap", "smtp"], help="check only this protocol")
    tester.add_argument("--timeout", type=float, metavar="SECONDS", help="deadline for each step")
    tester.add_argument("--json", action="store_true", help="print the result as JSON")
    tester.set_defaults(func=run_test)

    pinner = actions.add_parser("pin", help="trust one server certificate by its SHA-256 fingerprint")
    pinner.add_argument("name", metavar="NAME", help="account name or address")
    pinner.add_argument("protocol", choices=["imap", "smtp"])
    pinner.add_argument("fingerprint", metavar="SHA256", help="the fingerprint shown by the test ('-' removes the pin)")
    pinner.set_defaults(func=run_pin)

    remover = actions.add_parser("remove", help="remove an account, its stored password and its local state")
    remover.add_argument("name", metavar="NAME", help="account name or address")
    remover.set_defaults(func=run_remove)


def run_list(args, services) -> int:
    store = services.open_store()
    rows = []
    for account in services.accounts():
        state = store.account_state(account.name)
        rows.append(
            {
                "name": account.name,
                "email": account.email,
                "aliases": list(account.aliases),
                "provider": account.provider,
                "status": state.get("status") or "never_tested",
                "last_error": state.get("last_error") or "",
                "category": state.get("last_category") or "",
            }
        )
    store.close()
    if args.json:
        print_json(rows)
    elif not rows:
        print("No IMAP accounts connected. Add one with `tamago accounts add ADDRESS`.")
    elif any(r["aliases"] for r in rows):
        print_table(
            [[r["name"], r["email"], ", ".join(r["aliases"]), r["status"], r["category"]] for r in rows],
            ["NAME", "EMAIL", "ALIASES", "STATUS", "CATEGORY"],
        )
    else:
        print_table(
            [[r["name"], r["email"], r["status"], r["category"]] for r in rows],
            ["NAME", "EMAIL", "STATUS", "CATEGORY"],
        )
    return 0


def run_add(args, services) -> int:
    address = check_address(args.address)
    name = (args.name or address).strip()
    if not name:
        raise UsageError("--name must not be empty.")
    if args.backfill_days < 0:
        raise UsageError("--backfill-days must be 0 or more.")
    accounts.ensure_new(services, name)
    try:
        aliases = check_aliases(address, args.alias)
    except ConfigError as exc:
        raise UsageError(f"--alias: {exc}") from None
    nameserver = args.nameserver if args.nameserver is not None else services.settings.nameserver
    ends = endpoints(args, address, nameserver=nameserver, provider=args.provider)
    account = Account(
        name=name,
        email=address,
        display_name=args.display_name,
        provider=ends.provider,
        imap=ends.imap,
        smtp=ends.smtp,
        backfill_days=args.backfill_days,
        folders=tuple(args.folder),
        aliases=aliases,
        password_command=args.password_command or "",
        cafile=args.cafile or "",
    )
    auth = args.auth or ("oauth2" if args.token_command else "password")
    if auth == "oauth2":
        return _add_oauth(args, services, account, nameserver)
    if args.token_command:
        raise UsageError("--token-command needs --auth oauth2.")
    if args.password_command:
        if args.password_stdin:
            raise UsageError("Use either --password-stdin or --password-command, not both.")
        password = None
        if not args.no_test:
            from tamago_tui.backend.secrets import run_command

            password = run_command(args.password_command)
    else:
        password = read_password(args, address)
    if account.imap.username != account.smtp.username:
        hint(f"Note: SMTP logs in as {account.smtp.username} but the mailbox is {account.imap.username}; "
             "mail may sync from one identity and be sent from another.")
    report = None
    if not args.no_test:
        if not password:
            raise UsageError("A password is needed to test the account: use --password-stdin, "
                             "--password-command, or --no-test to save without testing.")
        report = emit(accounts.check_account(services, account, password, timeout=args.timeout,
                                             nameserver=nameserver), as_json=args.json, provider=account.provider)
        if not report.ok:
            hint("Not saved: the connection test failed. Fix the problem above, or use --no-test.")
            return 1
        if not account.folders:
            account = account.with_(folders=accounts.default_folders(account.provider,
                                                                     accounts.folders_from(report.steps)))
    elif not args.password_command and not password:
        raise UsageError("No password given: use --password-stdin or --password-command.")
    stored = None if args.password_command else password
    accounts.save_account(services, account, stored)
    if report is not None:
        accounts.record_test(services, account, report)
    elif args.json:
        print_json({"ok": True, "category": None, "steps": []})
    hint(f"Saved account {account.name} ({account.email}); folders: {', '.join(account.folders) or 'none chosen'}.")
    return 0


def _add_oauth(args, services, account: Account, nameserver: str) -> int:
    """`add --auth oauth2`: test up to login (or through it with a token command), save, then sign in."""
    from tamago_tui.backend.oauth import CommandTokenSource

    if args.password_stdin or args.password_command:
        raise UsageError("OAuth accounts have no password: drop --password-stdin / --password-command.")
    account = account.with_(auth="oauth2", oauth_mechanism=args.oauth_mechanism,
                            token_command=args.token_command or "")
    token = None
    if args.token_command and not args.no_test:
        token = CommandTokenSource(account, timeout=services.settings.timeout).access_token()
    report = None
    if not args.no_test:
        # Without a token yet, the checklist stops before login, after checking the mechanism is offered.
        report = emit(accounts.check_account(services, account, token, timeout=args.timeout, nameserver=nameserver),
                      as_json=args.json, provider=account.provider)
        if not report.ok:
            hint("Not saved: the connection test failed. Fix the problem above, or use --no-test.")
            return 1
        if token and not account.folders:
            account = account.with_(folders=accounts.default_folders(account.provider,
                                                                     accounts.folders_from(report.steps)))
    accounts.save_account(services, account)
    if token and report is not None:
        accounts.record_test(services, account, report)
    elif args.json and report is None:
        print_json({"ok": True, "category": None, "steps": []})
    hint(f"Saved account {account.name} ({account.email}) with OAuth ({account.oauth_mechanism}).")
    if not account.token_command:
        hint(f"Next, sign in: tamago oauth login {account.name}   (then `tamago accounts test {account.name}`)")
    return 0


def run_test(args, services) -> int:
    account = services.account(args.name)
    password, smtp_password = accounts.stored_passwords(services, account)
    if not password and account.auth != "oauth2":
        raise SecretError(f"No stored password for {account.name}. Remove and add the account again, "
                          "or give it a password_command.")
    steps = accounts.check_account(services, account, password, smtp_password=smtp_password, only=args.only,
                                   timeout=args.timeout)
    report = emit(steps, as_json=args.json, provider=account.provider)
    accounts.record_test(services, account, report)
    return 0 if report.ok else 1


def run_pin(args, services) -> int:
    account = accounts.pin_certificate(services, services.account(args.name), args.protocol, args.fingerprint)
    pinned = getattr(account, args.protocol).pinned_sha256
    print(f"{account.name}: {args.protocol.upper()} certificate "
          + (f"pinned to SHA-256 {pinned}." if pinned else "pin removed; normal verification applies."))
    return 0


def run_remove(args, services) -> int:
    account = services.account(args.name)
    accounts.remove_account(services, account)
    print(f"Removed account {account.name} ({account.email}), its stored password and its local state.")
    return 0
