"""Category schemes as data: the presets, custom schemes, and explicit mappings between schemes.

A scheme is a ``CategoryScheme`` row and its codes are ``Category`` rows. A mapping is a set of
``CategoryMapping`` rows from one scheme to another; a code without a row, or whose row has no to
code (an explicit "unmapped" that says why), is *unmapped*, and an unmapped code is never turned into
a category of the other scheme: nothing is guessed, nothing is chained through a third scheme. Every
change is recorded on the global audit chain.

Codes are text. Two spellings name the same code when they agree after ``code_key``: VICS writes
category 1 as the number ``1`` or the string ``"1"``, some lists write ``01`` or ``a`` for ``A``
(see ``category_codes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from haven import audit
from haven.category_codes import SchemeCodes
from haven.errors import HavenError
from haven.scheme_files import CategoryRow, MappingLine, read_categories, read_mapping
from haven.store.models import Category, CategoryMapping, CategoryScheme

CUSTOM = "custom"
"""What a VICS file's ``/CUSTOM/`` context declares: codes from a scheme agreed outside the file. It names
no scheme in the store (the name is reserved), so such a set's codes are kept as written and never
mapped until it is imported with ``--scheme NAME``."""

NAME_MAX = 40  # CategoryScheme.name and Category.scheme width
TITLE_MAX = 200
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class SchemeError(HavenError):
    """A scheme or mapping that does not exist or cannot be created as asked."""


class UnknownSchemeError(SchemeError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown category scheme '{name}' (choose from: {', '.join(known)}; see: haven scheme list)")


# ---------------------------------------------------------------- reading


def scheme_names(session: Session) -> list[str]:
    return list(session.scalars(select(CategoryScheme.name).order_by(CategoryScheme.name)))


def get_scheme(session: Session, name: str) -> CategoryScheme:
    scheme = session.scalar(select(CategoryScheme).where(CategoryScheme.name == name))
    if scheme is None:
        raise UnknownSchemeError(name, scheme_names(session))
    return scheme


def scheme_codes(session: Session, name: str) -> SchemeCodes:
    get_scheme(session, name)
    return SchemeCodes.of(name, list(session.scalars(select(Category.code).where(Category.scheme == name))))


def categories(session: Session, name: str) -> list[Category]:
    """A scheme's categories in review order (``position``, then code)."""
    get_scheme(session, name)
    query = select(Category).where(Category.scheme == name).order_by(Category.position, Category.code)
    return list(session.scalars(query))


def list_schemes(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(select(Category.scheme, func.count()).group_by(Category.scheme)).all())
    return [
        _scheme_summary(scheme, counts.get(scheme.name, 0))
        for scheme in session.scalars(select(CategoryScheme).order_by(CategoryScheme.name))
    ]


def describe_scheme(session: Session, name: str) -> dict[str, Any]:
    """A scheme, its categories in review order, and the schemes it has mappings to and from."""
    scheme = get_scheme(session, name)
    rows = categories(session, name)
    pairs = (
        select(CategoryMapping.from_scheme, CategoryMapping.to_scheme, func.count())
        .where(CategoryMapping.to_code.is_not(None))
        .group_by(CategoryMapping.from_scheme, CategoryMapping.to_scheme)
    )
    mapped = session.execute(pairs).all()
    return {
        **_scheme_summary(scheme, len(rows)),
        "categories": [{"code": c.code, "name": c.name, "meaning": c.meaning, "position": c.position} for c in rows],
        "maps_to": {to: n for source, to, n in mapped if source == name},
        "maps_from": {source: n for source, to, n in mapped if to == name},
    }


def _scheme_summary(scheme: CategoryScheme, codes: int) -> dict[str, Any]:
    return {
        "name": scheme.name,
        "title": scheme.title,
        "description": scheme.description,
        "builtin": scheme.builtin,
        "codes": codes,
        "created_at": scheme.created_at.isoformat(timespec="seconds"),
        "created_by": scheme.created_by,
    }


@dataclass(frozen=True)
class MappedCode:
    """One code of the source scheme and what it maps to (None: unmapped)."""

    from_code: str
    from_name: str
    to_code: str | None
    to_name: str | None
    note: str | None


