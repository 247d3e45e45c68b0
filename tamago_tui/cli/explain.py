"""`tamago explain TEXT [--provider P] [--json]`: what an error means and how to fix it.

TEXT is any error a server, a library or another mail client printed; `-`
reads it from stdin. The answer is always a guide (exit 0), even when the error
is not recognised: then the guide lists what to check and whom to ask.
"""

from __future__ import annotations

from tamago_tui.backend.troubleshoot import PROVIDERS, explain

from .output import print_json, read_text_stdin


def register(sub) -> None:
    parser = sub.add_parser(
        "explain",
        help="explain an error message and show how to fix it",
        description="Classify an error message (server response, exception text or another "
        "client's wording) and print the fix, for a provider if given.",
    )
    parser.add_argument("text", metavar="TEXT", help="the error text, or - to read it from stdin")
    parser.add_argument("--provider", choices=PROVIDERS, metavar="P",
                        help=f"the mail provider, one of: {', '.join(PROVIDERS)}")
    parser.add_argument("--protocol", choices=("imap", "smtp"), help="the protocol that failed")
    parser.add_argument("--port", type=int, help="the port that was used")
    parser.add_argument("--security", choices=("ssl", "starttls", "none"), help="the security that was used")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args, services) -> int:
    text = read_text_stdin() if args.text == "-" else args.text
    result = explain(text, args.provider, args.protocol, args.port, args.security)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"{result.title}  [{result.category}, confidence {result.confidence:.2f}]")
    print(f"Cause: {result.cause}")
    if result.evidence:
        print(f"Why: {'; '.join(result.evidence[:3])}.")
    print()
    print("Steps:")
    for number, step in enumerate(result.steps, 1):
        print(f"  {number}. {step}")
    if result.links:
        print()
        print("Links:")
        for link in result.links:
            print(f"  {link}")
    return 0
