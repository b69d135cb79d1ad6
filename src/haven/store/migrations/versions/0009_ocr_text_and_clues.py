"""ocr text and clues: full-text search over text found in pictures, lens model

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 22:10:00

Owned by the OCR and clues work (issue 6).

- ``content.exif_lens``: EXIF LensModel (with LensMake when the model does not name it), filled at ingest.
  Contents ingested before this revision keep NULL: the store has no original bytes to read it from.
- ``content_text``: one row per (content, OCR engine): the text, mean word confidence, language, or the
  per-item error. It is also the OCR stage's resume marker.
- Full-text index: SQLite FTS5 table ``content_text_fts`` over ``content_text.text`` (external content,
  kept in step by triggers); PostgreSQL a generated ``tsvector`` column with a GIN index. Both use
  language-neutral tokenising (``unicode61`` / ``simple``): OCR text is often not English.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE content_text_fts USING fts5("
    "text, content='content_text', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER content_text_ai AFTER INSERT ON content_text BEGIN "
    "INSERT INTO content_text_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER content_text_ad AFTER DELETE ON content_text BEGIN "
    "INSERT INTO content_text_fts(content_text_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER content_text_au AFTER UPDATE ON content_text BEGIN "
    "INSERT INTO content_text_fts(content_text_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO content_text_fts(rowid, text) VALUES (new.id, new.text); END",
]


def upgrade() -> None:
    with op.batch_alter_table("content", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exif_lens", sa.Text(), nullable=True))

    op.create_table(
        "content_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=80), nullable=False),
        sa.Column("language", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "engine", "language", name="uq_content_text"),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE content_text ADD COLUMN text_search tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED"
        )
        op.execute("CREATE INDEX ix_content_text_search ON content_text USING gin (text_search)")
    else:
        for statement in _SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        for name in ("content_text_au", "content_text_ad", "content_text_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS content_text_fts")
    op.drop_table("content_text")  # the PostgreSQL index and column go with it
    with op.batch_alter_table("content", schema=None) as batch_op:
        batch_op.drop_column("exif_lens")
