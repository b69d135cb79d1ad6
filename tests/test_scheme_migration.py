"""Migration 0004 (category schemes) on a store that already holds data at 0003, both ways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from haven.store.db import MIGRATIONS, make_engine


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    try:
        yield engine
    finally:
        engine.dispose()


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_upgrade_from_0003_keeps_data_and_adds_presets_then_downgrades(engine: Engine) -> None:
    migrate(engine, "0003")
    with engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO "case" (reference, scheme, created_at, created_by) '
                "VALUES ('OLD-1', 'caid-uk', CURRENT_TIMESTAMP, 'old')"
            )
        )
        # A scheme added by hand before schemes were a table: it must survive as a (non-builtin) scheme.
        connection.execute(text("INSERT INTO category (scheme, code, name) VALUES ('local', 'L1', 'Local one')"))

    migrate(engine, "0004")

    with engine.connect() as connection:
        schemes = dict(connection.execute(text("SELECT name, builtin FROM category_scheme")).all())
        order = (
            connection.execute(text("SELECT code FROM category WHERE scheme = 'caid-uk' ORDER BY position"))
            .scalars()
            .all()
        )
        local = connection.execute(text("SELECT position FROM category WHERE scheme = 'local'")).scalar_one()
        cam = connection.execute(
            text(
                "SELECT to_code FROM category_mapping "
                "WHERE from_scheme = 'caid-uk' AND from_code = 'A' AND to_scheme = 'vic-us'"
            )
        ).scalar_one()
        case_scheme = connection.execute(text("SELECT scheme FROM \"case\" WHERE reference = 'OLD-1'")).scalar_one()
    assert {name: bool(builtin) for name, builtin in schemes.items()} == {
        "vic-us": True,
        "vic-ca": True,
        "caid-uk": True,
        "local": False,
    }
    assert order == ["A", "B", "C", "N", "U"]
    assert (local, cam, case_scheme) == (0, "1", "caid-uk")

    migrate(engine, "0003", down=True)

    tables = inspect(engine).get_table_names()
    assert "category_scheme" not in tables and "category_mapping" not in tables
    assert "position" not in {column["name"] for column in inspect(engine).get_columns("category")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM category")).scalar_one() == 18  # 17 presets + local
