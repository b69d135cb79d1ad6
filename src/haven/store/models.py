"""The case data model. See docs/ARCHITECTURE.md for the picture.

Contents are per case and keyed by sha256; occurrences record every place a content was found.
Hash sets are global: every case is matched against every imported set.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    scheme: Mapped[str] = mapped_column(String(40), default="vic-us")
    agency: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    sources: Mapped[list[Source]] = relationship(back_populates="case")


class Source(Base):
    """An exhibit: a folder, file or archive handed in as evidence."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("case_id", "location", name="uq_source_location"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # folder | file
    location: Mapped[str] = mapped_column(Text)  # resolved path at registration
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the container file, when one file
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    registered_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="registered")  # registered|ingesting|complete
    files_seen: Mapped[int] = mapped_column(Integer, default=0)

    case: Mapped[Case] = relationship(back_populates="sources")


class Content(Base):
    """A unique byte string within a case."""

    __tablename__ = "content"
    __table_args__ = (
        UniqueConstraint("case_id", "sha256", name="uq_content_sha256"),
        Index("ix_content_md5", "md5"),
        Index("ix_content_sha1", "sha1"),
        Index("ix_content_case_status", "case_id", "status"),
        Index("ix_content_review", "case_id", "status", "id"),  # review grid: keyset pages per status
        Index("ix_content_review_state", "case_id", "status", "kind", "category_source", "current_category"),
        Index(
            "ix_content_errors",
            "case_id",
            "id",
            sqlite_where=text("error IS NOT NULL"),
            postgresql_where=text("error IS NOT NULL"),
        ),
        Index(
            "ix_content_encrypted",
            "case_id",
            "id",
            sqlite_where=text("encrypted IS NOT NULL"),
            postgresql_where=text("encrypted IS NOT NULL"),
        ),
        Index(
            "ix_content_camera",
            "case_id",
            "exif_make",
            "exif_model",
            sqlite_where=text("exif_make IS NOT NULL"),
            postgresql_where=text("exif_make IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str] = mapped_column(String(32))
    sha1: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str | None] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(60))
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    pdq_dihedral: Mapped[str | None] = mapped_column(Text)
    """The 7 other dihedral PDQ hashes (rotations and flips), comma-separated hex, from the same DCT."""
    exif_make: Mapped[str | None] = mapped_column(Text)
    exif_model: Mapped[str | None] = mapped_column(Text)
    exif_serial: Mapped[str | None] = mapped_column(Text)
    exif_lens: Mapped[str | None] = mapped_column(Text)
    """EXIF LensModel (LensMake prefixed when missing from it); NULL for contents ingested before 0009."""
    exif_datetime: Mapped[str | None] = mapped_column(String(40))
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    encrypted: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="unknown")
    """known | near-known | known-good | unknown | error; derived by matching, stored for fast review."""
    current_category: Mapped[str | None] = mapped_column(String(60))
    """Category of the latest decision (None: never decided); kept by haven.review.categories."""
    category_source: Mapped[str | None] = mapped_column(String(20))
    """Source of the latest decision: user | propagated | hashset | undo."""


class Thumbnail(Base):
    """Small JPEG, blurred and greyscale before it is stored: no sharp preview exists anywhere."""

    __tablename__ = "thumbnail"

    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class Occurrence(Base):
    """One place a content (or an unreadable item) was found."""

    __tablename__ = "occurrence"
    __table_args__ = (
        UniqueConstraint("source_id", "path_digest", name="uq_occurrence_path"),
        Index("ix_occurrence_content", "content_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    content_id: Mapped[int | None] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    path_digest: Mapped[str] = mapped_column(String(40))  # sha1 of path: unique key of any length
    container: Mapped[str | None] = mapped_column(Text)
    top_level: Mapped[str] = mapped_column(String(40))  # path_digest of the top-level file (resume unit)
    mtime: Mapped[float | None] = mapped_column(Float)
    atime: Mapped[float | None] = mapped_column(Float)
    ctime: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class HashSet(Base):
    __tablename__ = "hash_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # known | known-good
    format: Mapped[str] = mapped_column(String(20))
    scheme: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200))
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    # Provenance of a set imported from a signed Haven share package (NULL for other formats).
    agency: Mapped[str | None] = mapped_column(String(200))  # as recorded when its signing key was trusted
    case_reference: Mapped[str | None] = mapped_column(String(200))  # the sender's case
    shared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # when the package was made
    signer_fingerprint: Mapped[str | None] = mapped_column(String(64))  # TrustedKey.fingerprint


