"""The `tamago` command: no subcommand opens the TUI; subcommands are thin front ends.

Each subcommand lives in its own module here with `register(subparsers)`, which
adds a parser and sets `func=run`; `run(args, services) -> int`. Add a module's
name to COMMANDS to expose it.

Exit codes: 0 success, 1 a diagnosed failure, 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from tamago_tui import __version__
from tamago_tui.backend.errors import TamagoError, UsageError

COMMANDS = [
    "accounts",
    "send",
    "outbox",
    "lookup",
    "show",
    "explain",
    "contacts",
    "doctor",
    "oauth",
]

log = logging.getLogger("tamago.cli")


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit with 2 after a one-line hint."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> Parser:
    parser = Parser(
        prog="tamago",
        description="A keyboard-driven terminal console for mail and contacts. "
        "Run with no command to open the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"tamago {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="keep config, data and logs in DIR (overrides TAMAGO_HOME and the XDG dirs)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from tamago_tui.backend.services import Services

    try:
        services = Services.from_home(args.home)
        if not args.command:
            from tamago_tui.app import TamagoApp

            TamagoApp(services).run()
            return 0
        return int(args.func(args, services) or 0)
    except UsageError as exc:
        print(f"tamago: {exc}", file=sys.stderr)
        return 2
    except TamagoError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        print(f"tamago: {exc.title}: {exc}", file=sys.stderr)
        if exc.category and exc.category != "unknown":
            print(f"  (category: {exc.category}; run `tamago explain` with this text for a fix)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tamago: interrupted", file=sys.stderr)
        return 130
