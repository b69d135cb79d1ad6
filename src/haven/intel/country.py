"""The country an identifier itself points to (phone region, IP registry, ccTLD). Filled by the routing work."""

from __future__ import annotations

from typing import Any


def country_of(identifier_type: str, normalized: str, detail: dict[str, Any] | None = None) -> str | None:
    """ISO 3166-1 alpha-2 the value points to, or None when it says nothing about a country."""
    return None
