"""Case store: SQLAlchemy 2 models, Alembic migrations, SQLite by default, PostgreSQL supported."""

from haven.store.db import Store, open_store

__all__ = ["Store", "open_store"]
