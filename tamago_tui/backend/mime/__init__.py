"""Reading real-world mail: a tolerant MIME parser that never raises.

    parse(raw) / parse_file(path) -> ParsedMessage   a whole message
    parse_headers(raw) -> MessageHeaders             the fast path for header blocks
    raw_text(raw) -> str                             the raw message, safe to print
    save_attachment(raw_or_path, part, dest)         one attachment's decoded bytes to a file
    decode_header_value, parse_address_list, parse_date, has_attachments_from_bodystructure

This is a package rather than one module so that each concern (charsets, header
fields, addresses, the MIME tree, HTML to text, TNEF, uuencode/yEnc) stays a
small file; everything public is importable from `tamago_tui.backend.mime`.
"""

from __future__ import annotations

from .addresses import format_address, parse_address_list
from .bodystructure import has_attachments_from_bodystructure
from .headers import decode_header_value, normalize_message_id, parse_date
from .html2text import html_to_text
from .message import parse, parse_file, parse_headers, raw_text
from .model import Attachment, MessageHeaders, ParsedMessage
from .save import read_attachment, save_attachment

__all__ = [
    "Attachment",
    "MessageHeaders",
    "ParsedMessage",
    "decode_header_value",
    "format_address",
    "has_attachments_from_bodystructure",
    "html_to_text",
    "normalize_message_id",
    "parse",
    "parse_address_list",
    "parse_date",
    "parse_file",
    "parse_headers",
    "raw_text",
    "read_attachment",
    "save_attachment",
]
