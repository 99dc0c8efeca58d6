"""Accounts: password hashing, login sessions held server-side, API bearer tokens, and the system
administrator's account administration (unlock, disable, enable)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from app.models import ApiToken, AuthSession, OrgKind, OrgUnit, Person, Role, RoleAssignment, UserAccount
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.errors import T_, Forbidden, NotFound

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


# ---------------------------------------------------------------- administration (三权分立)

ADMIN_ROLES = frozenset({Role.sys_admin, Role.sec_admin, Role.audit_admin})


@dataclass(frozen=True)
class AccountRow:
    """What the account administration list shows: identity and security state, never appraisal content."""

    account: UserAccount
    name: str
    unit: str
    roles: list[Role]


@dataclass(frozen=True)
class AccountPage:
    items: list[AccountRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _require(actor: Actor, *roles: Role) -> None:
    # Deliberately not ``actor.has``: the separated admin duties are held, not implied by breadth.
    if not any(r in actor.scopes for r in roles):
        raise Forbidden(T_("This is for the system or security administrator."))


def list_accounts(session: Session, actor: Actor, q: str = "", page: int = 1, per_page: int = 50) -> AccountPage:
    """Accounts with their security state (locked, second factor, must change password), for the system and
    security administrators; searchable by username, name or staff number."""
    _require(actor, Role.sys_admin, Role.sec_admin)
    stmt = select(UserAccount).outerjoin(Person, UserAccount.person_id == Person.id)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(UserAccount.username.like(like), Person.name.like(like), Person.staff_no.like(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    rows = session.scalars(
        stmt.options(joinedload(UserAccount.person).joinedload(Person.section).joinedload(OrgUnit.parent))
        .order_by(UserAccount.username)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    ids = [a.person_id for a in rows if a.person_id is not None]
    roles: dict[int, list[Role]] = {}
    for pid, role in session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role).where(RoleAssignment.person_id.in_(ids))
    ):
        if role not in roles.setdefault(pid, []):
            roles[pid].append(role)
    items = []
    for a in rows:
        person = a.person
        unit = person.section.parent.name if person and person.section and person.section.parent else ""
        items.append(AccountRow(a, person.name if person else a.username, unit, roles.get(a.person_id or -1, [])))
    return AccountPage(items, total, page, per_page)


def _admin_roles_of(session: Session, user: UserAccount) -> set[Role]:
    if user.person_id is None:
        return set()
    held = session.scalars(select(RoleAssignment.role).where(RoleAssignment.person_id == user.person_id))
    return set(held) & ADMIN_ROLES


def _target(session: Session, actor: Actor, user_id: int) -> UserAccount:
    _require(actor, Role.sys_admin)
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound(T_("Account %(id)s does not exist.", id=user_id))
    if user.id == actor.user_id:
        raise Forbidden(T_("You cannot change your own account here; ask another administrator."))
    return user


def unlock(session: Session, actor: Actor, user_id: int) -> UserAccount:
    """The system administrator lifts a lockout before it runs out (audited)."""
    user = _target(session, actor, user_id)
    user.locked_until, user.failed_logins = None, 0
    session.flush()
    audit.record(session, actor, "account.unlock", "user_account", user.id, "success", {"username": user.username})
    return user


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> UserAccount:
    """The system administrator disables or re-enables an account; disabling ends its sessions and tokens.

    An account holding a separated admin role cannot be disabled by the system administrator: the
    security administrator first revokes the role, so one admin cannot silence the others.
    """
    user = _target(session, actor, user_id)
    if not active and (held := _admin_roles_of(session, user)):
        raise Forbidden(
            T_(
                "%(name)s holds the role %(role)s: the security administrator must revoke it before the account "
                "can be disabled.",
                name=user.username,
                role=sorted(held)[0].value,
            )
        )
    if user.active == active:
        return user
    user.active = active
    if not active:
        now = utcnow()
        for model in (AuthSession, ApiToken):
            session.execute(
                update(model)
                .where(model.user_id == user.id, model.revoked_at.is_(None))
                .values(revoked_at=now)
                .execution_options(synchronize_session=False)
            )
    session.flush()
    action = "account.enable" if active else "account.disable"
    audit.record(session, actor, action, "user_account", user.id, "success", {"username": user.username})
    return user
