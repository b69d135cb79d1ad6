"""What every detector sees of the text around its match: the line, the words before it, the hint."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from haven.intel.types import Hint


@dataclass(slots=True)
class Scan:
    """One ``find_identifiers`` call: the text, the reader's hint, and the timestamps met so far."""

    text: str
    hint: Hint
    stamps: list[tuple[int, int]] = field(default_factory=list)  # timestamp token spans, in text order

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end

    def before(self, pos: int, width: int = 60) -> str:
        """Text on the same line before ``pos`` (at most ``width`` characters)."""
        return self.text[max(self.line_start(pos), pos - width) : pos]

    def after(self, pos: int, width: int = 40) -> str:
        """Text on the same line from ``pos`` (at most ``width`` characters)."""
        return self.text[pos : min(self.line_end(pos), pos + width)]


def last_word_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The last match of ``pattern`` in ``text`` (the one nearest to what follows the text)."""
    found = None
    for found in pattern.finditer(text):  # noqa: B007 - we want the last one
        pass
    return found


def word_alternation(words: list[str] | tuple[str, ...]) -> str:
    """A case-insensitive regex for a word list, as a trie of character classes (``[tT](?:[eE]…)``).

    Python's ``re`` tries alternatives one by one, and case-insensitive literals are slow to test; a trie
    tests each leading character once, so a word that starts no listed word fails at its first letter.
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word.lower():
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, dict]) -> str:
        branches = []
        for char in sorted(node, key=lambda c: (c == "", c)):
            if char == "":
                continue
            atom = f"[{re.escape(char)}{re.escape(char.upper())}]" if char.isalpha() else re.escape(char)
            branches.append(atom + render(node[char]))
        optional = "" in node
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if optional else body

    return render(trie)
