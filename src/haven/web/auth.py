"""Logging in: password check with throttling, and login sessions (create, resolve, end).

The cookie carries a random token (256 bits); the store keeps only its SHA-256, so a copy of the
database does not let anyone log in. A session ends after `web_idle_minutes` without a request and,
whatever the activity, `web_session_hours` after login.

Throttling, per (user name, client address): after 5 failures in a row every further attempt is
refused, even with the right password, for 1 minute, doubling with each further failure up to 1 hour.
A success clears the count; a count older than 24 hours starts again from zero.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from haven import accounts, audit
from haven.config import Config
from haven.store import Store
from haven.store.models import AppUser, LoginFailure, LoginSession

FREE_FAILURES = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
FAILURES_FORGOTTEN_AFTER = timedelta(hours=24)
TOUCH_EVERY = timedelta(seconds=30)
"""last_seen_at is written at most this often: fewer writes, idle timeout exact to 30 s."""


def as_utc(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- throttling


def lock_remaining(session: Session, username: str, client: str, now: datetime) -> timedelta | None:
    row = _failure_row(session, username, client)
    if row is None or row.locked_until is None:
        return None
    remaining = as_utc(row.locked_until) - now
    return remaining if remaining > timedelta(0) else None


def record_failure(session: Session, username: str, client: str, now: datetime) -> None:
    row = _failure_row(session, username, client)
    if row is None:
        row = LoginFailure(username=username[:200], client=client[:64], failures=0, last_failure_at=now)
        session.add(row)
    elif now - as_utc(row.last_failure_at) > FAILURES_FORGOTTEN_AFTER:
        row.failures, row.locked_until = 0, None
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= FREE_FAILURES:
        lock = min(FIRST_LOCK * 2 ** (row.failures - FREE_FAILURES), LONGEST_LOCK)
        row.locked_until = now + lock
    session.flush()


def clear_failures(session: Session, username: str, client: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.client == client))


def _failure_row(session: Session, username: str, client: str) -> LoginFailure | None:
    return session.scalar(
        select(LoginFailure).where(LoginFailure.username == username[:200], LoginFailure.client == client[:64])
    )


# ---------------------------------------------------------------- login


@dataclass(frozen=True)
class LoginOutcome:
    token: str | None = None
    """The new session's cookie token; None when the login was refused."""
    must_change_password: bool = False
    locked_for: timedelta | None = None


def attempt_login(
    store: Store, config: Config, username: str, password: str, *, client: str, now: datetime, presented: str | None
) -> LoginOutcome:
    """Check a password under throttling and, when right, start a new session. Everything is audited.

    The argon2 check (tens of milliseconds, 64 MiB) runs outside any write transaction, so a burst of
    logins never holds SQLite's write lock. The lock-out is checked again before a success is granted,
    so parallel guesses cannot slip a right password through a lock set meanwhile. Whatever session
    `presented` names (the browser's cookie before login) is deleted either way: no session fixation.
    """
    if not username.isprintable() or len(username) > 200:
        username = ""  # no such name can exist (and PostgreSQL refuses NUL bytes outright)
    with store.session() as session:
        locked = lock_remaining(session, username, client, now) if username else None
        user = accounts.find_user(session, username) if username and locked is None else None
        stored_hash = user.password_hash if user else None
    right = locked is None and accounts.verify_password(stored_hash, password)
    rehashed = (
        accounts.hash_password(password) if right and stored_hash and accounts.needs_rehash(stored_hash) else None
    )
    with store.session() as session:
        end_session(session, presented)
        purge_stale(session, config, now)
        if locked is None and username:
            locked = lock_remaining(session, username, client, now) if right else None
        if locked is not None:
            _audit(session, username, "login.locked", {"client": client})
            return LoginOutcome(locked_for=locked)
        user = accounts.find_user(session, username) if right else None
        if user is None or user.disabled or user.password_hash != stored_hash:
            if username:
                record_failure(session, username, client, now)
            _audit(session, username, "login.failed", {"client": client, "disabled": bool(user and user.disabled)})
            return LoginOutcome(locked_for=lock_remaining(session, username, client, now) if username else None)
        clear_failures(session, username, client)
        if rehashed is not None:
            user.password_hash = rehashed
        user.last_login_at = now
        _audit(session, user.name, "login", {"client": client})
        token = start_session(session, user, config, now, client)
        return LoginOutcome(token=token, must_change_password=user.must_change_password)


def _audit(session: Session, username: str, action: str, detail: dict[str, object]) -> None:
    audit.record(session, chain=audit.GLOBAL_CHAIN, user=username[:200] or "-", action=action, detail=detail)


def start_session(session: Session, user: AppUser, config: Config, now: datetime, client: str) -> str:
    """Create a login session and return the cookie token (shown to nobody else, stored only hashed)."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_sha256=token_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=config.web_session_hours),
            client=client[:64],
        )
    )
    session.flush()
    return token


def purge_stale(session: Session, config: Config, now: datetime) -> None:
    """Remove ended sessions and forgotten failure counts (run at each login: no scheduler needed)."""
    idle_cutoff = now - timedelta(minutes=config.web_idle_minutes)
    session.execute(
        delete(LoginSession).where((LoginSession.expires_at <= now) | (LoginSession.last_seen_at <= idle_cutoff))
    )
    forgotten = now - FAILURES_FORGOTTEN_AFTER
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.last_failure_at < forgotten,
            (LoginFailure.locked_until.is_(None)) | (LoginFailure.locked_until < now),
        )
    )


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(LoginSession).where(LoginSession.token_sha256 == token_digest(token)))


@dataclass(frozen=True)
class ActiveLogin:
    session_id: int
    user_id: int
    name: str
    role: str
    prefs_json: str
    csrf_token: str
    must_change_password: bool


def resolve_session(session: Session, token: str | None, config: Config, now: datetime) -> ActiveLogin | None:
    """The live session behind a cookie token, touched; None (and the row removed) when it has ended."""
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(LoginSession, AppUser)
        .join(AppUser, AppUser.id == LoginSession.user_id)
        .where(LoginSession.token_sha256 == token_digest(token))
    ).first()
    if row is None:
        return None
    login, user = row
    idle_limit = as_utc(login.last_seen_at) + timedelta(minutes=config.web_idle_minutes)
    if user.disabled or now >= as_utc(login.expires_at) or now >= idle_limit:
        session.delete(login)
        return None
    if now - as_utc(login.last_seen_at) >= TOUCH_EVERY:
        login.last_seen_at = now
    return ActiveLogin(
        session_id=login.id,
        user_id=user.id,
        name=user.name,
        role=user.role,
        prefs_json=user.prefs,
        csrf_token=login.csrf_token,
        must_change_password=user.must_change_password,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
