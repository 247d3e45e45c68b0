"""Charset names as mail really labels them, and decoding that never fails.

Mail declares charsets wrongly all the time: unknown names ("x-unknown"),
aliases Python does not know ("windows-874", "x-mac-cyrillic"), labels that
are subsets of what was really sent ("iso-8859-1" for Windows-1252 text,
"ks_c_5601-1987" for CP949), or nothing at all over 8-bit text. `decode`
tries the declared charset, then UTF-8, then Windows-1252, then Latin-1, which
maps every byte, so it always returns text.
"""

from __future__ import annotations

import codecs
import re

# Labels whose real-world meaning is a superset codec, as browsers (WHATWG) treat them,
# plus names Python's codec registry does not know.
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "us": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "euc-kr": "cp949",
    "euckr": "cp949",
    "cseuckr": "cp949",
    "x-euc-kr": "cp949",
    "windows-949": "cp949",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "x-gbk": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "chinese": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "csshiftjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "x-euc-jp": "euc_jp",
    "euc-jp": "euc_jp",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish",
    "x-mac-ce": "mac-latin2",
    "x-mac-centraleurroman": "mac-latin2",
    "x-mac-icelandic": "mac-iceland",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-6-e": "iso8859-6",
    "unicode-1-1-utf-7": "utf-7",
    "csunicode11utf7": "utf-7",
    "x-unicode20utf7": "utf-7",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "utf8mb4": "utf-8",
    "unicode": "utf-16",
    "ucs-2": "utf-16",
    "cp1200": "utf-16-le",
    "cp1201": "utf-16-be",
    "cp65001": "utf-8",
    "cp65000": "utf-7",
    "koi8-ru": "koi8-u",
}

# Labels that say nothing about the bytes: treat them as "not declared".
_MEANINGLESS = {"", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "binary", "default", "8bit", "7bit", "none", "charset", "us-askey"}

# Codecs that can decode every byte sequence, so a success proves nothing.
_PERMISSIVE = {"cp1252", "latin-1", "iso8859-1"}

_WINDOWS_RE = re.compile(r"^(?:x-)?(?:windows|win|cp|ms)[-_ ]?(\d{3,5})$")
_ISO_RE = re.compile(r"^iso[-_ ]?8859[-_ ]?(\d{1,2})$")

_cache: dict[str, str | None] = {}


def lookup(label: str | None) -> str | None:
    """The Python codec name for a declared charset label, or None if unknown/meaningless."""
    if not label:
        return None
    key = label.strip().strip("\"'").strip().lower()
    if key in _cache:
        return _cache[key]
    result = _lookup(key)
    if len(_cache) < 512:
        _cache[key] = result
    return result


def _lookup(key: str) -> str | None:
    # RFC 2231 language suffix ("utf-8*en") and stray junk after the name.
    key = key.split("*", 1)[0]
    key = re.split(r"[\s;,]", key, maxsplit=1)[0] if key else key
    if key.startswith("3d"):  # "charset=3Dutf-8": quoted-printable leaked into the header
        key = key[2:]
    if key in _MEANINGLESS:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    match = _WINDOWS_RE.match(key)
    if match:
        key = f"cp{match.group(1)}"
    match = _ISO_RE.match(key)
    if match:
        key = f"iso8859-{match.group(1)}"
        if key == "iso8859-1":
            return "cp1252"
        if key == "iso8859-9":
            return "cp1254"
    try:
        name = codecs.lookup(key).name
    except (LookupError, ValueError):
        return None
    # Encodings that are not text codecs (base64, rot13, zlib...) must not be used on mail.
    try:
        codecs.decode(b"a", name)
    except Exception:
        return None
    if name in ("ascii", "latin-1", "iso8859-1"):
        return "cp1252"
    if name == "euc_kr":
        return "cp949"
    return name


