"""People under appraisal, their accounts, roles and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin
from app.models.org import OrgUnit
from app.models.sealed import SealedString


class Role(enum.StrEnum):
    """Role keys from DOMAIN.md. ``staff`` is implied by membership of a section."""

    staff = "staff"
    section_head = "section_head"
    unit_leader = "unit_leader"
    unit_principal = "unit_principal"
    unit_admin = "unit_admin"
    perf_office = "perf_office"
    sys_admin = "sys_admin"
    sec_admin = "sec_admin"
    audit_admin = "audit_admin"


# Which kind of organisation node each role is assigned on.
ROLE_SCOPE_KIND: dict[Role, str] = {
    Role.section_head: "section",
    Role.unit_leader: "section",  # the leader in charge of one or more sections
    Role.unit_principal: "unit",
    Role.unit_admin: "unit",
    Role.perf_office: "district",
    Role.sys_admin: "district",
    Role.sec_admin: "district",
    Role.audit_admin: "district",
}


class PersonStatus(enum.StrEnum):
    active = "active"
    left = "left"


class Person(TimestampMixin, Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    post: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))  # for notification e-mails, when the person wants them
    section_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    status: Mapped[PersonStatus] = mapped_column(
        Enum(PersonStatus, native_enum=False, length=16), default=PersonStatus.active, index=True
    )

    section: Mapped[OrgUnit | None] = relationship()
    account: Mapped[UserAccount | None] = relationship(back_populates="person", uselist=False)
    role_assignments: Mapped[list[RoleAssignment]] = relationship(back_populates="person", cascade="all, delete-orphan")

    @property
    def unit(self) -> OrgUnit | None:
        return self.section.parent if self.section else None

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.staff_no} {self.name}>"


class UserAccount(TimestampMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_changed_at: Mapped[datetime | None]
    # TOTP second factor (RFC 6238): the confirmed secret, one being enrolled, and the last time step
    # accepted, so a code cannot be used twice.
    # Sealed at rest (app/models/sealed.py): a database copy does not give away second factors.
    totp_secret: Mapped[str | None] = mapped_column(SealedString(128, "user_account.totp_secret"))
    totp_pending_secret: Mapped[str | None] = mapped_column(SealedString(128, "user_account.totp_pending_secret"))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    person: Mapped[Person | None] = relationship(back_populates="account")

    @property
    def totp_enrolled(self) -> bool:
        return self.totp_secret is not None

    def __repr__(self) -> str:
        return f"<UserAccount {self.id} {self.username}>"


class RoleAssignment(TimestampMixin, Base):
    """A person holds ``role`` over the organisation node ``org_unit`` (and what lies below it)."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("person_id", "role", "org_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=24), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)

    person: Mapped[Person] = relationship(back_populates="role_assignments")
    org_unit: Mapped[OrgUnit] = relationship()


class AuthSession(Base):
    """A server-side login session, so that logout really ends it."""

    __tablename__ = "auth_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    last_seen_at: Mapped[datetime | None]


class PasswordHistory(Base):
    """Earlier password hashes of an account, so the last few cannot be reused."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class LoginAttempt(Base):
    """Every login attempt, for lockout per address and for the audit trail."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))


class ApiToken(Base):
    """A bearer token for /api/v1; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SecurityPolicySetting(Base):
    """A security-policy value set by the security administrator, overriding the configured default."""

    __tablename__ = "security_policy_setting"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(64))
