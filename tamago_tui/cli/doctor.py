"""`tamago doctor ADDRESS ...`: the step-by-step connection test, for tickets. Saves nothing.

Exit codes: 0 every step passed (warnings allowed), 1 a step failed, 2 usage error.
The output never contains the password.
"""

from __future__ import annotations

from tamago_tui.backend.diagnostics import run_checks

from .checklist import emit
from .serverargs import add_server_options, check_address, endpoints, read_password


def register(sub) -> None:
    parser = sub.add_parser(
        "doctor",
        help="test the IMAP and SMTP connection step by step (saves nothing)",
        description="Run the connection checklist for an address: DNS, TCP, TLS, STARTTLS, greeting, "
        "capabilities, auth mechanisms, login and folders. Without a password it stops before login. "
        "The output is safe to paste into a ticket.",
    )
    parser.add_argument("address", metavar="ADDRESS", help="the email address to test")
    add_server_options(parser, password_help="read the password from the first line of stdin")
    parser.add_argument("--only", choices=["imap", "smtp"], help="check only this protocol")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args, services) -> int:
    address = check_address(args.address)
    settings = services.settings
    nameserver = args.nameserver if args.nameserver is not None else settings.nameserver
    ends = endpoints(args, address, want_imap=args.only in (None, "imap"), want_smtp=args.only in (None, "smtp"),
                     nameserver=nameserver)
    if ends.source and not args.json:
        print(ends.describe(), flush=True)
    password = read_password(args, address, prompt_note=" (leave empty to stop before login)")
    steps = run_checks(
        ends.imap,
        ends.smtp,
        password,
        cafile=args.cafile or "",
        timeout=args.timeout or settings.timeout,
        nameserver=nameserver,
        provider=ends.provider,
    )
    report = emit(steps, as_json=args.json, provider=ends.provider)
    return 0 if report.ok else 1
