"""`tamago show PATH.eml|MESSAGE_ID [--json] [--raw] [--save-attachment N --to PATH]`.

A local message file is parsed with no account at all (support staff use it on
messages customers send them). Anything that is not an existing file is taken
as a Message-ID and handed to `show_message_id`, which reads the local cache
(fetching the message first if it is only in the header index).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tamago_tui.backend import mime
from tamago_tui.backend.errors import NotFound, TamagoError, UsageError
from tamago_tui.backend.mime import Attachment, ParsedMessage, format_address

from .output import print_json

_FILE_SUFFIXES = (".eml", ".msg", ".txt", ".mbox", ".raw", ".mime")


def register(sub) -> None:
    parser = sub.add_parser(
        "show",
        help="show a message: a local .eml file, or a cached message by Message-ID",
        description="Show a message's headers, readable text and attachments. "
        "PATH is a message file (.eml); anything else is looked up as a Message-ID in the local cache.",
    )
    parser.add_argument("target", metavar="PATH.eml|MESSAGE_ID", help="a message file, or a Message-ID")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--raw", action="store_true", help="print the raw message (control characters made visible)")
    parser.add_argument(
        "--save-attachment",
        metavar="N",
        help="save attachment N (its number in the list, or its part such as 1.2) to --to PATH",
    )
    parser.add_argument("--to", metavar="PATH", help="where --save-attachment writes (a file, or an existing directory)")
    parser.add_argument("--force", action="store_true", help="let --save-attachment replace an existing file")
    parser.set_defaults(func=run, _parser=parser)


def run(args, services) -> int:
    if bool(args.save_attachment) != bool(args.to):
        args._parser.error("--save-attachment and --to go together")
    if args.raw and (args.save_attachment or args.json):
        args._parser.error("--raw cannot be combined with --json or --save-attachment")
    _safe_stdout()
    path = Path(args.target).expanduser()
    if path.is_file():
        return show_file(args, path)
    if path.exists():
        raise UsageError(f"{args.target} is not a regular file.")
    if "@" not in args.target and (args.target.lower().endswith(_FILE_SUFFIXES) or os.sep in args.target):
        raise NotFound(f"No such file: {args.target}")
    return show_message_id(args, services)


def show_message_id(args, services) -> int:
    """Show a message by Message-ID: from the cache, or fetched once (BODY.PEEK) and cached."""
    from tamago_tui.backend.cache import open_message

    cached = open_message(services, message_id=args.target)
    return show_file(args, cached.raw_path)


def show_file(args, path: Path) -> int:
    try:
        if path.stat().st_size == 0:
            raise TamagoError(f"{path} is empty (0 bytes): there is no message in it.", title="Not a message")
        if args.raw:
            sys.stdout.write(mime.raw_text(path.read_bytes()))
            if not sys.stdout.isatty():
                sys.stdout.write("\n")
            return 0
        parsed = mime.parse_file(path)
    except OSError as exc:
        raise TamagoError(f"Cannot read {path}: {exc.strerror or exc}", title="Cannot read the message") from None
    if args.save_attachment:
        return save(args, parsed, path)
    if args.json:
        print_json(message_json(parsed))
    else:
        print_message(parsed)
    return 0


# --- JSON --------------------------------------------------------------------------------------


def message_json(parsed: ParsedMessage) -> dict:
    """The `tamago show --json` object: subject, from, to, cc, date, text, attachments, and more."""
    return {
        "subject": parsed.subject,
        "from": format_address(parsed.sender) if parsed.sender else "",
        "to": [format_address(a) for a in parsed.to],
        "cc": [format_address(a) for a in parsed.cc],
        "date": parsed.date.isoformat() if parsed.date else None,
        "text": parsed.text,
        "attachments": [attachment_json(a) for a in parsed.attachments],
        "message_id": parsed.message_id,
        "reply_to": [format_address(a) for a in parsed.reply_to],
        "bcc": [format_address(a) for a in parsed.bcc],
        "date_raw": parsed.date_raw,
        "messages": [message_json(m) for m in parsed.messages],
        "problems": list(parsed.problems),
    }


def attachment_json(a: Attachment) -> dict:
    return {
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "part": a.part,
        "inline": a.inline,
    }


# --- people ------------------------------------------------------------------------------------


def print_message(parsed: ParsedMessage, indent: str = "") -> None:
    out = []
    out.append(("From", format_address(parsed.sender) if parsed.sender else ""))
    out.append(("To", ", ".join(format_address(a) for a in parsed.to)))
    if parsed.cc:
        out.append(("Cc", ", ".join(format_address(a) for a in parsed.cc)))
    if parsed.reply_to and [a.key for a in parsed.reply_to] != ([parsed.sender.key] if parsed.sender else []):
        out.append(("Reply-To", ", ".join(format_address(a) for a in parsed.reply_to)))
    out.append(("Date", _date_text(parsed)))
    out.append(("Subject", parsed.subject))
    for label, value in out:
        print(f"{indent}{label + ':':<9} {value}".rstrip())
    print(indent.rstrip())
    text = parsed.text if parsed.text.strip() else "(no text)"
    for line in text.split("\n"):
        print(f"{indent}{line}".rstrip())
    if parsed.attachments:
        print(indent.rstrip())
        print(f"{indent}Attachments ({len(parsed.attachments)}):")
        for i, a in enumerate(parsed.attachments, 1):
            flags = " (inline)" if a.inline else ""
            print(f"{indent}  {i}. {a.filename}  {a.content_type}  {human_size(a.size)}  [part {a.part}]{flags}")
    for i, nested in enumerate(parsed.messages, 1):
        print(indent.rstrip())
        print(f"{indent}--- Attached message {i} ---")
        print_message(nested, indent + "  ")
    if parsed.problems and not indent:
        print()
        print(f"Repaired while reading ({len(parsed.problems)}):")
        for problem in parsed.problems:
            print(f"  - {problem}")


def _date_text(parsed: ParsedMessage) -> str:
    if parsed.date:
        return parsed.date.strftime("%a, %d %b %Y %H:%M:%S %z")
    if parsed.date_raw:
        return f"{parsed.date_raw} (unreadable)"
    return ""


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
    return f"{size} B"  # pragma: no cover


# --- saving ------------------------------------------------------------------------------------


def pick_attachment(parsed: ParsedMessage, which: str) -> Attachment:
    """Attachment N as listed (1-based), or the one whose part path is `which` ("1.2", "2#tnef1")."""
    which = which.strip()
    found = None
    if which.isdigit():
        if 1 <= int(which) <= len(parsed.attachments):
            found = parsed.attachments[int(which) - 1]
    else:
        found = parsed.attachment(which)
    if found is None:
        count = len(parsed.attachments)
        raise NotFound(f"No attachment {which!r}: this message has {count} attachment{'s' if count != 1 else ''}.")
    return found


def save(args, parsed: ParsedMessage, path: Path) -> int:
    attachment = pick_attachment(parsed, args.save_attachment)
    dest = Path(args.to).expanduser()
    if dest.is_dir():
        dest = dest / attachment.filename  # already a plain name: no directories, no '..'
    try:
        written = mime.save_attachment(path, attachment.part, dest, overwrite=args.force)
    except UsageError as exc:
        raise TamagoError(str(exc), title="Cannot save the attachment") from None
    except TamagoError as exc:
        exc.title = "Cannot save the attachment"
        raise
    except OSError as exc:
        raise TamagoError(f"Cannot write {dest}: {exc.strerror or exc}", title="Cannot save the attachment") from None
    if args.json:
        print_json({"saved": str(dest), "size": written, "filename": attachment.filename, "part": attachment.part})
    else:
        print(f"Saved {attachment.filename} ({human_size(written)}) to {dest}")
    return 0


def _safe_stdout() -> None:
    # A terminal or pipe that cannot show some characters gets '?' rather than a crash.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass
