"""`tamago drafts list|show ID|drop ID|send ID`: messages being composed, saved as they were typed."""

from __future__ import annotations

import sys

from .outbox import sent_copy_note
from .output import print_json, print_table


def register(sub) -> None:
    parser = sub.add_parser("drafts", help="list, show, drop or send the drafts the compose screen saved")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lister = actions.add_parser("list", help="every draft, the most recently changed first")
    lister.add_argument("--json", action="store_true")
    lister.set_defaults(func=run_list)
    show = actions.add_parser("show", help="print a draft: headers, then the body")
    show.add_argument("id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    drop = actions.add_parser("drop", help="delete a draft")
    drop.add_argument("id", type=int, metavar="ID")
    drop.add_argument("--json", action="store_true")
    drop.set_defaults(func=run_drop)
    send = actions.add_parser("send", help="move a draft to the outbox and send it (as ctrl+s in the TUI)")
    send.add_argument("id", type=int, metavar="ID")
    send.add_argument("--later", action="store_true",
                      help="only move it to the outbox (as ctrl+l in the TUI); send with `tamago outbox retry`")
    send.add_argument("--json", action="store_true", help="print the outbox entry as JSON")
    send.set_defaults(func=run_send)


def run_list(args, services) -> int:
    drafts = services.drafts.list()
    if args.json:
        print_json([d.as_json() for d in drafts])
    elif not drafts:
        print("There are no drafts.")
    else:
        print_table(
            [[str(d.id), d.updated_at, ", ".join(d.draft.to)[:30], (d.draft.subject or "(no subject)")[:30],
              d.preview[:40]] for d in drafts],
            ["ID", "UPDATED", "TO", "SUBJECT", "BEGINS"],
        )
    return 0


def run_show(args, services) -> int:
    saved = services.drafts.get(args.id)
    if args.json:
        print_json(saved.as_json(full=True))
        return 0
    d = saved.draft
    rows = [("Draft", f"{saved.id} (account {saved.account or 'not chosen'}, saved {saved.updated_at})"),
            ("From", d.sender), ("To", ", ".join(d.to)), ("Cc", ", ".join(d.cc)), ("Bcc", ", ".join(d.bcc)),
            ("Subject", d.subject), ("In-Reply-To", d.in_reply_to),
            ("Attach", "; ".join(d.attachments)),
            ("Attached", ", ".join(f"{a.filename} ({a.size} bytes)" for a in saved.attached_info))]
    for label, value in rows:
        if value:
            print(f"{label + ':':<13}{value}")
    print()
    print(d.body, end="" if d.body.endswith("\n") else "\n")
    return 0


def run_drop(args, services) -> int:
    saved = services.drafts.get(args.id)
    services.drafts.delete(args.id)
    if args.json:
        print_json({"id": saved.id, "dropped": True})
    else:
        print(f"Dropped draft {saved.id} ({saved.draft.subject or 'no subject'}).")
    return 0


def run_send(args, services) -> int:
    from tamago_tui.backend.sending import Sender

    sender = Sender(services)
    sender.recover()
    item = services.drafts.queue_saved(args.id)
    if not args.later:
        item = sender.deliver(item.id)
    if args.json:
        print_json(item.as_json())
    elif args.later:
        print(f"Draft {args.id} is in the outbox as message {item.id}; `tamago outbox retry {item.id}` sends it.")
    elif item.status == "sent":
        print(f"Sent draft {args.id} to {', '.join(item.rcpt_to)} (outbox message {item.id}).{sent_copy_note(item)}")
    else:
        print(f"Not sent ({item.status}): {item.last_error}", file=sys.stderr)
        print(f"It stays in the outbox as message {item.id}: `tamago outbox retry {item.id}`.", file=sys.stderr)
    return 0 if args.later or item.status == "sent" else 1
