"""HTML mail rendered as readable plain text, with the standard library's html.parser.

Paragraphs and line breaks, headings, lists ("- " and "1. "), block quotes
("> "), preformatted text, table rows, links as "text (url)", image alt
text, entities decoded; script, style, head and comments dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {
    "p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "ul", "ol", "dl", "dt", "dd",
    "address", "center", "fieldset", "figure", "figcaption", "hr", "pre", "blockquote",
    "tbody", "thead", "tfoot", "caption", "details", "summary",
}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "blockquote", "pre", "hr", "figure"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "xml", "o:p"}
_VOID = {"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
_WS_RE = re.compile(r"[ \t\r\n\f\u200b]+")


class _Renderer(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []  # finished lines
        self.line: list[str] = []  # words of the current line
        self.blank_wanted = 0  # line breaks owed before the next text: 1 = new line, 2 = blank line
        self.skip = 0
        self.pre = 0
        self.quote = 0
        self.lists: list[list] = []  # [kind, counter]
        self.links: list[tuple[str, int]] = []  # (href, length of text when the <a> opened)
        self.space_pending = False
        self.text_len = 0
        self.item_prefix: str | None = None
        self.last_quote = 0

    # --- output primitives ---------------------------------------------------------
    def _prefix(self) -> str:
        indent = "  " * max(0, len(self.lists) - 1)
        return "> " * self.quote + indent

    def _break(self, kind: int) -> None:
        self.blank_wanted = max(self.blank_wanted, kind)
        self.space_pending = False

    def _start_line(self) -> None:
        """Settle owed line breaks, then open a new line with the quote/list prefix."""
        if self.line:
            self.lines.append("".join(self.line).rstrip())
            self.line = []
        if self.lines and self.blank_wanted >= 2 and self.lines[-1].strip("> ") != "":
            self.lines.append(("> " * min(self.quote, self.last_quote)).rstrip())
        self.blank_wanted = 0
        self.line.append(self._prefix())
        self.last_quote = self.quote
        if self.item_prefix is not None:
            self.line.append(self.item_prefix)
            self.item_prefix = None
        self.space_pending = False

    def _emit(self, text: str) -> None:
        if not text:
            return
        if not self.line or self.blank_wanted:
            self._start_line()
        elif self.space_pending:
            self.line.append(" ")
            self.text_len += 1
        self.space_pending = False
        self.line.append(text)
        self.text_len += len(text)

    def _line_break(self) -> None:
        if self.blank_wanted and self.line:
            self.lines.append("".join(self.line).rstrip())
            self.line = []
            if self.blank_wanted >= 2:
                self.lines.append(("> " * min(self.quote, self.last_quote)).rstrip())
            self.blank_wanted = 0
        if self.line:
            self.lines.append("".join(self.line).rstrip())
            self.line = []
        else:
            self.lines.append(self._prefix().rstrip())
        self.space_pending = False

    # --- parser callbacks ----------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip += 1
            return
        if self.skip:
            return
        attrs = dict(attrs)
        if tag == "br":
            self._line_break()
            return
        if tag == "hr":
            self._break(2)
            self._emit("-" * 40)
            self._break(2)
            return
        if tag == "img":
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self._emit(f"[{_WS_RE.sub(' ', alt)}]")
            return
        if tag in ("ul", "ol"):
            self._break(1 if self.lists else 2)
            self.lists.append([tag, 0])
            return
        if tag == "li":
            self._break(1)
            if self.lists:
                kind = self.lists[-1]
                kind[1] += 1
                self.item_prefix = f"{kind[1]}. " if kind[0] == "ol" else "- "
            else:
                self.item_prefix = "- "
            return
        if tag == "blockquote":
            self._break(2)
            self.quote += 1
            return
        if tag == "pre":
            self._break(2)
            self.pre += 1
            return
        if tag in ("td", "th"):
            if self.line and not self.blank_wanted:
                self.space_pending = False
                self.line.append("  ")
            return
        if tag == "a":
            self.links.append((attrs.get("href") or "", self.text_len))
            return
        if tag in _BLOCK:
            self._break(2 if tag in _PARAGRAPH else 1)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag.lower() not in _VOID and tag.lower() not in _SKIP:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        tag = tag.lower()
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(1 if self.lists else 2)
            return
        if tag == "li":
            self.item_prefix = None
            self._break(1)
            return
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self._break(2)
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
            self._break(2)
            return
        if tag == "a":
            if not self.links:
                return
            href, start = self.links.pop()
            self._link(href, start)
            return
        if tag in _BLOCK:
            self._break(2 if tag in _PARAGRAPH else 1)

    def _link(self, href: str, start: int) -> None:
        href = href.strip()
        if not href or href.startswith(("#", "javascript:", "cid:")):
            return
        text = "".join(self.line)[-(self.text_len - start) :] if self.text_len > start else ""
        target = href[7:] if href.lower().startswith("mailto:") else href
        if self.text_len == start:
            self._emit(target)
            return
        if target.strip().rstrip("/") in text or text.strip().rstrip("/") == target.rstrip("/"):
            return
        self.line.append(f" ({target})")
        self.text_len += len(target) + 3

    def handle_data(self, data):
        if self.skip or not data:
            return
        if self.pre:
            pieces = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            for i, piece in enumerate(pieces):
                if i:
                    self._line_break()
                if piece:
                    if self.blank_wanted or not self.line:
                        self._emit(piece)
                    else:
                        self.line.append(piece)
                        self.text_len += len(piece)
            return
        if data[:1].isspace() and self.line and not self.blank_wanted and "".join(self.line).strip():
            self.space_pending = True
        words = _WS_RE.sub(" ", data).strip()
        if words:
            self._emit(words)
            if data[-1:].isspace():
                self.space_pending = True

    def handle_comment(self, data):
        return

    def result(self) -> str:
        if self.line:
            self.lines.append("".join(self.line).rstrip())
        out: list[str] = []
        blank = False
        for line in self.lines:
            line = line.replace("\xa0", " ").rstrip()
            if not line.strip("> ").strip():
                if out and not blank:
                    out.append(line.rstrip())
                blank = True
                continue
            blank = False
            out.append(line)
        while out and not out[-1].strip():
            out.pop()
        return "\n".join(out)


def html_to_text(html: str) -> str:
    """Readable text from an HTML document or fragment. Never raises."""
    if not html:
        return ""
    renderer = _Renderer()
    try:
        renderer.feed(html)
        renderer.close()
    except Exception:  # html.parser is lenient, but be certain a viewer never crashes
        return re.sub(r"<[^>]*>", " ", html)
    return renderer.result()
