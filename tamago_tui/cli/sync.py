"""`tamago sync [--account A] [--contact C] [--full] [--json]`: bring the header index up to date.

Made for cron and systemd timers on headless servers: start-up stays fast (no
TUI imports), a failure of one account does not stop the others, and the exit
status is 1 when any account failed.

JSON: {"ok": bool, "accounts": [{"account", "ok", "error", "category", "guide",
"round_trips", "cached", "cancelled", "folders": [{"folder", "new", "updated",
"expunged", "uidvalidity_reset", "unchanged", "partial", "commands", "error",
"category"}]}]}
"""

from __future__ import annotations

import sys

from .output import print_json, print_table


def register(sub) -> None:
    parser = sub.add_parser(
        "sync",
        help="bring the local header index up to date (for cron and systemd timers)",
        description="Sync the header index of every account's selected folders: one round-trip per "
        "unchanged folder, only new headers otherwise. Exit status 1 when any account failed.",
    )
    parser.add_argument("--account", action="append", metavar="A",
                        help="only this account (name or address); repeat for several")
    parser.add_argument("--contact", metavar="C",
                        help="only what this contact needs (id, address or unique name): where the "
                        "index is not complete yet, the server is searched for their messages")
    parser.add_argument("--full", action="store_true",
                        help="also re-read the flags (read, flagged, answered, deleted) of every indexed "
                        "message; servers without CONDSTORE otherwise get the newest 500 per sync and "
                        "all of them once a day")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(func=run)


def run(args, services) -> int:
    from tamago_tui.backend.errors import ConfigError
    from tamago_tui.backend.sync import sync_accounts

    if not services.accounts():
        raise ConfigError("No accounts are configured. Add one with `tamago accounts add ADDRESS`.")
    names = [services.account(a).name for a in args.account] if args.account else None
    contact = None
    if args.contact:
        from tamago_tui.backend.contacts import ContactBook

        store = services.open_store()
        try:
            contact = list(ContactBook(store).find(args.contact).emails)
        finally:
            store.close()
    reports = sync_accounts(services, names, contact=contact, full_flags=args.full)
    ok = all(r.ok for r in reports)
    if args.json:
        print_json({"ok": ok, "accounts": [r.as_json() for r in reports]})
    else:
        rows = []
        for report in reports:
            if report.error:
                rows.append([report.account, "-", "", "", "", f"{report.category}: {report.error}"])
            for f in report.folders:
                state = f"{f.category}: {f.error}" if f.error else ("unchanged" if f.unchanged else "ok")
                rows.append([report.account, f.folder, str(f.new), str(f.updated), str(f.expunged), state])
        print_table(rows, ["ACCOUNT", "FOLDER", "NEW", "UPDATED", "EXPUNGED", "STATUS"])
        for report in reports:
            if report.guide:
                print(f"{report.account}: {report.guide} (run `tamago explain` with the error for the steps)",
                      file=sys.stderr)
    return 0 if ok else 1
