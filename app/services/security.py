"""Account security: password policy and history, lockout per account and per address, idle sessions.

Rotation: by default passwords do not expire (``PASSWORD_MAX_AGE_DAYS=0``), following OWASP
ASVS 2.1.10 / NIST 800-63B; a district that must show 等保 periodic change sets a number of
days and users are sent to the change page when theirs is older. See the README.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import LoginAttempt, PasswordHistory, Role, SecurityPolicySetting, UserAccount
from app.models.base import utcnow
from app.services import accounts, audit, totp
from app.services.actor import Actor
from app.services.errors import T_, Forbidden, Invalid, Text


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
    totp_enabled: bool = False
    totp_required_roles: frozenset[Role] = frozenset({Role.sys_admin, Role.sec_admin, Role.audit_admin})
    totp_issuer: str = "Jixiao"

    @classmethod
    def from_config(cls, config: Any) -> SecurityPolicy:
        """The configured defaults only (settings and environment); ``load`` adds the administrator's changes."""
        return cls(
            min_length=config["PASSWORD_MIN_LENGTH"],
            min_classes=config["PASSWORD_MIN_CLASSES"],
            history=config["PASSWORD_HISTORY"],
            max_age_days=config["PASSWORD_MAX_AGE_DAYS"],
            lockout_threshold=config["LOCKOUT_THRESHOLD"],
            lockout_minutes=config["LOCKOUT_MINUTES"],
            address_failure_limit=config["ADDRESS_FAILURE_LIMIT"],
            idle_minutes=config["SESSION_IDLE_MINUTES"],
            totp_enabled=bool(config.get("TOTP_ENABLED", False)),
            totp_required_roles=totp.required_roles(config.get("TOTP_REQUIRED_ROLES", "")),
            totp_issuer=config.get("TOTP_ISSUER", "Jixiao"),
        )

    @classmethod
    def load(cls, session: Session, config: Any) -> SecurityPolicy:
        """The policy in force: configured defaults overridden by what the security administrator set."""
        policy = cls.from_config(config)
        stored = {
            name: value
            for name, value in session.execute(select(SecurityPolicySetting.name, SecurityPolicySetting.value))
        }
        changes: dict[str, Any] = {
            f.name: (bool(stored[f.name]) if f.kind is bool else stored[f.name]) for f in EDITABLE if f.name in stored
        }
        return replace(policy, **changes)


@dataclass(frozen=True)
class PolicyField:
    """A policy value the security administrator may change, with the bounds 等保 and sense allow."""

    name: str
    low: int
    high: int
    kind: type = int


EDITABLE: tuple[PolicyField, ...] = (
    PolicyField("min_length", 8, 64),
    PolicyField("min_classes", 2, 4),
    PolicyField("history", 0, 24),
    PolicyField("max_age_days", 0, 365),
    PolicyField("lockout_threshold", 3, 10),
    PolicyField("lockout_minutes", 1, 1440),
    PolicyField("address_failure_limit", 5, 1000),
    PolicyField("totp_enabled", 0, 1, bool),
)


def update_policy(session: Session, actor: Actor, config: Any, values: dict[str, int]) -> dict[str, tuple[Any, Any]]:
    """Store the security administrator's policy values; returns {name: (before, after)} of what changed.

    Only ``sec_admin`` may do this (三权分立: the system administrator runs the system, not its
    security policy). Each value is checked against its bounds; the change is audited.
    """
    if Role.sec_admin not in actor.scopes:
        raise Forbidden(T_("Only the security administrator can change the security policy."))
    before = SecurityPolicy.load(session, config)
    errors: dict[str, str] = {}
    for f in EDITABLE:
        value = values.get(f.name)
        if value is None or not f.low <= int(value) <= f.high:
            errors[f.name] = T_("Enter a whole number from %(low)d to %(high)d.", low=f.low, high=f.high)
    if errors:
        raise Invalid(T_("The security policy was not changed."), errors)
    changed: dict[str, tuple[Any, Any]] = {}
    now = utcnow()
    for f in EDITABLE:
        old, new = getattr(before, f.name), (bool(values[f.name]) if f.kind is bool else int(values[f.name]))
        if old == new:
            continue
        changed[f.name] = (old, new)
        row = session.get(SecurityPolicySetting, f.name)
        if row is None:
            row = SecurityPolicySetting(name=f.name)
            session.add(row)
        row.value, row.updated_at, row.updated_by = int(new), now, actor.username
    session.flush()
    if changed:
        audit.record(
            session,
            actor,
            "settings.security_policy",
            "security_policy",
            None,
            "success",
            {name: {"before": old, "after": new} for name, (old, new) in changed.items()},
        )
    return changed


