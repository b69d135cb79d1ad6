"""What every signal (hash) type provides, in the spirit of python-threatexchange's ``SignalType``.

A signal type is one small class: its name, which content kinds it applies to, how to validate,
compare and compute a hash. Adding a hash type means adding one module; matching, storage and the
exchange formats look signal types up by name and need no change.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import ClassVar


class SignalType(ABC):
    """A kind of hash. Hashes travel as strings so that every format and table can carry them."""

    name: ClassVar[str]
    """Compact lower-case name used in the store, in lists and on the command line."""
    content_kinds: ClassVar[frozenset[str]]
    """ContentInfo kinds this signal can be computed from (see ``haven.results.KINDS``)."""
    default_threshold: ClassVar[int] = 0
    """Largest distance still called a match when the case does not say otherwise."""

    @classmethod
    @abstractmethod
    def validate(cls, signal: str) -> str:
        """Return the normal form of ``signal`` or raise ValueError: lists from outside are messy."""

    @classmethod
    @abstractmethod
    def distance(cls, a: str, b: str) -> int:
        """Distance between two valid hashes; 0 means identical."""

    @classmethod
    @abstractmethod
    def compute(cls, data: bytes) -> str | None:
        """Hash of one content, or None when this content yields no usable hash."""

    @classmethod
    def applies_to(cls, kind: str) -> bool:
        return kind in cls.content_kinds

    @classmethod
    def matches(cls, a: str, b: str, threshold: int | None = None) -> bool:
        limit = cls.default_threshold if threshold is None else threshold
        return cls.distance(a, b) <= limit


class HexDigestSignal(SignalType):
    """A fixed-length hex hash; subclasses only set ``name``, ``hex_len`` and how to compute."""

    hex_len: ClassVar[int]

    @classmethod
    def validate(cls, signal: str) -> str:
        # Lists arrive in upper case, with spaces or BOMs; the store keeps one spelling.
        norm = signal.replace("\ufeff", "").strip().lower()
        if len(norm) != cls.hex_len or not _HEX.fullmatch(norm):
            raise ValueError(f"invalid {cls.name} hash: {signal[:80]!r}")
        return norm


_HEX = re.compile(r"[0-9a-f]+")