class TrustedKey(Base):
    """A partner agency's Ed25519 public key: packages it signed may be imported. Revoked, never deleted."""

    __tablename__ = "trusted_key"
    __table_args__ = (UniqueConstraint("fingerprint", name="uq_trusted_key_fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 hex of the raw 32-byte public key
    agency: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # raw 32 bytes
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class HashEntry(Base):
    __tablename__ = "hash_entry"
    __table_args__ = (
        # Partial: a plain list fills one hash column, and NULLs are never joined on (matching compares
        # with =), so indexing them only costs import time. `col = x` implies `col IS NOT NULL`, so both
        # SQLite and PostgreSQL still use these for the exact-match joins.
        Index(
            "ix_hash_entry_md5", "md5", sqlite_where=text("md5 IS NOT NULL"), postgresql_where=text("md5 IS NOT NULL")
        ),
        Index(
            "ix_hash_entry_sha1",
            "sha1",
            sqlite_where=text("sha1 IS NOT NULL"),
            postgresql_where=text("sha1 IS NOT NULL"),
        ),
        Index(
            "ix_hash_entry_sha256",
            "sha256",
            sqlite_where=text("sha256 IS NOT NULL"),
            postgresql_where=text("sha256 IS NOT NULL"),
        ),
        # Kept: set removal and per-set counts use it, and an import appends to its right edge (set ids
        # only grow), so unlike the hash indexes it costs little to maintain.
        Index("ix_hash_entry_set", "set_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("hash_set.id", ondelete="CASCADE"))
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    photodna: Mapped[str | None] = mapped_column(Text)  # stored, never matched
    category: Mapped[str | None] = mapped_column(String(60))
    series: Mapped[str | None] = mapped_column(Text)
    victim_identified: Mapped[bool | None] = mapped_column(Boolean)
    offender_identified: Mapped[bool | None] = mapped_column(Boolean)
    tags: Mapped[str | None] = mapped_column(Text)


class Match(Base):
    __tablename__ = "match"
    __table_args__ = (
        UniqueConstraint("content_id", "entry_id", "method", name="uq_match"),
        Index("ix_match_set", "set_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("hash_entry.id", ondelete="CASCADE"))
    set_id: Mapped[int] = mapped_column(ForeignKey("hash_set.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(20))  # md5|sha1|sha256|pdq|pdq-dihedral|vpdq|pdq-frame
    distance: Mapped[int] = mapped_column(Integer, default=0)
    timestamp: Mapped[float | None] = mapped_column(Float)  # pdq-frame: seconds into the video
    query_percent: Mapped[float | None] = mapped_column(Float)  # vpdq: % of this video's frames matched
    compared_percent: Mapped[float | None] = mapped_column(Float)  # vpdq: % of the known video's frames matched


class VideoFrame(Base):
    """Per-frame PDQ of a video content, sampled at a configured rate (vPDQ semantics)."""

    __tablename__ = "video_frame"
    __table_args__ = (UniqueConstraint("content_id", "seq", name="uq_video_frame"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)


class HashEntryFrame(Base):
    """Frames of a known video from a vPDQ hash set."""

    __tablename__ = "hash_entry_frame"
    __table_args__ = (Index("ix_hash_entry_frame_entry", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hash_entry.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)


class NearGroup(Base):
    """A stack of visually near-identical contents (within a case or across cases), with a representative."""

    __tablename__ = "near_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    representative_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"), index=True)
    max_distance: Mapped[int] = mapped_column(Integer, default=0)
    threshold: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NearGroupMember(Base):
    __tablename__ = "near_group_member"
    __table_args__ = (UniqueConstraint("content_id", name="uq_near_group_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("near_group.id", ondelete="CASCADE"), index=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    distance: Mapped[int] = mapped_column(Integer)  # to the representative


class Decision(Base):
    """A categorization. The current category of a content is its latest decision; history is kept."""

    __tablename__ = "decision"
    __table_args__ = (Index("ix_decision_content", "content_id"), Index("ix_decision_batch", "batch_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(20))  # user | hashset | propagated | undo
    source_detail: Mapped[str | None] = mapped_column(Text)  # set name, user, or content sha256
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(Integer)  # the review action (DecisionBatch) it belongs to


class DecisionBatch(Base):
    """One review action: a categorization of one or many contents (with propagation), or an undo."""

    __tablename__ = "decision_batch"
    __table_args__ = (
        UniqueConstraint("undoes_id", name="uq_decision_batch_undoes"),
        Index("ix_decision_batch_case_user", "case_id", "user_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # decide | undo
    category: Mapped[str | None] = mapped_column(String(60))
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("decision_batch.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Category(Base):
    """Category schemes are data: (scheme, code, name, meaning)."""

    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("scheme", "code", name="uq_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    meaning: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Display order within the scheme; the review grid binds number keys 1..9 to codes in this order."""


class CategoryScheme(Base):
    """A category scheme: the presets (``builtin``) and custom ones. Its codes are ``Category`` rows."""

    __tablename__ = "category_scheme"
    __table_args__ = (UniqueConstraint("name", name="uq_category_scheme_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class CategoryMapping(Base):
    """An explicit code-for-code mapping between two schemes. A code without a row, or whose row has no
    ``to_code``, is unmapped: a set's category in it never becomes a decision in the other scheme."""

    __tablename__ = "category_mapping"
    __table_args__ = (UniqueConstraint("from_scheme", "from_code", "to_scheme", name="uq_category_mapping"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_scheme: Mapped[str] = mapped_column(String(40))
    from_code: Mapped[str] = mapped_column(String(20))
    to_scheme: Mapped[str] = mapped_column(String(40))
    to_code: Mapped[str | None] = mapped_column(String(20))  # None: explicitly unmapped, ``note`` says why
    note: Mapped[str | None] = mapped_column(Text)  # why the two codes mean the same (or cannot be mapped)


class AuditEvent(Base):
    """Append-only, hash-chained. One chain per case (and a 'global' chain for hash sets)."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_audit_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, hashed as text
    user: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Last seq and hash of each chain: deleting the newest records is detected too."""

    __tablename__ = "audit_head"

    chain: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


# ---------------------------------------------------------------- web app: accounts and access (0006)


class AppUser(Base):
    """A person who logs in to the web app. Global role: admin | investigator | reviewer."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(20))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    prefs: Mapped[str] = mapped_column(Text, default="{}")  # JSON: wellbeing preferences
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaseMember(Base):
    """Who may open a case, and with which role in it. Non-members never learn the case exists."""

    __tablename__ = "case_member"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))


class LoginSession(Base):
    """A logged-in browser. Only a SHA-256 of the cookie's random token is stored."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # absolute lifetime
    client: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    """Login throttling state per (user name, client address)."""

    __tablename__ = "login_failure"
    __table_args__ = (UniqueConstraint("username", "client", name="uq_login_failure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(200))
    client: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FaceIdentity(Base):
    """A person within a case, for one face model. Locked: an analyst touched it, so re-runs keep it."""

    __tablename__ = "face_identity"
    __table_args__ = (Index("ix_face_identity_case_model", "case_id", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(80))
    name: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    analyst_named: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)


class Face(Base):
    """One detected face of a content (box in original pixels), with its embedding from ``model``."""

    __tablename__ = "face"
    __table_args__ = (
        UniqueConstraint("content_id", "model", "seq", name="uq_face"),
        Index("ix_face_identity", "identity_id"),
        Index("ix_face_model", "model", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(80))
    seq: Mapped[int] = mapped_column(Integer)
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    w: Mapped[int] = mapped_column(Integer)
    h: Mapped[int] = mapped_column(Integer)
    landmarks: Mapped[str] = mapped_column(Text)  # JSON [[x, y], ...] in original pixels
    quality: Mapped[float] = mapped_column(Float)
    detector_score: Mapped[float] = mapped_column(Float)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("face_identity.id", ondelete="SET NULL"))


class FaceScan(Base):
    """A content analysed for faces by one model: the resume marker, and the per-item error if any."""

    __tablename__ = "face_scan"
    __table_args__ = (UniqueConstraint("content_id", "model", name="uq_face_scan"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(80))
    faces: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FaceAction(Base):
    """An analyst's action on identities (name, merge, split, move), kept in order."""

    __tablename__ = "face_action"
    __table_args__ = (Index("ix_face_action_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))
    identity_id: Mapped[int] = mapped_column(Integer)  # not a key: merged identities are deleted
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    user: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContentText(Base):
    """Text an OCR engine found in a content (possibly empty), or why it could not: the resume marker too.

    Full-text indexed by migration 0009 (SQLite FTS5 ``content_text_fts``, PostgreSQL ``text_search``
    tsvector): neither is mapped here, haven.ocr.search queries them directly.
    """

    __tablename__ = "content_text"
    __table_args__ = (UniqueConstraint("content_id", "engine", "language", name="uq_content_text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    engine: Mapped[str] = mapped_column(String(80))  # e.g. "tesseract 5.3.0"
    language: Mapped[str] = mapped_column(String(40))  # Tesseract language codes, e.g. "eng"
    text: Mapped[str] = mapped_column(Text, default="")
    words: Mapped[int] = mapped_column(Integer, default=0)
    confidence: Mapped[float | None] = mapped_column(Float)  # mean word confidence 0-100; None: no words
    error: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SceneFeatures(Base):
    """A content's local features for same-scene search (one features version): also the resume marker."""

    __tablename__ = "scene_features"
    __table_args__ = (
        UniqueConstraint("content_id", "version", name="uq_scene_features"),
        Index("ix_scene_features_version", "version", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer, default=0)  # upright original
    height: Mapped[int] = mapped_column(Integer, default=0)
    scale: Mapped[float] = mapped_column(Float, default=1.0)  # original pixels per stored-point pixel
    keypoints: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # float16 x, y pairs, little-endian
    descriptors: Mapped[bytes] = mapped_column(LargeBinary, default=b"")  # uint8 SIFT, 128 per keypoint
    error: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- intel (issue 7): identifiers -------------------------------------------------------------


class Identifier(Base):
    """One identifier in the whole store: (type, normalized) is unique, so cases holding it meet here.

    ``type`` is one of ``haven.intel.types.IDENTIFIER_TYPES``; ``normalized`` is the comparison and
    deconfliction key (see ``haven.intel.types``); ``value`` the first form seen; ``detail`` canonical
    JSON of what the detector knew (platform of a handle, routable flag of an IP, chain of a wallet).
    """

    __tablename__ = "identifier"
    __table_args__ = (UniqueConstraint("type", "normalized", name="uq_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    normalized: Mapped[str] = mapped_column(String(512))
    value: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2 of the value itself
    detail: Mapped[str] = mapped_column(Text, default="{}")
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdentifierOccurrence(Base):
    """Where a case's evidence holds an identifier: every lead points back to evidence through this."""

    __tablename__ = "identifier_occurrence"
    __table_args__ = (
        UniqueConstraint("content_id", "identifier_id", "line", "char_offset", name="uq_identifier_occurrence"),
        Index("ix_identifier_occurrence_case", "case_id", "identifier_id"),
        Index("ix_identifier_occurrence_identifier", "identifier_id", "case_id"),
        Index("ix_identifier_occurrence_record", "content_id", "record"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    identifier_id: Mapped[int] = mapped_column(ForeignKey("identifier.id", ondelete="CASCADE"))
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)  # occurrence path of the content, e.g. EX1:/mail/a.mbox
    line: Mapped[int] = mapped_column(Integer, default=0)  # 1-based; 0 where lines mean nothing
    char_offset: Mapped[int] = mapped_column(BigInteger, default=0)  # in the line (or the record)
    field: Mapped[str | None] = mapped_column(String(200))  # e.g. "From", "column:email", "users.email"
    record: Mapped[str | None] = mapped_column(String(200))  # co-occurrence unit in the content, e.g. "row:17"
    observed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # UTC time beside it
    context: Mapped[str | None] = mapped_column(Text)  # a short excerpt around it


class IntelRecord(Base):
    """The fields of a structured record identifiers came from (customer row, JSON object, database row,
    e-mail headers), as canonical JSON ``{column: value}``: the material of fuzzy record linkage."""

    __tablename__ = "intel_record"
    __table_args__ = (
        UniqueConstraint("content_id", "record", name="uq_intel_record"),
        Index("ix_intel_record_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    record: Mapped[str] = mapped_column(String(200))  # same key as IdentifierOccurrence.record
    fields: Mapped[str] = mapped_column(Text)


class Target(Base):
    """Identifiers believed to belong to one person or account cluster in a case. Locked: an analyst
    named, merged, split or annotated it, so re-running the linking keeps it as it is."""

    __tablename__ = "target"
    __table_args__ = (Index("ix_target_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TargetMember(Base):
    """An identifier of a target; at most one target per identifier within a case."""

    __tablename__ = "target_member"
    __table_args__ = (
        UniqueConstraint("case_id", "identifier_id", name="uq_target_member"),
        Index("ix_target_member_target", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id", ondelete="CASCADE"))
    identifier_id: Mapped[int] = mapped_column(ForeignKey("identifier.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(40))  # co-occurrence | fuzzy | analyst


class IntelScan(Base):
    """A content read for identifiers by one extractor version: the resume marker and the per-item error."""

    __tablename__ = "intel_scan"
    __table_args__ = (UniqueConstraint("content_id", "version", name="uq_intel_scan"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(40))
    reader: Mapped[str | None] = mapped_column(String(40))  # which reader understood it: email, csv, text ...
    identifiers: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- intel (issue 7): sightings — models of migration 0012 below this line ----------------------


class SightingImport(Base):
    """One sightings file (CSV, JSON, STIX 2.1 bundle) imported into a case; the same file twice adds nothing."""

    __tablename__ = "sighting_import"
    __table_args__ = (UniqueConstraint("case_id", "file_sha256", name="uq_sighting_import_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(10))  # csv | json (JSON Lines too) | stix
    source: Mapped[str | None] = mapped_column(String(200))  # --source: rows that name none get it
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200))
    records: Mapped[int] = mapped_column(Integer, default=0)  # rows / records read, usable or not
    sightings: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    skipped_reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, the first few, with place


class Sighting(Base):
    """An observation from a monitoring tool or a tip: an identifier and/or a file, on a network, at a UTC time.

    ``identifier_normalized`` is the same key extraction gives (``haven.intel.types``), so a sighting meets the
    case's identifiers on (type, normalized); ``identifier_id`` is the store's row when it existed at matching.
    ``record`` points back into the imported file: ``line:17``, ``record:3``, ``sighting--…/observed-data--…``.
    """

    __tablename__ = "sighting"
    __table_args__ = (
        Index("ix_sighting_case", "case_id", "observed_at", "id"),
        Index("ix_sighting_import", "import_id"),
        Index(
            "ix_sighting_identifier",
            "identifier_type",
            "identifier_normalized",
            "case_id",
            sqlite_where=text("identifier_normalized IS NOT NULL"),
            postgresql_where=text("identifier_normalized IS NOT NULL"),
        ),
        Index(
            "ix_sighting_identifier_id",
            "identifier_id",
            sqlite_where=text("identifier_id IS NOT NULL"),
            postgresql_where=text("identifier_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    import_id: Mapped[int] = mapped_column(ForeignKey("sighting_import.id", ondelete="CASCADE"))
    record: Mapped[str] = mapped_column(String(200))
    line: Mapped[int | None] = mapped_column(Integer)  # line in the file, where lines mean something
    identifier_type: Mapped[str | None] = mapped_column(String(20))
    identifier_value: Mapped[str | None] = mapped_column(Text)
    identifier_normalized: Mapped[str | None] = mapped_column(String(512))
    identifier_id: Mapped[int | None] = mapped_column(ForeignKey("identifier.id", ondelete="SET NULL"))
    network: Mapped[str | None] = mapped_column(String(100))  # bittorrent, newsgroups, telegram ...
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(Text)
    observed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # UTC
    source: Mapped[str | None] = mapped_column(String(200))


class SightingMatch(Base):
    """A sighting's file matched to a case content or to a known hash-set entry (exactly one of the two:
    the migration's check constraint ``ck_sighting_match_one_target``)."""

    __tablename__ = "sighting_match"
    __table_args__ = (
        Index("ix_sighting_match_case", "case_id", "sighting_id"),
        Index(
            "uq_sighting_match_content",
            "sighting_id",
            "content_id",
            "method",
            unique=True,
            sqlite_where=text("content_id IS NOT NULL"),
            postgresql_where=text("content_id IS NOT NULL"),
        ),
        Index(
            "uq_sighting_match_entry",
            "sighting_id",
            "entry_id",
            "method",
            unique=True,
            sqlite_where=text("entry_id IS NOT NULL"),
            postgresql_where=text("entry_id IS NOT NULL"),
        ),
        Index(
            "ix_sighting_match_content",
            "content_id",
            sqlite_where=text("content_id IS NOT NULL"),
            postgresql_where=text("content_id IS NOT NULL"),
        ),
        Index(
            "ix_sighting_match_entry",
            "entry_id",
            sqlite_where=text("entry_id IS NOT NULL"),
            postgresql_where=text("entry_id IS NOT NULL"),
        ),
        Index(
            "ix_sighting_match_set",
            "set_id",
            sqlite_where=text("set_id IS NOT NULL"),
            postgresql_where=text("set_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    sighting_id: Mapped[int] = mapped_column(ForeignKey("sighting.id", ondelete="CASCADE"))
    content_id: Mapped[int | None] = mapped_column(ForeignKey("content.id", ondelete="CASCADE"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("hash_entry.id", ondelete="CASCADE"))
    set_id: Mapped[int | None] = mapped_column(ForeignKey("hash_set.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(20))  # md5 | sha1 | sha256 | pdq
    distance: Mapped[int] = mapped_column(Integer, default=0)


# --- intel (issue 7): targets — models of migration 0013 below this line ------------------------


class TargetAction(Base):
    """An analyst's action on targets (name, note, merge, split), kept in order."""

    __tablename__ = "target_action"
    __table_args__ = (Index("ix_target_action_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)  # not a key: merged targets are deleted
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON
    user: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TargetLink(Base):
    """Why two identifiers are linked (``co-occurrence`` in one record, ``fuzzy`` record match), with the
    evidence as canonical JSON. ``other_case_id`` set: a lead into another case, not a link in this one."""

    __tablename__ = "target_link"
    __table_args__ = (Index("ix_target_link_case", "case_id", "identifier_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    identifier_id: Mapped[int] = mapped_column(ForeignKey("identifier.id", ondelete="CASCADE"))
    other_identifier_id: Mapped[int | None] = mapped_column(ForeignKey("identifier.id", ondelete="CASCADE"))
    other_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(40))  # co-occurrence | fuzzy
    score: Mapped[float] = mapped_column(Float)  # 1.0 for co-occurrence; match probability for fuzzy
    evidence: Mapped[str] = mapped_column(Text)


class TargetRun(Base):
    """One linking run of a case: the fingerprint of what it read (has the case changed since?) and a summary."""

    __tablename__ = "target_run"
    __table_args__ = (Index("ix_target_run_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)  # canonical JSON
    user: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- intel (issue 7): registers — models of migration 0014 below this line ----------------------


class PartnerRegister(Base):
    """A deconfliction register imported from another agency: whom to call on a match, never their case."""

    __tablename__ = "partner_register"
    __table_args__ = (UniqueConstraint("file_sha256", name="uq_partner_register_file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(Text)  # what a match shows
    key_name: Mapped[str] = mapped_column(String(64))  # the agreed key under $HAVEN_HOME/keys/intel
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signer_fingerprint: Mapped[str | None] = mapped_column(String(64))  # TrustedKey.fingerprint when signed
    file_name: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))  # a second import of the same file is a no-op
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200))
    entry_count: Mapped[int] = mapped_column(Integer, default=0)


class PartnerRegisterEntry(Base):
    """One keyed hash of a partner register: HMAC-SHA256 hex of ``kind + "\\x1f" + normalized``; no value."""

    __tablename__ = "partner_register_entry"
    __table_args__ = (Index("ix_partner_register_entry_prefix", "hash_prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("partner_register.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    value_hash: Mapped[str] = mapped_column(String(64))
    hash_prefix: Mapped[int] = mapped_column(BigInteger)  # first 8 bytes, signed: the (small) lookup index


# --- intel (issue 7): routing and referrals — models of migration 0015 below this line ----------


class Referral(Base):
    """A referral package written for one destination country: the file's SHA-256 proves what was sent."""

    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_case", "case_id", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    country: Mapped[str] = mapped_column(String(2))
    format: Mapped[str] = mapped_column(String(10))  # stix | json | html
    sha256: Mapped[str] = mapped_column(String(64))
    target_count: Mapped[int] = mapped_column(Integer, default=0)
    identifier_count: Mapped[int] = mapped_column(Integer, default=0)
    tlp: Mapped[str] = mapped_column(String(10))  # amber | red
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
