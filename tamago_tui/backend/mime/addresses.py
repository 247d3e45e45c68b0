"""Address lists as mail really writes them.

Splits before decoding RFC 2047 words (so an encoded comma never splits a
name), and copes with groups, Outlook's ';' separators, missing commas
between angle addresses, comments, '@' in display names, encoded words
inside quotes, and 8-bit names.
"""

from __future__ import annotations

import re

from ..models import Address
from .headers import _decode_words, decode_8bit, unfold

_SPACES_RE = re.compile(r"\s+")


def parse_address_list(raw: bytes | str | None, charset_hint: str | None = None) -> list[Address]:
    """Every mailbox in an address header (From, To, Cc...), in order.

    Group names and empty groups ("undisclosed-recipients:;") yield nothing;
    a chunk with no '@' at all is kept as a bare local name.
    """
    if raw is None:
        return []
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw)
        if b"\n" in raw or b"\r" in raw:
            raw = unfold(raw)
        text = decode_8bit(raw, charset_hint)
    else:
        text = raw.replace("\r", " ").replace("\n", " ")
    fast = _fast_parse(text)
    if fast is not None:
        return fast
    result = []
    for chunk in _split(text):
        address = _chunk_to_address(chunk)
        if address is not None:
            result.append(address)
    return result


# The shapes nearly all headers have: 'a@b', 'Name <a@b>', '"Name" <a@b>', '=?..?= <a@b>',
# separated by ',' or ';'. Anything else (comments, groups, '@' or ',' in names,
# escapes) goes to the careful path.
_FAST_ITEM_RE = re.compile(
    r"""[\s,;]*(?:
        (?:"(?P<q>[^"\\]*)"|(?P<n>[^"<>,;:()\\@]*?))\s*<(?P<a>[^<>\s"(),;:\\@]+@[^<>\s"(),;:\\@]+)>
        |(?P<b>[^\s"<>(),;:\\@]+@[^\s"<>(),;:\\@]+)
    )\s*(?=[,;]|$)""",
    re.X,
)
_FAST_END_RE = re.compile(r"[\s,;]*$")


def _fast_parse(text: str) -> list[Address] | None:
    result: list[Address] = []
    pos, n = 0, len(text)
    match = _FAST_ITEM_RE.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            if _FAST_END_RE.match(text, pos):
                break
            return None
        pos = m.end()
        email = m.group("a") or m.group("b")
        if email[-1] in ".'" or email[0] in ".'" or email[:7].lower() == "mailto:":
            email = _clean_email(email)
        name = m.group("q") if m.group("q") is not None else m.group("n")
        result.append(Address(email=email, name=_clean_name(name, email) if name else ""))
    return result


def _split(text: str):
    """Split at top-level ',' and ';', honouring quotes, comments, <...> and encoded words."""
    chunk: list[str] = []
    i, n = 0, len(text)
    in_group = False
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            chunk.append(text[i : j + 1])
            i = j + 1
            continue
        if c == "(":
            depth, j = 1, i + 1
            while j < n and depth:
                if text[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            chunk.append(text[i:j])
            i = j
            continue
        if c == "=" and text.startswith("=?", i):
            m = _EW_RE.match(text, i)
            if m:
                chunk.append(m.group(0))
                i = m.end()
                continue
        if c == "<":
            j = text.find(">", i)
            if j < 0:
                j = n - 1
            chunk.append(text[i : j + 1])
            i = j + 1
            # "A <a@x> B <b@x>": a missing comma between angle addresses.
            rest = text[i:].lstrip()
            if rest and rest[0] not in ",;(" and "<" in rest.split(",", 1)[0] and "@" in rest:
                yield "".join(chunk)
                chunk = []
            continue
        if c == ":" and not in_group:
            sofar = "".join(chunk)
            if "@" not in sofar and "<" not in sofar:
                in_group = True  # "Group name: a@b, c@d;" -> drop the name
                chunk = []
                i += 1
                continue
        if c in ",;":
            if c == ";" and in_group:
                in_group = False
            yield "".join(chunk)
            chunk = []
            i += 1
            continue
        chunk.append(c)
        i += 1
    yield "".join(chunk)


_EW_RE = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?]*\?=")
_ANGLE_RE = re.compile(r"<([^<>]*)>")
_COMMENT_RE = re.compile(r"\((?:[^()\\]|\\.)*\)")


def _chunk_to_address(chunk: str) -> Address | None:
    chunk = chunk.strip()
    if not chunk:
        return None
    angles = _ANGLE_RE.findall(chunk)
    if angles:
        email = _clean_email(angles[-1])
        name_part = chunk[: chunk.find("<")]
        if not name_part.strip():
            after = chunk[chunk.rfind(">") + 1 :]
            m = _COMMENT_RE.search(after)
            name_part = m.group(0)[1:-1] if m else ""
        else:
            name_part = _COMMENT_RE.sub(" ", name_part) if not name_part.strip().startswith("(") else name_part.strip()[1:-1]
        if not email and "@" in name_part and not name_part.strip().startswith('"'):
            email, name_part = _clean_email(name_part), ""
        return Address(email=email, name=_clean_name(name_part, email))
    if "<" in chunk:  # "Name <a@b" without the closing bracket
        name_part, _, addr = chunk.partition("<")
        return Address(email=_clean_email(addr), name=_clean_name(name_part, _clean_email(addr)))
    comments = _COMMENT_RE.findall(chunk)
    rest = _COMMENT_RE.sub(" ", chunk).strip()
    name = " ".join(c[1:-1] for c in comments).strip()
    tokens = rest.split()
    at_tokens = [t for t in tokens if "@" in t]
    if at_tokens:
        email = _clean_email(at_tokens[-1])
        leftover = " ".join(t for t in tokens if t is not at_tokens[-1])
        if leftover and not name:
            name = leftover
    else:
        email = _clean_email(rest)
        if " " in email or "=?" in email or email.startswith('"'):
            # Only a name, no address at all.
            return Address(email="", name=_clean_name(rest, "")) if rest else None
    if not email and not name:
        return None
    return Address(email=email, name=_clean_name(name, email))


def _clean_email(raw: str) -> str:
    email = raw.strip().strip("<>").strip()
    if email.lower().startswith("mailto:"):
        email = email[7:]
    if email.startswith("@") and ":" in email:  # an obsolete source route "<@a,@b:user@c>"
        email = email.split(":", 1)[1]
    email = email.strip(" \t'\",;.")
    if '"' not in email:
        email = "".join(email.split())
    return email


def _unquote(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if c != '"':
            out.append(c)
        i += 1
    return "".join(out)


_NAME_NEEDS_WORK_RE = re.compile(r"[\"\\']|=\?|\s\s|[\t\r\n]")


def _clean_name(raw: str, email: str) -> str:
    name = raw.strip()
    if not name:
        return ""
    if _NAME_NEEDS_WORK_RE.search(name) is None:
        return "" if email and name.lower() == email.lower() else name
    if '"' in name or "\\" in name:
        name = _unquote(name)
    if "=?" in name:
        name = _decode_words(name)
    name = name.strip()
    if len(name) >= 2 and name[0] == "'" and name[-1] == "'":
        name = name[1:-1]
    name = _SPACES_RE.sub(" ", name).strip()
    if email and name.lower() == email.lower():
        return ""
    return name


def format_address(address: Address) -> str:
    """'Name <addr>' with the name quoted when it needs to be; just 'addr' without a name."""
    if not address.name:
        return address.email
    if not address.email:
        return address.name
    name = address.name
    if any(c in name for c in ',;:<>@()[]"\\'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address.email}>"
