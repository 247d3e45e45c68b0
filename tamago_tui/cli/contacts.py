"""`tamago contacts add|list|show|edit|delete|import|export|merge|duplicates`.

A contact in JSON is {"id", "name", "emails": [...], "organisation", "notes"};
`list --json` prints a list of those. CONTACT is an id, an address or a
unique name.
"""

from __future__ import annotations

from tamago_tui.backend import contact_io
from tamago_tui.backend.contacts import ContactBook, bare_address, filter_rows
from tamago_tui.backend.dedupe import find_duplicates
from tamago_tui.backend.errors import UsageError
from tamago_tui.backend.models import Contact

from .output import print_json, print_table


def contact_json(contact: Contact) -> dict:
    return {
        "id": contact.id,
        "name": contact.name,
        "emails": [bare_address(e) for e in contact.emails],
        "organisation": contact.organisation,
        "notes": contact.notes,
    }


def register(sub) -> None:
    parser = sub.add_parser("contacts", help="add, list, import, export and merge contacts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, func, help: str, json: bool = True):
        p = actions.add_parser(name, help=help)
        if json:
            p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=func)
        return p

    p = action("add", run_add, "add a contact")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--email", action="append", default=[], metavar="E", required=True,
                   help="an address; repeat for aliases")
    p.add_argument("--org", default="", metavar="ORG", help="organisation")
    p.add_argument("--notes", default="", metavar="TEXT")

    p = action("list", run_list, "list contacts")
    p.add_argument("--filter", default="", metavar="Q", help="only contacts whose name, organisation "
                   "or address contains every word of Q")

    p = action("show", run_show, "show one contact")
    p.add_argument("contact", metavar="CONTACT", help="id, address or unique name")

    p = action("edit", run_edit, "change a contact")
    p.add_argument("contact", metavar="CONTACT", help="id, address or unique name")
    p.add_argument("--name", metavar="NAME")
    p.add_argument("--email", action="append", metavar="E", help="replace all addresses (repeatable)")
    p.add_argument("--add-email", action="append", default=[], metavar="E", help="add an address")
    p.add_argument("--remove-email", action="append", default=[], metavar="E", help="remove an address")
    p.add_argument("--org", metavar="ORG")
    p.add_argument("--notes", metavar="TEXT")

    p = action("delete", run_delete, "delete a contact (their mail stays in the mailbox)")
    p.add_argument("contact", metavar="CONTACT", help="id, address or unique name")

    p = action("import", run_import, "import a vCard (.vcf) or CSV file; known addresses merge")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=contact_io.IMPORT_FORMATS, help="default: from the file name")

    p = action("export", run_export, "export every contact to a vCard or CSV file")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=contact_io.EXPORT_FORMATS,
                   help="vcard (4.0), vcard3 or csv; default: from the file name")

    p = action("merge", run_merge, "merge contact B into contact A")
    p.add_argument("a", metavar="A", help="the contact to keep")
    p.add_argument("b", metavar="B", help="the contact merged into A, then deleted")

    action("duplicates", run_duplicates, "list likely duplicates and addresses two contacts share")


def _book(services) -> ContactBook:
    return ContactBook(services.open_store())


def _print_contact(contact: Contact, book: ContactBook | None = None) -> None:
    print(f"{contact.name}  (id {contact.id})")
    shared = book.shared_with(contact.emails, exclude_id=contact.id) if book else {}
    for label in contact.emails:
        address = bare_address(label)
        others = shared.get(address.lower())
        flag = "  ! shared with " + ", ".join(f"{n} (id {i})" for i, n in others) if others else ""
        print(f"  {address}{flag}")
    if contact.organisation:
        print(f"  Organisation: {contact.organisation}")
    if contact.notes:
        print("  Notes: " + contact.notes.replace("\n", "\n         "))


def run_add(args, services) -> int:
    book = _book(services)
    if not args.name.strip():
        raise UsageError("NAME must not be empty.")
    contact = book.add(args.name, args.email, organisation=args.org, notes=args.notes)
    if args.json:
        print_json(contact_json(contact))
    else:
        print(f"Added {contact.name} (id {contact.id}).")
        _warn_shared(book, contact)
    return 0


def _warn_shared(book: ContactBook, contact: Contact) -> None:
    for address, others in book.shared_with(contact.emails, exclude_id=contact.id).items():
        names = ", ".join(f"{n} (id {i})" for i, n in others)
        print(f"Note: {address} is also on {names}. See `tamago contacts duplicates`.")