class LoginOutcome(StrEnum):
    ok = "ok"
    bad_credentials = "bad_credentials"
    locked = "locked"
    address_blocked = "address_blocked"
    otp_required = "otp_required"  # the password was right; the second factor is still to come
    bad_otp = "bad_otp"


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
        if self.outcome is LoginOutcome.otp_required:
            return T_("Enter the 6-digit code from your authenticator app.")
        if self.outcome is LoginOutcome.bad_otp:
            return T_("The code is wrong or has already been used. Enter the current code from your authenticator app.")
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
    session: Session,
    username: str,
    password: str,
    remote_addr: str | None,
    policy: SecurityPolicy,
    otp: str | None = None,
) -> LoginResult:
    """Authenticate with lockout: N failures in a row lock the account, and an address that fails
    too often is refused before any password is checked. Every attempt is recorded.

    For an account with a second factor a right password alone gives ``otp_required`` (nothing is
    reset, no session may start); the code then goes to ``second_factor`` — or comes along as
    ``otp`` when one request carries both (the API).
    """
    now = utcnow()
    username = username.strip()[:64]
    if _address_blocked(session, remote_addr, policy, now):
        _record(session, username, remote_addr, False, "address_blocked")
        return LoginResult(LoginOutcome.address_blocked)
    user = session.scalar(select(UserAccount).where(UserAccount.username == username))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        _record(session, username, remote_addr, False, "locked", user)
        return LoginResult(LoginOutcome.locked)
    found = accounts.authenticate(session, username, password)
    if found is None:
        return _fail(session, user, username, remote_addr, policy, "bad_credentials")
    if found.totp_enrolled:
        if otp is None:
            audit.record(
                session,
                None,
                "login.password",
                "user_account",
                found.id,
                "success",
                {"second_factor": "pending"},
                remote_addr,
                username=username,
                person_id=found.person_id,
            )
            return LoginResult(LoginOutcome.otp_required, found)
        return second_factor(session, found, otp, remote_addr, policy)
    return _succeed(session, found, remote_addr, policy)


def second_factor(
    session: Session, user: UserAccount, code: str | None, remote_addr: str | None, policy: SecurityPolicy
) -> LoginResult:
    """The login's second step: the TOTP code of an account whose password was just accepted.

    A wrong or replayed code is a failed login like a wrong password: it counts towards the lockout.
    """
    now = utcnow()
    if _address_blocked(session, remote_addr, policy, now):
        _record(session, user.username, remote_addr, False, "address_blocked", user)
        return LoginResult(LoginOutcome.address_blocked)
    if user.locked_until is not None and user.locked_until > now:
        _record(session, user.username, remote_addr, False, "locked", user)
        return LoginResult(LoginOutcome.locked)
    if not user.active or not totp.check_code(session, user, code, now):
        return _fail(session, user, user.username, remote_addr, policy, "bad_otp")
    return _succeed(session, user, remote_addr, policy)


