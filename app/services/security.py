"""Account security: password policy and history, lockout per account and per address, idle sessions.

Rotation: by default passwords do not expire (``PASSWORD_MAX_AGE_DAYS=0``), following OWASP
ASVS 2.1.10 / NIST 800-63B; a district that must show 等保 periodic change sets a number of
days and users are sent to the change page when theirs is older. See the README.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import LoginAttempt, PasswordHistory, UserAccount
from app.models.base import utcnow
from app.services import accounts, audit
from app.services.errors import T_, Invalid, Text


@dataclass(frozen=True)
class SecurityPolicy:
    min_length: int = 8
    min_classes: int = 3
    history: int = 5
    max_age_days: int = 0
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    address_failure_limit: int = 20
    idle_minutes: int = 30

    @classmethod
    def from_config(cls, config: Any) -> SecurityPolicy:
        return cls(
            min_length=config["PASSWORD_MIN_LENGTH"],
            min_classes=config["PASSWORD_MIN_CLASSES"],
            history=config["PASSWORD_HISTORY"],
            max_age_days=config["PASSWORD_MAX_AGE_DAYS"],
            lockout_threshold=config["LOCKOUT_THRESHOLD"],
            lockout_minutes=config["LOCKOUT_MINUTES"],
            address_failure_limit=config["ADDRESS_FAILURE_LIMIT"],
            idle_minutes=config["SESSION_IDLE_MINUTES"],
        )


class LoginOutcome(StrEnum):
    ok = "ok"
    bad_credentials = "bad_credentials"
    locked = "locked"
    address_blocked = "address_blocked"


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: UserAccount | None = None

    @property
    def message(self) -> Text:
        if self.outcome is LoginOutcome.locked:
            return T_(
                "Too many failed attempts: the account is locked for a while. Try again later or ask "
                "your administrator."
            )
        if self.outcome is LoginOutcome.address_blocked:
            return T_("Too many failed attempts from your address. Wait a while before trying again.")
        return T_("Wrong username or password, or the account is disabled.")


def password_problems(password: str, policy: SecurityPolicy, username: str = "") -> list[Text]:
    problems: list[Text] = []
    if len(password) < policy.min_length:
        problems.append(T_("Use at least %(n)d characters.", n=policy.min_length))
    classes = sum(
        any(c in chars for c in password) for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    ) + any(not c.isalnum() for c in password)
    if classes < policy.min_classes:
        problems.append(
            T_("Mix at least %(n)d of: lower-case letters, upper-case letters, digits, symbols.", n=policy.min_classes)
        )
    if username and username.lower() in password.lower():
        problems.append(T_("Do not put your username in the password."))
    return problems


def login(
    session: Session, username: str, password: str, remote_addr: str | None, policy: SecurityPolicy
) -> LoginResult:
    """Authenticate with lockout: N failures in a row lock the account, and an address that fails
    too often is refused before any password is checked. Every attempt is recorded."""
    now = utcnow()
    window = now - timedelta(minutes=policy.lockout_minutes)
    username = username.strip()[:64]
    failures_from_address = (
        session.scalar(
            select(func.count(LoginAttempt.id)).where(
                LoginAttempt.remote_addr == remote_addr, LoginAttempt.success.is_(False), LoginAttempt.at >= window
            )
        )
        or 0
    )
    if remote_addr and failures_from_address >= policy.address_failure_limit:
        _record(session, username, remote_addr, False, "address_blocked")
        return LoginResult(LoginOutcome.address_blocked)
    user = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        _record(session, username, remote_addr, False, "locked", user)
        return LoginResult(LoginOutcome.locked)
    found = accounts.authenticate(session, username, password)
    if found is None:
        if user is not None:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= policy.lockout_threshold:
                user.locked_until, user.failed_logins = now + timedelta(minutes=policy.lockout_minutes), 0
                _record(session, username, remote_addr, False, "locked_now", user)
                return LoginResult(LoginOutcome.locked)
        _record(session, username, remote_addr, False, "bad_credentials", user)
        return LoginResult(LoginOutcome.bad_credentials)
    found.failed_logins, found.locked_until = 0, None
    if (
        policy.max_age_days
        and found.password_changed_at is not None
        and found.password_changed_at < now - timedelta(days=policy.max_age_days)
    ):
        found.must_change_password = True
    _record(session, username, remote_addr, True, None, found)
    return LoginResult(LoginOutcome.ok, found)


def _record(
    session: Session,
    username: str,
    remote_addr: str | None,
    success: bool,
    reason: str | None,
    user: UserAccount | None = None,
) -> None:
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, at=utcnow(), success=success, reason=reason))
    session.flush()
    # The typed username is the actor; it is a person only once the password proved it.
    object_id = user.id if user is not None else None
    person_id = user.person_id if user is not None and success else None
    result = "success" if success else ("denied" if reason in ("locked", "address_blocked") else "failure")
    details = {"reason": reason} if reason else None
    for action in ("login", "account.lock") if reason == "locked_now" else ("login",):
        audit.record(
            session,
            None,
            action,
            "user_account",
            object_id,
            "success" if action == "account.lock" else result,
            details,
            remote_addr,
            username=username,
            person_id=person_id,
        )


def change_password(session: Session, user: UserAccount, current: str, new: str, policy: SecurityPolicy) -> None:
    """Change a password: the current one must match, the new one meet the policy and not be recent."""
    errors: dict[str, str] = {}
    if not accounts.verify_password(user, current):
        errors["current"] = T_("This is not your current password.")
    problems = password_problems(new, policy, user.username)
    if problems:
        errors["new"] = problems[0]
    elif accounts.verify_password(user, new) or _in_history(session, user, new, policy.history):
        errors["new"] = T_("Choose a password you have not used for your last %(n)d changes.", n=policy.history)
    if errors:
        raise Invalid(T_("The password was not changed."), errors)
    now = utcnow()
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, created_at=now))
    user.password_hash = accounts.hash_password(new)
    user.password_changed_at, user.must_change_password = now, False
    session.flush()


def _in_history(session: Session, user: UserAccount, password: str, depth: int) -> bool:
    rows = session.scalars(
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc())
        .limit(max(depth - 1, 0))
    )
    probe = UserAccount(password_hash="")
    for old_hash in rows:
        probe.password_hash = old_hash
        if accounts.verify_password(probe, password):
            return True
    return False
