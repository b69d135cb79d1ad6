"""Category codes as text, and the one rule for when two spellings name the same code.

VICS writes category 1 as the number ``1`` or the string ``"1"``; other lists write ``01`` or ``a`` for
``A``. ``code_key`` folds those together, so "1" and 1 are one code everywhere a code is compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INTEGER = re.compile(r"[+-]?\d+(?:\.0*)?")


def code_key(code: str) -> str:
    """The form every spelling of one code shares: ``" 1"``, ``"01"``, ``"1.0"`` -> ``"1"``; ``"a"`` -> ``"A"``."""
    text = code.strip()
    if _INTEGER.fullmatch(text):
        return str(int(float(text)))
    return text.upper()


@dataclass(frozen=True)
class SchemeCodes:
    """A scheme's codes for per-entry checks: a code spelled as the scheme spells it costs one set lookup."""

    scheme: str
    exact: frozenset[str]
    by_key: dict[str, str]

    @classmethod
    def of(cls, scheme: str, codes: list[str]) -> SchemeCodes:
        return cls(scheme, frozenset(codes), {code_key(code): code for code in codes})

    def canonical(self, code: str) -> str | None:
        """The scheme's own spelling of ``code``, or None when it is not one of its codes."""
        if code in self.exact:
            return code
        return self.by_key.get(code_key(code))
