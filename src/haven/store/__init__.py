"""Case store: SQLAlchemy 2 models, Alembic migrations, SQLite by default, PostgreSQL supported."""

from haven.store import current_category  # noqa: F401  (registers the listener that keeps it)
from haven.store.db import Store, open_store

__all__ = ["Store", "open_store"]
