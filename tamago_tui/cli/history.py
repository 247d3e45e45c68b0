"""`tamago history CONTACT [--json]`: fetch a contact's headers, then list them.

The index answers first; each account's selected folders are then brought up
to date (and searched for the contact where the index is not complete yet).
JSON: [{"message_id", "account", "folder", "uid", "date", "from", "to", "cc",
"subject", "size", "has_attachments"}], newest first, one entry per message
(copies in several folders or accounts are merged by Message-ID). The list is
printed even when an account could not be reached; the exit status is then 1
and stderr says why.
"""

from __future__ import annotations

import sys

from .output import print_json, print_table


def register(sub) -> None:
    parser = sub.add_parser("history", help="fetch and list the messages exchanged with a contact")
    parser.add_argument("contact", metavar="CONTACT", help="id, address or unique name")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args, services) -> int:
    from tamago_tui.backend.contacts import ContactBook
    from tamago_tui.backend.visit import visit

    store = services.open_store()
    try:
        contact = ContactBook(store).find(args.contact)
    finally:
        store.close()
    result = visit(services, contact.emails, first_screen=None)
    if args.json:
        print_json([row.as_json() for row in result.rows])
    elif not result.rows:
        print(f"No messages with {contact.name} in the selected folders.")
    else:
        print_table(
            [[row.date[:16].replace("T", " "), row.sender, row.subject, "+" if row.has_attachments else "",
              f"{row.account}/{row.folder}", ", ".join(row.matched)] for row in result.rows],
            ["DATE", "FROM", "SUBJECT", "ATT", "WHERE", "MATCHED"],
        )
    for account, message, category in result.errors:
        print(f"tamago: {account}: {message} (category: {category})", file=sys.stderr)
    return 0 if result.ok else 1