def mapping(session: Session, from_scheme: str, to_scheme: str) -> list[MappedCode]:
    """Every code of ``from_scheme`` in review order, with its mapping into ``to_scheme`` or None."""
    targets = {c.code: c.name for c in categories(session, to_scheme)}
    rows = {
        m.from_code: m
        for m in session.scalars(
            select(CategoryMapping).where(
                CategoryMapping.from_scheme == from_scheme, CategoryMapping.to_scheme == to_scheme
            )
        )
    }
    found = []
    for category in categories(session, from_scheme):
        row = rows.get(category.code)
        to_code = row.to_code if row else None
        found.append(
            MappedCode(category.code, category.name, to_code, targets.get(to_code or ""), row.note if row else None)
        )
    return found


def map_category(session: Session, code: str, from_scheme: str | None, to_scheme: str) -> str | None:
    """``code`` of ``from_scheme`` as a code of ``to_scheme``, or None when there is no explicit mapping.

    ``from_scheme`` None means the list did not say: the code is taken as ``to_scheme``'s own when it
    is one of its codes, and is unmapped otherwise. For many lookups use ``CategoryMapper``.
    """
    return CategoryMapper(session).map(code, from_scheme, to_scheme)


class CategoryMapper:
    """``map_category`` with each scheme's codes and each pair's mapping read once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._codes: dict[str, SchemeCodes | None] = {}
        self._pairs: dict[tuple[str, str], dict[str, str]] = {}

    def codes(self, scheme: str) -> SchemeCodes | None:
        if scheme not in self._codes:
            known = self.session.scalar(select(CategoryScheme.id).where(CategoryScheme.name == scheme))
            self._codes[scheme] = scheme_codes(self.session, scheme) if known is not None else None
        return self._codes[scheme]

    def map(self, code: str, from_scheme: str | None, to_scheme: str) -> str | None:
        target = self.codes(to_scheme)
        if target is None:
            return None
        if from_scheme is None or from_scheme == to_scheme:
            return target.canonical(code)
        source = self.codes(from_scheme)  # None for "custom" and any name that is not a scheme
        own = source.canonical(code) if source is not None else None
        if own is None:
            return None
        return self._pair(from_scheme, to_scheme).get(own)

    def _pair(self, from_scheme: str, to_scheme: str) -> dict[str, str]:
        if (from_scheme, to_scheme) not in self._pairs:
            rows = self.session.execute(
                select(CategoryMapping.from_code, CategoryMapping.to_code).where(
                    CategoryMapping.from_scheme == from_scheme, CategoryMapping.to_scheme == to_scheme
                )
            )
            # An explicit "unmapped" row (to_code NULL) is left out: it maps nothing, as a missing row.
            self._pairs[from_scheme, to_scheme] = {source: target for source, target in rows if target is not None}
        return self._pairs[from_scheme, to_scheme]


# ---------------------------------------------------------------- changing


def check_scheme_name(name: str) -> None:
    if not (len(name) <= NAME_MAX and _NAME.fullmatch(name)):
        raise SchemeError(
            f"scheme name {name!r} must be 1 to {NAME_MAX} characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name == CUSTOM:
        raise SchemeError(f"'{CUSTOM}' is reserved (VICS files say /CUSTOM/ for codes from an unnamed scheme)")


def _check_new_name(session: Session, name: str) -> None:
    check_scheme_name(name)
    if session.scalar(select(CategoryScheme.id).where(CategoryScheme.name == name)) is not None:
        raise SchemeError(f"category scheme '{name}' already exists (see: haven scheme show {name})")
    if session.scalar(select(Category.id).where(Category.scheme == name).limit(1)) is not None:
        raise SchemeError(f"categories of a scheme '{name}' already exist; choose another name")


def create_scheme(
    session: Session,
    name: str,
    rows: list[CategoryRow],
    *,
    user: str,
    title: str | None = None,
    description: str | None = None,
    source: str | None = None,
) -> CategoryScheme:
    """A new custom scheme with ``rows`` as its codes, in that review order."""
    _check_new_name(session, name)
    title = (title or name).strip()
    if not title or len(title) > TITLE_MAX:
        raise SchemeError(f"a scheme title must be 1 to {TITLE_MAX} characters")
    if not rows:
        raise SchemeError("a scheme needs at least one category")
    scheme = CategoryScheme(name=name, title=title, description=description, builtin=False, created_by=user)
    session.add(scheme)
    session.add_all(
        Category(scheme=name, code=row.code, name=row.name, meaning=row.meaning, position=position)
        for position, row in enumerate(rows, start=1)
    )
    session.flush()
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=user,
        action="scheme.create",
        detail={
            "name": name,
            "title": title,
            "description": description,
            "source": source,
            "categories": [[row.code, row.name, row.meaning] for row in rows],
        },
    )
    return scheme


def create_scheme_from_file(
    session: Session, name: str, path: Path, *, user: str, title: str | None = None
) -> CategoryScheme:
    """A custom scheme from a CSV (``code,name[,meaning]``) or JSON file; see ``scheme_files``."""
    _check_new_name(session, name)  # before reading: a name that cannot be used needs no file
    parsed = read_categories(path)
    return create_scheme(
        session,
        name,
        parsed.categories,
        user=user,
        title=title or parsed.title,
        description=parsed.description,
        source=path.name,
    )


@dataclass(frozen=True)
class MappingChange:
    from_scheme: str
    to_scheme: str
    mapped: int  # codes of from_scheme with a mapping now
    unmapped: int  # codes of from_scheme without one (explicitly or by omission)
    before: dict[str, str | None]
    after: dict[str, str | None]


def set_mapping(
    session: Session,
    from_scheme: str,
    to_scheme: str,
    lines: list[MappingLine],
    *,
    user: str,
    source: str | None = None,
) -> MappingChange:
    """Replace the whole mapping ``from_scheme`` -> ``to_scheme`` by ``lines``.

    A line's ``where`` ("line 3") names it in errors. A to code of None records an explicit "unmapped"
    (with its note saying why); codes of ``from_scheme`` the lines leave out are unmapped too. Both
    codes must exist in their schemes (any spelling ``code_key`` accepts); the schemes' own spellings
    are stored.
    """
    if from_scheme == to_scheme:
        raise SchemeError("a mapping needs two different schemes")
    source_codes, target_codes = scheme_codes(session, from_scheme), scheme_codes(session, to_scheme)
    rows: list[CategoryMapping] = []
    seen: dict[str, str] = {}
    default_note = f"set by {user}" + (f" from {source}" if source else "")
    for line in lines:
        from_code = source_codes.canonical(line.from_code)
        if from_code is None:
            raise SchemeError(f"{line.where}: {line.from_code!r} is not a code of scheme {from_scheme}")
        if from_code in seen:
            raise SchemeError(f"{line.where}: code {from_code!r} is already mapped at {seen[from_code]}")
        seen[from_code] = line.where
        to_code = None if line.to_code is None else target_codes.canonical(line.to_code)
        if line.to_code is not None and to_code is None:
            raise SchemeError(f"{line.where}: {line.to_code!r} is not a code of scheme {to_scheme}")
        note = line.note or default_note
        rows.append(
            CategoryMapping(
                from_scheme=from_scheme, from_code=from_code, to_scheme=to_scheme, to_code=to_code, note=note
            )
        )
    pair = (CategoryMapping.from_scheme == from_scheme) & (CategoryMapping.to_scheme == to_scheme)
    before = {m.from_code: m.to_code for m in session.scalars(select(CategoryMapping).where(pair))}
    session.execute(delete(CategoryMapping).where(pair))
    session.add_all(rows)
    session.flush()
    after = {row.from_code: row.to_code for row in rows}
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=user,
        action="scheme.mapping.set",
        detail={"from": from_scheme, "to": to_scheme, "source": source, "before": before, "after": after},
    )
    mapped = sum(code is not None for code in after.values())
    return MappingChange(from_scheme, to_scheme, mapped, len(source_codes.exact) - mapped, before, after)


def set_mapping_from_file(
    session: Session, from_scheme: str, to_scheme: str, path: Path, *, user: str
) -> MappingChange:
    """Replace the mapping by a CSV file of ``from_code,to_code[,note]`` lines (see ``scheme_files.read_mapping``)."""
    lines = read_mapping(path)
    try:
        return set_mapping(session, from_scheme, to_scheme, lines, user=user, source=path.name)
    except UnknownSchemeError:
        raise
    except SchemeError as error:
        raise SchemeError(f"{path}: {error}") from error
