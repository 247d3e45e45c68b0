"""`tamago lookup ADDRESS_OR_DOMAIN [--nameserver HOST[:PORT]] [--json]`.

Prints the IMAP and SMTP settings found for an address or domain, where they
came from and how sure the lookup is. Exits 1, with the advice to ask the
email administrator, when nothing was found.

JSON: {"imap": {"host", "port", "security"} | null, "smtp": {...} | null,
       "source", "confidence", "provider", "domain", "usernames", "sources", "notes"}
plus "message" when the settings are incomplete.
"""

from __future__ import annotations

from tamago_tui.backend.discovery import LookupOptions, lookup

from .output import print_json


def register(sub) -> None:
    parser = sub.add_parser(
        "lookup",
        help="look up the IMAP and SMTP server details of an address or domain",
        description="Look up IMAP and SMTP settings: provider presets, the provider's autoconfig, "
        "DNS SRV records, MX records, then probing the usual host names.",
    )
    parser.add_argument("target", metavar="ADDRESS_OR_DOMAIN", help="an email address or a domain")
    parser.add_argument(
        "--nameserver",
        metavar="HOST[:PORT]",
        help="ask this DNS server instead of the system resolver",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _server_line(label: str, server) -> str:
    if server is None:
        return f"  {label}  (not found)"
    user = f"  username {server.username}" if server.username else ""
    return f"  {label}  {server.host}:{server.port}  {server.security.label}{user}"


def run(args, services) -> int:
    nameserver = args.nameserver if args.nameserver is not None else services.settings.nameserver
    result = lookup(args.target, LookupOptions(nameserver=nameserver or ""))
    if args.json:
        print_json(result.to_json())
        return 0 if result.found else 1
    if not result.found:
        print(result.message)
        return 1
    print(f"Settings for {result.domain} (source: {result.source}, confidence: {result.confidence})")
    print(_server_line("IMAP", result.imap))
    print(_server_line("SMTP", result.smtp))
    if result.provider and result.provider != "custom":
        print(f"  Provider: {result.provider}")
    if not result.complete:
        print(result.message)
    if result.notes:
        print("Notes:")
        for note in result.notes:
            print(f"  - {note}")
    return 0