def decode(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Decode bytes to text, never failing.

    Returns (text, problem): `problem` is None when the declared charset (or
    UTF-8/ASCII when none was declared) decoded cleanly, otherwise a short
    note on the fallback that was used.
    """
    codec = lookup(declared)
    if codec and codec not in _PERMISSIVE:
        if not _is_multibyte(codec) and not data.isascii():
            # Valid UTF-8 with non-ASCII characters almost never happens by accident in a
            # single-byte charset, while mislabelled UTF-8 is common.
            try:
                return data.decode("utf-8"), f"text labelled {declared!r} was UTF-8"
            except UnicodeDecodeError:
                pass
        try:
            return data.decode(codec), None
        except (UnicodeDecodeError, LookupError):
            pass
        if codec.startswith("iso2022_jp"):
            text = _iso2022jp_via_cp932(data)
            if text is not None:
                return text, None
    if data.isascii():
        return data.decode("ascii"), None
    # 8-bit text: real UTF-8 is hard to produce by accident, so it wins over a
    # single-byte label (mail labelled "iso-8859-1" or "us-ascii" is often UTF-8).
    try:
        text = data.decode("utf-8")
        if codec and codec != "utf-8":
            return text, f"text labelled {declared!r} was UTF-8"
        if not codec:
            return text, None if not declared else f"unknown charset {declared!r}; read as UTF-8"
        return text, None
    except UnicodeDecodeError:
        pass
    if codec in (None, "utf-8"):
        mixed = _mostly_utf8(data)
        if mixed is not None:
            return mixed, "damaged UTF-8 text (stray bytes read as Windows-1252)"
    if codec in _PERMISSIVE:
        return _cp1252(data), None
    if codec and codec != "utf-8":
        # A multibyte charset with a few broken bytes reads better as itself than as
        # Windows-1252 mojibake.
        text = data.decode(codec, errors="replace")
        if text.count("\ufffd") * 50 <= max(len(text), 1):
            return text, f"damaged {declared} text (some characters replaced)"
    if declared and not codec:
        problem = f"unknown charset {declared!r}; read as Windows-1252"
    elif declared:
        problem = f"text labelled {declared!r} did not decode; read as Windows-1252"
    else:
        problem = "8-bit text without a charset; read as Windows-1252"
    return _cp1252(data), problem


_ISO2022JP_ESC_RE = re.compile(rb"\x1b(\$[@B]|\$\(D|\([BJI])")


def _iso2022jp_via_cp932(data: bytes) -> str | None:
    """ISO-2022-JP with Microsoft's extensions (NEC row 13, IBM rows), which Python's
    codecs reject: re-encode each JIS X 0208 pair as Shift_JIS and read it as CP932."""
    out = bytearray()
    mode = b"(B"
    pos = 0
    for m in _ISO2022JP_ESC_RE.finditer(data):
        out += _iso2022jp_chunk(data[pos : m.start()], mode)
        mode = m.group(1)
        pos = m.end()
    out += _iso2022jp_chunk(data[pos:], mode)
    try:
        return bytes(out).decode("cp932")
    except UnicodeDecodeError:
        return None


def _iso2022jp_chunk(chunk: bytes, mode: bytes) -> bytes:
    if mode in (b"(B", b"(J"):
        return chunk
    if mode == b"(I":  # half-width katakana
        return bytes(b | 0x80 for b in chunk if 0x21 <= b <= 0x5F)
    out = bytearray()
    for i in range(0, len(chunk) - 1, 2):
        j1, j2 = chunk[i], chunk[i + 1]
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            out += b"?"
            continue
        s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
        if j1 % 2:
            s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
        else:
            s2 = j2 + 0x7E
        out += bytes((s1, s2))
    return bytes(out)


_MULTIBYTE_PREFIXES = ("utf", "cp932", "cp949", "cp950", "gb", "big5", "euc", "iso2022", "shift", "hz", "johab")


def _is_multibyte(codec: str) -> bool:
    return codec.startswith(_MULTIBYTE_PREFIXES)


def _cp1252(data: bytes) -> str:
    # Windows-1252 leaves five bytes undefined; Latin-1 covers them.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="_tamago_latin1")


def _latin1_fallback(exc: UnicodeError):
    if isinstance(exc, UnicodeDecodeError):
        return exc.object[exc.start : exc.end].decode("latin-1"), exc.end
    raise exc


codecs.register_error("_tamago_latin1", _latin1_fallback)


def decode_loose(data: bytes) -> str:
    """Bytes with no reliable label (raw header bytes): UTF-8, else Windows-1252."""
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        mixed = _mostly_utf8(data)
        return mixed if mixed is not None else _cp1252(data)


_UTF8_SEQ_RE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_SURROGATES_RE = re.compile("[\udc80-\udcff]+")


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few stray bytes (a truncated name, one Latin-1 character): keep the
    UTF-8 and read only the stray bytes as Windows-1252. None when it is not mostly UTF-8."""
    valid = len(_UTF8_SEQ_RE.findall(data))
    if not valid:
        return None
    text = data.decode("utf-8", "surrogateescape")
    bad = sum(len(m) for m in _SURROGATES_RE.findall(text))
    if bad > valid:
        return None
    return _SURROGATES_RE.sub(lambda m: _cp1252(m.group(0).encode("utf-8", "surrogateescape")), text)
