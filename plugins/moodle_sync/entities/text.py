"""Moodle's rich text as plain text, as lib/weblib.php ``content_to_text($content, $contentformat)`` makes it:
FORMAT_PLAIN (2) as it is; FORMAT_MARKDOWN (4) through markdown, then ``html_to_text``; FORMAT_MOODLE (0),
FORMAT_HTML (1) and any other format through ``html_to_text($content, 75, false)`` (core_html2text, on
Html2Text: block elements end lines, ``<br>`` breaks one, ``<b>``/``<strong>``/headings become upper case,
``<em>``/``<i>`` become ``_text_``, list items start with ``* ``, links without their URL, entities decoded,
lines wrapped at 75 characters); then ``trim($content, "\\r\\n ")``. No pandas, no third-party parser."""

from __future__ import annotations

import html
import re
import textwrap
from html.parser import HTMLParser

FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN = 0, 1, 2, 4
WIDTH = 75

_BLOCK = {"p", "div", "table", "tr", "ul", "ol", "blockquote", "pre", "section", "article", "header", "footer",
          "dl", "dd", "dt", "address", "form", "fieldset", "figure"}
_HEADING = {"h1", "h2", "h3", "h4", "h5", "h6"}
_UPPER = {"b", "strong", "th"} | _HEADING
_SKIP = {"script", "style", "head", "title"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.upper = 0
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK or tag in _HEADING:
            self.parts.append("\n\n")
            self.pre += tag == "pre"
        elif tag == "li":
            self.parts.append("\n* ")
        elif tag in ("em", "i"):
            self.parts.append("_")
        elif tag == "hr":
            self.parts.append("\n-------------------------\n")
        elif tag == "td":
            self.parts.append(" ")
        self.upper += tag in _UPPER

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK or tag in _HEADING:
            self.parts.append("\n\n")
            self.pre -= tag == "pre" and self.pre > 0
        elif tag in ("em", "i"):
            self.parts.append("_")
        if tag in _UPPER:
            self.upper = max(0, self.upper - 1)

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
        self.parts.append(data.upper() if self.upper else data)


def html_to_text(content: str, width: int = WIDTH) -> str:
    parser = _Text()
    parser.feed(content)
    parser.close()
    text = html.unescape("".join(parser.parts)).replace("\xa0", " ")
    lines = [line.strip(" ") for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    if width:
        text = "\n".join(textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) if line else ""
                         for line in text.split("\n"))
    return text


def _markdown_to_html(content: str) -> str:
    """The markup of Markdown that changes the text: emphasis, headings, links, code; the rest is text."""
    text = html.escape(content, quote=False)
    text = re.sub(r"^#{1,6}\s*(.+?)\s*#*$", r"<h3>\1</h3>", text, flags=re.M)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"<strong>\2</strong>", text)
    text = re.sub(r"(?<![\w*])[*_](?![\s*_])(.+?)(?<![\s*_])[*_](?![\w*])", r"<em>\1</em>", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = re.sub(r"^\s*[-*+]\s+(.+)$", r"<li>\1</li>", text, flags=re.M)
    return "".join(f"<p>{p}</p>" for p in re.split(r"\n\s*\n", text)).replace("\n", " ")


def content_to_text(content, contentformat) -> str | None:
    """Plain text of ``content`` in Moodle format ``contentformat``; None for None."""
    if content is None:
        return None
    content = str(content)
    try:
        fmt = int(contentformat) if contentformat is not None else FORMAT_MOODLE
    except (TypeError, ValueError):
        fmt = FORMAT_MOODLE
    if fmt == FORMAT_PLAIN:
        pass
    elif fmt == FORMAT_MARKDOWN:
        content = html_to_text(_markdown_to_html(content))
    else:
        content = html_to_text(content)
    return content.strip("\r\n ")
