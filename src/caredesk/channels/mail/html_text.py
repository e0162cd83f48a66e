"""HTML mail bodies as plain text: block elements become line breaks, scripts, styles and the quoted history
that mail programs wrap in <blockquote> (or Gmail's `gmail_quote`) are dropped. Stdlib only: the parser never
fetches anything and never runs anything."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "object", "iframe", "svg"})
_BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
                    "section", "article", "header", "footer", "pre", "hr", "dd", "dt"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"})
_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "divRplyFwdMsg")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # open elements: (tag, whether it hides its content)

    def _hidden(self) -> bool:
        return any(hides for _, hides in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK and not self._hidden():
            self.parts.append("\n")
        if tag in _VOID:
            return
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        hides = tag in _SKIP or tag == "blockquote" or any(c in classes for c in _QUOTE_CLASSES)
        self.stack.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):  # tolerate unclosed children (real mail HTML is sloppy)
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        if tag in _BLOCK and not self._hidden():
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
