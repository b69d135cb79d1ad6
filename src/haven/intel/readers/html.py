"""HTML pages and XML documents: the text and the link targets (href, src, action; mailto: and tel:
included), fed to the stdlib parser block by block so a large page is never held whole. Script and style
bodies are skipped, and so are XML namespace declarations (schema URLs are nobody's identifier)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

from haven.intel.readers.base import Body, ReadLimits, Segment, hint_for
from haven.intel.readers.text import decoded_blocks

NAME = "html"
_LINK_ATTRIBUTES = frozenset({"href", "src", "action", "cite", "data-href"})
_ELEMENT = re.compile(rb"<[a-z_][\w.:-]*[\s>/]")
_SKIPPED = frozenset({"script", "style", "noscript", "template"})


def looks_like_markup(head: bytes) -> bool:
    """An XML declaration, an HTML page, or an element with a namespace or a closing tag (an IRC log's
    ``<nick> hello`` lines have neither)."""
    start = head[:4096].lstrip().lower()
    return (
        start.startswith(b"<?xml")
        or b"<html" in start
        or b"<!doctype html" in start
        or (_ELEMENT.match(start) is not None and (b"xmlns" in start or b"</" in start))
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Segment] = []
        self._skipping = 0
        self._link = hint_for("href")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        line, offset = self.getpos()
        for name, value in attrs:
            if name in _LINK_ATTRIBUTES and value and value.strip():
                target = value.strip()
                for scheme in ("mailto:", "tel:", "callto:"):
                    if target.lower().startswith(scheme):
                        target = target[len(scheme) :].split("?", 1)[0]
                self.found.append(Segment(target, line, offset, field=f"{tag}@{name}", hint=self._link))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if self._skipping or not data.strip():
            return
        line, offset = self.getpos()
        self.found.append(Segment(data, line, offset))


def read(body: Body, limits: ReadLimits) -> Iterator[Segment]:
    collector = _Collector()
    for block in decoded_blocks(body):
        collector.feed(block)
        yield from collector.found
        collector.found.clear()
    collector.close()
    yield from collector.found
