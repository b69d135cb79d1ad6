"""Web-app accounts and case membership: the service the CLI and the web app share.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile). Every change
is audit-logged: account changes on the global chain, membership changes on the case's chain.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import audit
from haven.cases import case_chain, get_case
from haven.errors import HavenError
from haven.store.models import AppUser, CaseMember, utcnow

ROLES = ("reviewer", "investigator", "admin")
"""In rising order of rights."""
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is only a way to burn CPU
BOOTSTRAP_ADMIN = "admin"

DEFAULT_HASHER = PasswordHasher()
"""argon2id, time_cost 3, 64 MiB, parallelism 4 (argon2-cffi's defaults: RFC 9106's low-memory choice)."""
_hasher = DEFAULT_HASHER
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the hasher (tests use cheap argon2id parameters; stored hashes carry their own parameters)."""
    global _hasher, _dummy_hash
    _hasher, _dummy_hash = hasher, None


def _dummy() -> str:
    """Verified against when the user name is unknown, so a wrong name costs as long as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hash


def role_rank(role: str) -> int:
    return ROLES.index(role)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise HavenError(f"unknown role '{role}' (choose from: {', '.join(ROLES)})")
    return role


@dataclass(frozen=True)
class UserPrefs:
    """Wellbeing preferences, per user. Video autoplay is never offered: it is always off."""

    blur: bool = True
    greyscale: bool = True
    show_known: bool = False
    break_minutes: int = 50
    autoplay: bool = False

    @classmethod
    def from_json(cls, text: str | None) -> UserPrefs:
        try:
            raw = json.loads(text or "{}")
        except ValueError:
            raw = {}
        known = {f.name for f in fields(cls)} - {"autoplay"}
        values: dict[str, Any] = {k: v for k, v in raw.items() if k in known} if isinstance(raw, dict) else {}
        prefs = cls()
        try:
            return cls(
                blur=bool(values.get("blur", prefs.blur)),
                greyscale=bool(values.get("greyscale", prefs.greyscale)),
                show_known=bool(values.get("show_known", prefs.show_known)),
                break_minutes=clamp_break_minutes(int(values.get("break_minutes", prefs.break_minutes))),
            )
        except (TypeError, ValueError):
            return prefs

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("autoplay")
        return json.dumps(data, sort_keys=True)


def clamp_break_minutes(value: int) -> int:
    """0 turns the reminder off; otherwise 5 minutes to 4 hours."""
    return 0 if value <= 0 else max(5, min(240, value))


# ---------------------------------------------------------------- passwords


# Each argon2 computation takes 64 MiB: a burst of logins must not take the machine's memory with it.
_HASHING_SLOTS = threading.BoundedSemaphore(max(2, min(4, os.cpu_count() or 2)))


def hash_password(password: str) -> str:
    with _HASHING_SLOTS:
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check: an unknown user (None) still pays one argon2 verification."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    expected = password_hash or _dummy()
    try:
        with _HASHING_SLOTS:
            return _hasher.verify(expected, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_new_password(password: str, *, name: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise HavenError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise HavenError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == name.strip().lower():
        raise HavenError("the password must not be the user name")


def generate_password() -> str:
    """A one-time password: 24 URL-safe characters (144 bits)."""
    return secrets.token_urlsafe(18)


# ---------------------------------------------------------------- users


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 120 or any(c.isspace() or not c.isprintable() for c in cleaned):
        raise HavenError(f"invalid user name '{name}' (1-120 printable characters, no spaces)")
    return cleaned


def find_user(session: Session, name: str) -> AppUser | None:
    return session.scalar(select(AppUser).where(AppUser.name == name))


def get_user(session: Session, name: str) -> AppUser:
    user = find_user(session, name)
    if user is None:
        raise HavenError(f"no user '{name}' (create it with: haven user add {name} --role reviewer)")
    return user


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AppUser)) or 0)


def create_user(
    session: Session, name: str, password: str, *, role: str, by: str, must_change_password: bool = False
) -> AppUser:
    name = check_name(name)
    check_role(role)
    check_new_password(password, name=name)
    if find_user(session, name) is not None:
        raise HavenError(f"user '{name}' already exists")
    user = AppUser(
        name=name,
        password_hash=hash_password(password),
        role=role,
        must_change_password=must_change_password,
        disabled=False,
        prefs=UserPrefs().to_json(),
        created_at=utcnow(),
        created_by=by,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=by,
        action="user.add",
        detail={"name": name, "role": role, "must_change_password": must_change_password},
    )
    return user


def bootstrap_admin(session: Session, *, by: str) -> str | None:
    """On a store without users: create `admin` with a one-time password and return it (else None)."""
    if count_users(session) > 0:
        return None
    password = generate_password()
    create_user(session, BOOTSTRAP_ADMIN, password, role="admin", by=by, must_change_password=True)
    return password


def set_password(session: Session, user: AppUser, new_password: str, *, by: str) -> None:
    check_new_password(new_password, name=user.name)
    if verify_password(user.password_hash, new_password):
        raise HavenError("the new password must differ from the current one")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    session.flush()
    audit.record(session, chain=audit.GLOBAL_CHAIN, user=by, action="user.password", detail={"name": user.name})


def disable_user(session: Session, name: str, *, by: str) -> AppUser:
    from haven.store.models import LoginSession

    user = get_user(session, name)
    user.disabled = True
    # Disabling ends every open login at once, not at the next idle timeout.
    for login in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
        session.delete(login)
    session.flush()
    audit.record(session, chain=audit.GLOBAL_CHAIN, user=by, action="user.disable", detail={"name": user.name})
    return user


def save_prefs(session: Session, user: AppUser, prefs: UserPrefs, *, by: str) -> None:
    user.prefs = prefs.to_json()
    session.flush()
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=by,
        action="user.preferences",
        detail={"name": user.name, "prefs": json.loads(prefs.to_json())},
    )


def list_users(session: Session) -> list[AppUser]:
    return list(session.scalars(select(AppUser).order_by(AppUser.name)))


# ---------------------------------------------------------------- case membership


def add_member(session: Session, reference: str, name: str, *, role: str, by: str) -> tuple[CaseMember, bool]:
    """Add a user to a case, or change their role in it. Returns (membership, created)."""
    check_role(role)
    case = get_case(session, reference)
    user = get_user(session, name)
    member = session.scalar(select(CaseMember).where(CaseMember.case_id == case.id, CaseMember.user_id == user.id))
    created = member is None
    if member is None:
        member = CaseMember(case_id=case.id, user_id=user.id, role=role, added_at=utcnow(), added_by=by)
        session.add(member)
    elif member.role == role:
        return member, False
    previous = None if created else member.role
    member.role = role
    session.flush()
    audit.record(
        session,
        chain=case_chain(case.reference),
        user=by,
        action="case.member.add" if created else "case.member.role",
        detail={"user": user.name, "role": role, "previous_role": previous},
    )
    return member, created


@dataclass(frozen=True)
class MemberRow:
    name: str
    role: str
    global_role: str
    disabled: bool
    added_at: datetime
    added_by: str


def list_members(session: Session, reference: str) -> list[MemberRow]:
    case = get_case(session, reference)
    rows = session.execute(
        select(AppUser.name, CaseMember.role, AppUser.role, AppUser.disabled, CaseMember.added_at, CaseMember.added_by)
        .join(AppUser, AppUser.id == CaseMember.user_id)
        .where(CaseMember.case_id == case.id)
        .order_by(AppUser.name)
    )
    return [MemberRow(*row) for row in rows]
