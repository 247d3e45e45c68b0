"""`tamago outbox list|retry ID|drop ID`: what is waiting to be sent."""

from __future__ import annotations

import sys

from .output import print_json, print_table


def register(sub) -> None:
    parser = sub.add_parser("outbox", help="list, retry or drop messages waiting to be sent")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lister = actions.add_parser("list", help="messages not sent yet (with --all, sent ones too)")
    lister.add_argument("--all", action="store_true", help="include sent messages")
    lister.add_argument("--json", action="store_true")
    lister.set_defaults(func=run_list)
    retry = actions.add_parser("retry", help="try to send a message again")
    retry.add_argument("id", type=int, metavar="ID")
    retry.add_argument("--force", action="store_true",
                       help="resend a message whose delivery is uncertain (it may arrive twice)")
    retry.add_argument("--json", action="store_true")
    retry.set_defaults(func=run_retry)
    drop = actions.add_parser("drop", help="delete a message from the outbox without sending it")
    drop.add_argument("id", type=int, metavar="ID")
    drop.add_argument("--json", action="store_true")
    drop.set_defaults(func=run_drop)


def _outbox(services):
    from tamago_tui.backend.outbox import Outbox
    from tamago_tui.backend.sending import Sender

    Sender(services).recover()  # a crashed tamago's half-sent messages, before showing anything
    return Outbox(services.open_store())


def run_list(args, services) -> int:
    items = _outbox(services).items(include_sent=args.all)
    if args.json:
        print_json([i.as_json() for i in items])
    elif not items:
        print("The outbox is empty.")
    else:
        print_table(
            [[str(i.id), i.status, ", ".join(i.rcpt_to)[:30], i.subject[:30], i.last_error[:60]] for i in items],
            ["ID", "STATUS", "TO", "SUBJECT", "ERROR"],
        )
    return 0


def run_retry(args, services) -> int:
    from tamago_tui.backend.sending import Sender

    sender = Sender(services)
    sender.recover()
    item = sender.deliver(args.id, force=args.force)
    if args.json:
        print_json(item.as_json())
    elif item.status == "sent":
        print(f"Sent message {item.id}.{sent_copy_note(item)}")
    else:
        print(f"Not sent ({item.status}): {item.last_error}", file=sys.stderr)
    return 0 if item.status == "sent" else 1


def run_drop(args, services) -> int:
    outbox = _outbox(services)
    item = outbox.get(args.id)
    outbox.drop(args.id)
    if args.json:
        print_json({"id": item.id, "dropped": True})
    else:
        print(f"Dropped message {item.id} ({item.subject or 'no subject'}).")
    return 0


def sent_copy_note(item) -> str:
    if item.sent_copy.startswith("failed"):
        return f" The copy in the Sent folder could not be saved ({item.sent_copy[len('failed: '):]})."
    return ""
