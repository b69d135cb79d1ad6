"""Grid filters from a query string (the filter form is a plain GET form), and back again.

Empty fields mean "any": a submitted form sends every field, filled or not. Anything malformed is a
GridQueryError (the web app answers 400), never a silently different result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlencode

from haven.review.grid import KINDS, STATUS_ORDER, VISUAL_KINDS, GridFilters, GridQueryError

T = TypeVar("T")
YES = ("1", "yes", "true", "on")
NO = ("0", "no", "false", "off")
MAX_TEXT = 200


def filters_from_query(params: Mapping[str, Sequence[str]], *, show_known_default: bool = False) -> GridFilters:
    """``params``: name -> every value given (e.g. ``{k: request.query_params.getlist(k)}``)."""

    def one(name: str) -> str | None:
        values = [v.strip() for v in params.get(name, ()) if v.strip()]
        if len(values) > 1:
            raise GridQueryError(f"'{name}' given more than once")
        if values and len(values[0]) > MAX_TEXT:
            raise GridQueryError(f"'{name}' is too long")
        return values[0] if values else None

    def flag(name: str, default: bool) -> bool:
        # The last value wins: a form sends a hidden "0" before its checkbox's "1".
        values = [v.strip() for v in params.get(name, ()) if v.strip()]
        return default if not values else bool(_optional_flag(values[-1], name))

    def many(name: str, allowed: Sequence[str]) -> tuple[str, ...]:
        values = tuple(dict.fromkeys(v.strip() for v in params.get(name, ()) if v.strip()))
        bad = [v for v in values if v not in allowed]
        if bad:
            raise GridQueryError(f"unknown {name} {bad[0]!r} (choose from: {', '.join(allowed)})")
        return values

    kinds = many("kind", (*KINDS, "all"))
    return GridFilters(
        statuses=many("status", STATUS_ORDER),
        show_known=flag("known", show_known_default),
        kinds=() if "all" in kinds else (kinds or VISUAL_KINDS),
        category=one("category"),
        decided=_optional_flag(one("decided"), "decided"),
        source_id=_number(one("source"), "source", int),
        min_size=_number(one("min_size"), "min_size", int),
        max_size=_number(one("max_size"), "max_size", int),
        camera_make=one("make"),
        camera_model=one("model"),
        has_gps=_optional_flag(one("gps"), "gps"),
        path_text=one("q"),
        stacks=flag("stacks", True),
    )


def query_from_filters(filters: GridFilters, *, show_known_default: bool = False) -> str:
    """The query string that gives back ``filters`` (for paging links and the JSON twin)."""
    pairs: list[tuple[str, str]] = [("status", s) for s in filters.statuses]
    if filters.show_known != show_known_default:
        pairs.append(("known", "1" if filters.show_known else "0"))
    if not filters.kinds:
        pairs.append(("kind", "all"))
    elif filters.kinds != VISUAL_KINDS:
        pairs += [("kind", k) for k in filters.kinds]
    optional = {
        "category": filters.category,
        "decided": _yes_no(filters.decided),
        "source": filters.source_id,
        "min_size": filters.min_size,
        "max_size": filters.max_size,
        "make": filters.camera_make,
        "model": filters.camera_model,
        "gps": _yes_no(filters.has_gps),
        "q": filters.path_text,
    }
    pairs += [(name, str(value)) for name, value in optional.items() if value is not None]
    if not filters.stacks:
        pairs.append(("stacks", "0"))
    return urlencode(pairs)


def _optional_flag(value: str | None, name: str) -> bool | None:
    if value is None or value == "any":
        return None
    if value.lower() in YES:
        return True
    if value.lower() in NO:
        return False
    raise GridQueryError(f"'{name}' must be yes or no")


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _number(value: str | None, name: str, kind: Callable[[str], T]) -> T | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise GridQueryError(f"'{name}' must be a whole number")
    return kind(value)
