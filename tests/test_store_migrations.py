"""The store's fast "already migrated" check stays in step with the Alembic scripts."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from haven.store.db import MIGRATIONS, SCHEMA_REVISION


def test_schema_revision_is_the_migrations_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_REVISION]


def test_opening_a_migrated_store_twice_keeps_the_revision(store) -> None:
    assert store.current_revision() == SCHEMA_REVISION
    store.migrate()
    assert store.current_revision() == SCHEMA_REVISION
