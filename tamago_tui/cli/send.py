"""`tamago send`: queue a message in the outbox, then send it. The body comes from stdin."""

from __future__ import annotations

import sys

from tamago_tui.backend.compose import Draft, split_addresses

from .outbox import sent_copy_note
from .output import print_json


def register(sub) -> None:
    parser = sub.add_parser("send", help="send a message (body from stdin) through an account")
    parser.add_argument("--account", required=True, metavar="A", help="account name or address to send from")
    parser.add_argument("--from", dest="sender", default="", metavar="ADDRESS",
                        help="send as this address: the account's own or one of its aliases (default: its own)")
    parser.add_argument("--to", action="append", default=[], metavar="X", help="recipient (repeatable)")
    parser.add_argument("--cc", action="append", default=[], metavar="Y", help="copy recipient (repeatable)")
    parser.add_argument("--bcc", action="append", default=[], metavar="Z", help="blind copy (repeatable)")
    parser.add_argument("--subject", default="", metavar="S")
    parser.add_argument("--attach", nargs="+", action="extend", default=[], metavar="FILE", help="files to attach")
    parser.add_argument("--json", action="store_true", help="print the outbox entry as JSON")
    parser.set_defaults(func=run)


def _addresses(values: list[str]) -> tuple[str, ...]:
    return tuple(a for value in values for a in split_addresses(value))


def run(args, services) -> int:
    from tamago_tui.backend.errors import UsageError
    from tamago_tui.backend.sending import Sender, sender_address

    account = services.account(args.account)
    if not (args.to or args.cc or args.bcc):
        raise UsageError("give at least one recipient with --to, --cc or --bcc")
    sender_line = sender_address(account, args.sender or None)  # a UsageError (exit 2) for a stranger
    body = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    draft = Draft(
        sender=sender_line,
        to=_addresses(args.to),
        cc=_addresses(args.cc),
        bcc=_addresses(args.bcc),
        subject=args.subject,
        body=body,
        attachments=tuple(args.attach),
    )
    sender = Sender(services)
    sender.recover()
    item = sender.queue(account, draft)
    item = sender.deliver(item.id)
    if args.json:
        print_json(item.as_json())
    elif item.status == "sent":
        print(f"Sent message {item.id} to {', '.join(item.rcpt_to)}.{sent_copy_note(item)}")
    else:
        print(f"Not sent ({item.status}): {item.last_error}", file=sys.stderr)
        print(f"It stays in the outbox as message {item.id}: `tamago outbox retry {item.id}`.", file=sys.stderr)
    return 0 if item.status == "sent" else 1