def run_list(args, services) -> int:
    book = _book(services)
    if args.filter.strip():
        ids = [row.id for row in filter_rows(book.rows(), args.filter)]
        contacts = book.all(ids)
    else:
        contacts = book.all()
    if args.json:
        print_json([contact_json(c) for c in contacts])
    elif not contacts:
        print("No contacts match." if args.filter.strip() else
              "No contacts yet. Add one with `tamago contacts add NAME --email ADDRESS`.")
    else:
        print_table(
            [[str(c.id), c.name, c.organisation, ", ".join(bare_address(e) for e in c.emails)] for c in contacts],
            ["ID", "NAME", "ORGANISATION", "EMAILS"],
        )
    return 0


def run_show(args, services) -> int:
    book = _book(services)
    contact = book.find(args.contact)
    if args.json:
        print_json(contact_json(contact))
    else:
        _print_contact(contact, book)
    return 0


def run_edit(args, services) -> int:
    book = _book(services)
    contact = book.find(args.contact)
    emails = None
    if args.email is not None or args.add_email or args.remove_email:
        emails = list(args.email) if args.email is not None else list(contact.emails)
        emails += args.add_email
        drop = {e.strip().lower() for e in args.remove_email}
        missing = drop - {bare_address(e).lower() for e in emails}
        if missing:
            raise UsageError(f"{contact.name} has no address {', '.join(sorted(missing))}.")
        emails = [e for e in emails if bare_address(e).lower() not in drop]
    if args.name is not None and not args.name.strip():
        raise UsageError("--name must not be empty.")
    contact = book.update(contact.id, name=args.name, emails=emails, organisation=args.org, notes=args.notes)
    if args.json:
        print_json(contact_json(contact))
    else:
        print(f"Saved {contact.name} (id {contact.id}).")
        _warn_shared(book, contact)
    return 0


def run_delete(args, services) -> int:
    book = _book(services)
    contact = book.find(args.contact)
    book.delete(contact.id)
    if args.json:
        print_json({"deleted": contact_json(contact)})
    else:
        print(f"Deleted {contact.name} (id {contact.id}). Their mail stays in the mailbox.")
    return 0


def run_import(args, services) -> int:
    book = _book(services)
    report = contact_io.import_file(book, args.file, args.format)
    if args.json:
        print_json({"file": args.file, **report.as_json()})
    else:
        print(f"Imported {args.file} ({report.format}): {report.summary()}.")
        for warning in report.warnings:
            print(f"  warning: {warning}")
    return 0


def run_export(args, services) -> int:
    book = _book(services)
    fmt = contact_io.format_for(args.file, args.format)
    count = contact_io.export_file(book, args.file, fmt)
    if args.json:
        print_json({"file": args.file, "format": fmt, "exported": count})
    else:
        print(f"Exported {count} contacts to {args.file} ({fmt}).")
    return 0


def run_merge(args, services) -> int:
    book = _book(services)
    keep, other = book.find(args.a), book.find(args.b)
    if keep.id == other.id:
        raise UsageError(f"A and B are the same contact ({keep.name}, id {keep.id}).")
    merged = book.merge(keep.id, other.id)
    if args.json:
        print_json(contact_json(merged))
    else:
        print(f"Merged {other.name} (id {other.id}) into {merged.name} (id {merged.id}).")
        _print_contact(merged, book)
    return 0


def run_duplicates(args, services) -> int:
    book = _book(services)
    pairs = find_duplicates(book.store)
    shared = book.shared_addresses()
    if args.json:
        print_json({
            "duplicates": [p.as_json() for p in pairs],
            "shared_addresses": [
                {"address": s.address, "contacts": [{"id": i, "name": n} for i, n in s.owners]} for s in shared
            ],
        })
        return 0
    if not pairs and not shared:
        print("No duplicates found.")
        return 0
    if pairs:
        print_table(
            [[str(p.keep_id), p.keep_name, str(p.other_id), p.other_name, "; ".join(p.reasons)] for p in pairs],
            ["KEEP", "NAME", "OTHER", "NAME", "WHY"],
        )
        print("\nMerge one with `tamago contacts merge KEEP OTHER`.")
    if shared:
        print("\nAddresses shared by several contacts:")
        for s in shared:
            print(f"  {s.address}: " + ", ".join(f"{n} (id {i})" for i, n in s.owners))
    return 0
