"""The optional TOTP second factor (RFC 6238, 6 digits, 30-second steps), issue 9.

An account enrols in two steps: a pending secret is shown (text, otpauth URI and QR code) and only
becomes the account's secret once a code made from it is typed back, so a mistyped or unscanned
secret can never lock anyone out. A code is accepted within one step either side of now (clock
drift), and each time step is accepted once per account (``totp_last_step``): a code seen over a
shoulder or replayed from a log cannot be used again. Wrong codes count towards the account
lockout exactly like wrong passwords (see ``app.services.security``).

The security administrator resets a person's second factor (lost phone); that ends the person's
sessions and API tokens, so whoever holds them must log in again and enrol afresh. Every step is
in the audit trail.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime
from io import BytesIO

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.models import ApiToken, AuthSession, Role, UserAccount
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound

DIGITS = 6
DRIFT_STEPS = 1  # accept the previous and the next 30-second step too


def required_roles(raw: str | Iterable[str]) -> frozenset[Role]:
    """Parse ``TOTP_REQUIRED_ROLES`` (comma-separated role keys); unknown keys are a configuration error."""
    names = raw.split(",") if isinstance(raw, str) else list(raw)
    try:
        return frozenset(Role(n.strip()) for n in names if n.strip())
    except ValueError as exc:
        raise ValueError(f"TOTP_REQUIRED_ROLES: {exc}; use role keys such as sys_admin,sec_admin") from exc


def must_enrol(actor: Actor, user: UserAccount, enabled: bool, roles: frozenset[Role]) -> bool:
    """True when the second factor is switched on, the actor holds a role that needs it, and has none yet."""
    return enabled and not user.totp_enrolled and any(r in actor.scopes for r in roles)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an SVG fragment (no script), to be placed in the page as is."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = BytesIO()
    image.save(out)
    text = out.getvalue().decode("utf-8")
    return text[text.index("<svg") :]  # drop the XML declaration: the fragment sits inside HTML


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def _matching_step(secret: str, code: str | None, now: datetime) -> int | None:
    """The time step ``code`` belongs to (within the drift), compared in constant time; else ``None``."""
    code = _normalise(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS)
    current = totp.timecode(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def begin_enrolment(session: Session, user: UserAccount) -> str:
    """The pending secret to show (created once, so reloading the page does not invalidate a scan)."""
    if user.totp_enrolled:
        raise Conflict(T_("A second factor is already active on this account."))
    if user.totp_pending_secret is None:
        user.totp_pending_secret = pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends
        session.flush()
    return user.totp_pending_secret


def confirm_enrolment(session: Session, user: UserAccount, code: str | None, now: datetime | None = None) -> None:
    """Activate the pending secret once ``code`` proves the app holds it."""
    now = now or utcnow()
    if user.totp_enrolled:
        raise Conflict(T_("A second factor is already active on this account."))
    if user.totp_pending_secret is None:
        raise Conflict(T_("Open the enrolment page first to get a secret for your app."))
    step = _matching_step(user.totp_pending_secret, code, now)
    if step is None:
        _audit(session, user, "totp.enrol", "failure")
        raise Invalid(
            T_("The second factor was not switched on."),
            {"code": T_("This code does not match. Check that the app shows this account and the phone's clock.")},
        )
    user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
    user.totp_enabled_at, user.totp_last_step = now, step
    session.flush()
    _audit(session, user, "totp.enrol", "success")


def check_code(session: Session, user: UserAccount, code: str | None, now: datetime | None = None) -> bool:
    """True once per time step for a right code; the step is remembered so the same code is refused next time.

    The step is claimed with one conditional UPDATE, not read-then-write: two requests racing with
    the same code (a replay sent alongside the real login) both pass the check in memory, but the
    database lets only one of them move ``totp_last_step`` forward (PostgreSQL re-checks the
    condition once the first transaction ends), so exactly one is accepted.
    """
    if user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, now or utcnow())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    claimed = session.execute(
        update(UserAccount)
        .where(
            UserAccount.id == user.id,
            or_(UserAccount.totp_last_step.is_(None), UserAccount.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def disable(session: Session, user: UserAccount, code: str | None, required: bool) -> None:
    """Switch one's own optional second factor off, proven with a current code; refused when a role requires it."""
    if required:
        raise Forbidden(T_("Your role requires a second factor; it cannot be switched off."))
    if not check_code(session, user, code):
        raise Invalid(T_("The second factor was not switched off."), {"code": T_("This code does not match.")})
    _clear(user)
    session.flush()
    _audit(session, user, "totp.disable", "success")


def _audit(session: Session, user: UserAccount, action: str, result: str) -> None:
    """An event of the person's own second factor, under their name (these steps take the account, not an actor)."""
    audit.record(
        session, None, action, "user_account", user.id, result, None, username=user.username, person_id=user.person_id
    )


def _clear(user: UserAccount) -> None:
    user.totp_secret = user.totp_pending_secret = None
    user.totp_enabled_at = user.totp_last_step = None


def reset(session: Session, actor: Actor, user_id: int) -> UserAccount:
    """The security administrator removes a person's second factor; their sessions and tokens end at once."""
    if Role.sec_admin not in actor.scopes and not actor.is_system:
        raise Forbidden(T_("Only the security administrator can reset a second factor."))
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound(T_("Account %(id)s does not exist.", id=user_id))
    if user.totp_secret is None and user.totp_pending_secret is None:
        raise Conflict(T_("%(name)s has no second factor to reset.", name=user.username))
    _clear(user)
    now = utcnow()
    ended = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    audit.record(
        session,
        actor,
        "totp.reset",
        "user_account",
        user.id,
        "success",
        {"username": user.username, "sessions_ended": ended},
    )
    return user
