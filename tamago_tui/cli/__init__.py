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
import os
import sqlite3
import sys

from tamago_tui import __version__
from tamago_tui.backend.errors import TamagoError, UsageError
from tamago_tui.backend.log import redact, redact_secrets

from .output import visible

COMMANDS = [
    "accounts",
    "send",
    "outbox",
    "drafts",
    "lookup",
    "show",
    "explain",
    "contacts",
    "doctor",
    "oauth",
    "sync",
    "history",
]

log = logging.getLogger("tamago.cli")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is two short lines (what is wrong, where to read more), exit 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\nRun `{self.prog} --help` for usage.\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """Unknown arguments are reported by the subcommand they were given to, whose --help explains."""
        namespace, extras = self.parse_known_args(args, namespace)
        chosen = self._chosen(namespace)
        if extras:
            chosen.error(f"unrecognized arguments: {' '.join(extras)}")
        for parser in {id(p): p for p in (self, chosen)}.values():
            _check_text(parser, namespace)
        return namespace

    def _chosen(self, namespace) -> "argparse.ArgumentParser":
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                child = action.choices.get(getattr(namespace, action.dest, None) or "")
                if child is not None:
                    return child._chosen(namespace) if isinstance(child, Parser) else child
        return self


_PATH_METAVARS = ("PATH", "FILE", "DIR", "PEM")


def _check_text(parser: argparse.ArgumentParser, namespace) -> None:
    """Arguments that are not valid UTF-8 (bytes Python keeps as lone surrogates) are fine as
    file names, but as names, addresses or text they could not be stored or shown."""
    for action in parser._actions:
        metavar = str(action.metavar or "")
        if any(word in metavar for word in _PATH_METAVARS):
            continue
        value = getattr(namespace, action.dest, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and any("\udc80" <= ch <= "\udcff" for ch in item):
                name = action.option_strings[0] if action.option_strings else (action.metavar or action.dest)
                parser.error(f"{name}: {ascii(item)} is not valid UTF-8 text")


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named in `argv` (after the global options), if it is a known one."""
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word == "--home":
            rest = rest[1:]
        elif word.startswith("--home="):
            continue
        elif word.startswith("-"):
            return None  # --help, --version, or a mistake: the full parser answers
        else:
            return word if word in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> Parser:
    """The argument parser. With `only`, just that subcommand's module is imported:
    `tamago sync` from cron must not pay for every other command's imports."""
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
    for name in [only] if only else COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Every failure ends as a message and an exit code, never a traceback:
    0 success, 1 a diagnosed failure, 2 a usage error, 130 interrupted."""
    _tolerant_output()
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(only=_command_in(argv))
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"tamago: {visible(redact_secrets(str(exc)))}", file=sys.stderr)
        return 2
    except TamagoError as exc:
        return _diagnosed(exc)
    except sqlite3.Error as exc:  # one that escaped the store's own translation
        from tamago_tui.backend.store import translate

        return _diagnosed(translate(exc))
    except KeyboardInterrupt:
        print("tamago: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError as exc:
        if _stdout_broken():
            # The reader went away (`tamago ... | head`): stop quietly, as other tools do.
            _silence_stdout()
            return 1
        return _unexpected(exc, args)
    except MemoryError:
        print("tamago: out of memory", file=sys.stderr)
        return 1
    except Exception as exc:  # the last line of defence: a bug, logged, never a traceback on screen
        return _unexpected(exc, args)


def _run(args) -> int:
    from tamago_tui.backend.services import Services

    services = Services.from_home(args.home)
    if not args.command:
        from tamago_tui.app import TamagoApp

        TamagoApp(services).run()
        return 0
    from .output import terminal_guard

    with terminal_guard():
        return int(args.func(args, services) or 0)


def _diagnosed(exc: TamagoError) -> int:
    text = redact_secrets(str(exc))
    log.error("%s: %s", type(exc).__name__, text)
    print(f"tamago: {exc.title}: {visible(text)}", file=sys.stderr)
    if exc.category and exc.category != "unknown":
        print(f"  (category: {exc.category}; run `tamago explain` with this text for a fix)", file=sys.stderr)
    return 1


def _unexpected(exc: BaseException, args) -> int:
    """Log the traceback (secrets redacted) and say, in one line, where it is."""
    log_file = _crash_log(args)
    summary = visible(redact(f"{type(exc).__name__}: {exc}".splitlines()[0])[:200])
    where = f"The details are in {log_file}" if log_file else "No log file could be written"
    print(f"tamago: unexpected error ({summary}). {where}; it holds no passwords, "
          "so you can attach it to a bug report.", file=sys.stderr)
    return 1


def _crash_log(args):
    from tamago_tui.backend import log as log_mod

    if log_mod.log_file_of() is None:  # the failure came before Services set the log up
        try:
            from tamago_tui.backend.paths import Paths

            log_mod.setup(Paths.resolve(getattr(args, "home", None)).log_file)
        except Exception:  # no usable home at all: the one-line message must do
            return None
    log.error("unexpected error in `tamago %s`", getattr(args, "command", None) or "", exc_info=True)
    for handler in logging.getLogger("tamago").handlers:
        handler.flush()
        if getattr(handler, "failed", False):
            return None
    return log_mod.log_file_of()


def _tolerant_output() -> None:
    """Characters the terminal cannot show become escapes, not a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass


def _stdout_broken() -> bool:
    """Is stdout a pipe whose reader has gone? (Not a mail server closing a socket.)"""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
