"""`tamago accounts list|add|test|remove` (the accounts issue fills in add/test)."""

from __future__ import annotations

from .output import print_json, print_table


def register(sub) -> None:
    parser = sub.add_parser("accounts", help="list, add, test and remove mail accounts")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lister = actions.add_parser("list", help="list configured accounts and their status")
    lister.add_argument("--json", action="store_true", help="print JSON")
    lister.set_defaults(func=run_list)


def run_list(args, services) -> int:
    store = services.open_store()
    rows = []
    for account in services.accounts():
        state = store.account_state(account.name)
        rows.append(
            {
                "name": account.name,
                "email": account.email,
                "provider": account.provider,
                "status": state.get("status") or "never_tested",
                "last_error": state.get("last_error") or "",
                "category": state.get("last_category") or "",
            }
        )
    if args.json:
        print_json(rows)
    elif not rows:
        print("No IMAP accounts connected. Add one with `tamago accounts add ADDRESS`.")
    else:
        print_table(
            [[r["name"], r["email"], r["status"], r["category"]] for r in rows],
            ["NAME", "EMAIL", "STATUS", "CATEGORY"],
        )
    return 0
