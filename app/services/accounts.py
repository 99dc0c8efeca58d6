"""Accounts: password hashing, login sessions held server-side, and API bearer tokens."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApiToken, AuthSession, OrgKind, Role, RoleAssignment, UserAccount
from app.models.base import utcnow

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("jixiao-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: UserAccount, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> UserAccount | None:
    """Return the active account whose password matches, else ``None`` (no hint which part failed)."""
    user = session.scalar(select(UserAccount).where(UserAccount.username == username.strip()))
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password + "x")
        return None
    if not user.active or not verify_password(user, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(session: Session, user: UserAccount, hours: int, remote_addr: str | None) -> AuthSession:
    """Open a fresh server-side session; its random id is what the browser cookie carries."""
    now = utcnow()
    row = AuthSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        remote_addr=remote_addr,
    )
    session.add(row)
    session.flush()
    return row


def session_user(session: Session, session_id: str | None, idle_minutes: int = 0) -> UserAccount | None:
    """The account behind a live session id, or ``None`` if revoked, expired, idle too long,
    deactivated or locked. Activity is noted at most once a minute (it is a write)."""
    if not session_id:
        return None
    row = session.get(AuthSession, session_id)
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    seen = row.last_seen_at or row.created_at
    if idle_minutes and seen < now - timedelta(minutes=idle_minutes):
        return None
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.active or (user.locked_until is not None and user.locked_until > now):
        return None
    if seen < now - timedelta(seconds=60):
        row.last_seen_at = now
    return user


def end_session(session: Session, session_id: str | None) -> None:
    if session_id and (row := session.get(AuthSession, session_id)) is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: UserAccount, hours: int) -> tuple[str, datetime]:
    """Create a bearer token; the caller sees it once, the database keeps only its digest."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(hours=hours)
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=expires))
    session.flush()
    return token, expires


def token_user(session: Session, token: str) -> UserAccount | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(UserAccount, row.user_id)
    return user if user is not None and user.active else None


def describe_roles(session: Session, user: UserAccount) -> list[dict[str, Any]]:
    """Roles as ``[{"role", "unit", "section"}]`` with names, ``staff`` first when it applies."""
    out: list[dict[str, Any]] = []
    person = user.person
    if person is None:
        return out
    if person.section is not None:
        out.append(
            {
                "role": Role.staff.value,
                "unit": person.section.parent.name if person.section.parent else None,
                "section": person.section.name,
            }
        )
    rows = session.scalars(
        select(RoleAssignment).where(RoleAssignment.person_id == person.id).order_by(RoleAssignment.id)
    )
    for ra in rows:
        node = ra.org_unit
        if node.kind is OrgKind.section:
            unit, section = (node.parent.name if node.parent else None), node.name
        elif node.kind is OrgKind.unit:
            unit, section = node.name, None
        else:
            unit, section = None, None
        out.append({"role": ra.role.value, "unit": unit, "section": section})
    return out