def refuse_code(session: Session, user: UserAccount, remote_addr: str | None, policy: SecurityPolicy) -> LoginResult:
    """A wrong code typed inside a session (switching the second factor off) counts like a failed login.

    Otherwise whoever holds a stolen session could guess codes without limit and then remove the
    second factor; counted, the guesses lock the account, and a locked account's sessions end at once.
    """
    return _fail(session, user, user.username, remote_addr, policy, "bad_otp")


def _address_blocked(session: Session, remote_addr: str | None, policy: SecurityPolicy, now: datetime) -> bool:
    if not remote_addr:
        return False
    window = now - timedelta(minutes=policy.lockout_minutes)
    failures = session.scalar(
        select(func.count(LoginAttempt.id)).where(
            LoginAttempt.remote_addr == remote_addr, LoginAttempt.success.is_(False), LoginAttempt.at >= window
        )
    )
    return (failures or 0) >= policy.address_failure_limit


def _fail(
    session: Session,
    user: UserAccount | None,
    username: str,
    remote_addr: str | None,
    policy: SecurityPolicy,
    reason: str,
) -> LoginResult:
    if user is not None:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= policy.lockout_threshold:
            user.locked_until, user.failed_logins = utcnow() + timedelta(minutes=policy.lockout_minutes), 0
            _record(session, username, remote_addr, False, "locked_now", user)
            return LoginResult(LoginOutcome.locked)
    _record(session, username, remote_addr, False, reason, user)
    return LoginResult(LoginOutcome.bad_otp if reason == "bad_otp" else LoginOutcome.bad_credentials)


def _succeed(session: Session, user: UserAccount, remote_addr: str | None, policy: SecurityPolicy) -> LoginResult:
    now = utcnow()
    user.failed_logins, user.locked_until = 0, None
    if (
        policy.max_age_days
        and user.password_changed_at is not None
        and user.password_changed_at < now - timedelta(days=policy.max_age_days)
    ):
        user.must_change_password = True
    _record(session, user.username, remote_addr, True, None, user, second_factor=user.totp_enrolled)
    return LoginResult(LoginOutcome.ok, user)


def _record(
    session: Session,
    username: str,
    remote_addr: str | None,
    success: bool,
    reason: str | None,
    user: UserAccount | None = None,
    *,
    second_factor: bool = False,
) -> None:
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, at=utcnow(), success=success, reason=reason))
    session.flush()
    # The typed username is the actor; it is a person only once the password proved it.
    object_id = user.id if user is not None else None
    person_id = user.person_id if user is not None and success else None
    result = "success" if success else ("denied" if reason in ("locked", "address_blocked") else "failure")
    details: dict[str, str] | None = {"reason": reason} if reason else None
    if second_factor:
        details = {"second_factor": "totp"}
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
    """Change a password: the current one must match, the new one meet the policy and not be recent.

    Both outcomes are audited; the refusal's event is flushed before ``Invalid`` is raised, so a
    caller that keeps it (the web layer commits it with the 422) leaves a trace of the attempt.
    """
    errors: dict[str, str] = {}
    if not accounts.verify_password(user, current):
        errors["current"] = T_("This is not your current password.")
    problems = password_problems(new, policy, user.username)
    if problems:
        errors["new"] = problems[0]
    elif accounts.verify_password(user, new) or _in_history(session, user, new, policy.history):
        errors["new"] = T_("Choose a password you have not used for your last %(n)d changes.", n=policy.history)
    if errors:
        _audit_password(session, user, "failure", {"fields": sorted(errors)})
        raise Invalid(T_("The password was not changed."), errors)
    now = utcnow()
    forced = bool(user.must_change_password)
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, created_at=now))
    user.password_hash = accounts.hash_password(new)
    user.password_changed_at, user.must_change_password = now, False
    session.flush()
    _audit_password(session, user, "success", {"forced": forced})


def _audit_password(session: Session, user: UserAccount, result: str, details: dict[str, Any]) -> None:
    audit.record(
        session,
        None,
        "password.change",
        "user_account",
        user.id,
        result,
        details,
        username=user.username,
        person_id=user.person_id,
    )


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
