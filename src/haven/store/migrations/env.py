"""Alembic environment: Haven passes its own connection in; there is no alembic.ini to edit."""

from __future__ import annotations

from alembic import context

from haven.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for `alembic revision --autogenerate` by developers
    from sqlalchemy import create_engine

    from haven.config import load_config

    connection = create_engine(load_config().database_url).connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
