"""Whether a message has attachments, from an IMAP BODYSTRUCTURE, without its body.

The rules match ParsedMessage.has_attachments: text bodies, inline images
referenced by Content-ID and signatures do not count; files, attached
messages and unreferenced inline parts do. (uuencoded files inside a text body
cannot be seen in a BODYSTRUCTURE.)

Input is what imapclient returns: a BodyData whose first element is a list
of parts for a multipart, or a flat tuple for a single part; strings are
bytes and NIL is None. Plain tuples/lists and str are accepted too.
"""

from __future__ import annotations

from .message import BODY_TYPES, MESSAGE_TYPES
from .model import SIGNATURE_TYPES


def has_attachments_from_bodystructure(bodystructure) -> bool:
    """True when the structure holds a part a reader would see as an attachment. Never raises."""
    try:
        return _walk(bodystructure, related=False, top=True, depth=0)
    except (TypeError, IndexError, AttributeError, ValueError):
        return False


def _s(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _is_multipart(node) -> bool:
    return bool(node) and isinstance(node[0], (list, tuple)) and (len(node[0]) == 0 or isinstance(node[0][0], (list, tuple)))


def _params(raw) -> dict[str, str]:
    # (b"CHARSET", b"utf-8", b"NAME", b"x.pdf") -> {"charset": "utf-8", "name": "x.pdf"}
    if not isinstance(raw, (list, tuple)):
        return {}
    items = list(raw)
    return {_s(items[i]).lower(): _s(items[i + 1]) for i in range(0, len(items) - 1, 2)}


def _disposition(raw) -> tuple[str, dict[str, str]]:
    if not isinstance(raw, (list, tuple)) or not raw:
        return "", {}
    return _s(raw[0]).lower(), _params(raw[1] if len(raw) > 1 else None)


def _walk(node, related: bool, top: bool, depth: int) -> bool:
    if depth > 50 or not isinstance(node, (list, tuple)):
        return False
    if _is_multipart(node):
        children = list(node[0])
        subtype = _s(node[1]).lower() if len(node) > 1 else "mixed"
        root = 0
        if subtype == "related" and len(node) > 2:
            start = _params(node[2]).get("start", "").strip("<>")
            for i, child in enumerate(children):
                if start and not _is_multipart(child) and len(child) > 3 and _s(child[3]).strip("<>") == start:
                    root = i
        for i, child in enumerate(children):
            child_related = related or (subtype == "related" and i != root)
            if _walk(child, child_related, False, depth + 1):
                return True
        return False
    ctype = f"{_s(node[0]).lower()}/{_s(node[1]).lower() if len(node) > 1 else ''}"
    params = _params(node[2] if len(node) > 2 else None)
    content_id = _s(node[3] if len(node) > 3 else None).strip()
    if ctype in MESSAGE_TYPES:
        return True
    # Extension data follows the basic fields; text has a line count, messages three more fields.
    disposition_index = 9 if ctype.startswith("text/") else 8
    disposition, disp_params = _disposition(node[disposition_index] if len(node) > disposition_index else None)
    if ctype in SIGNATURE_TYPES or ctype == "application/pgp-encrypted":
        return False
    # Servers may pass RFC 2231 names through undecoded: "filename*", "filename*0*", ...
    named = any(k.startswith("filename") and v for k, v in disp_params.items()) or any(
        k.startswith("name") and v for k, v in params.items()
    )
    if ctype in BODY_TYPES and not related and disposition != "attachment" and (top or not named):
        return False
    inline = disposition == "inline" or (related and disposition != "attachment")
    if inline and content_id:
        return False
    return True
