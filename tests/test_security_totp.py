"""The optional TOTP second factor (issue 9): enrolment confirmed by a code, the login's second step,
replay refused, lockout counting, admins made to enrol, the security administrator's reset, and the API."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from sqlalchemy import select, text

from app.models import ApiToken, AuditEvent, AuthSession, SecurityPolicySetting, UserAccount
from app.models.base import utcnow
from app.models.sealed import SealedValueError, derive_data_key
from app.services.demo import DEMO_PASSWORD
from tests.conftest import login

STAFF = "ljjd105"


def _account(session: Any, username: str) -> UserAccount:
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def _switch_on(session: Any) -> None:
    """TOTP on through the security policy the security administrator edits (the setting's default is off)."""
    session.merge(SecurityPolicySetting(name="totp_enabled", value=1, updated_at=utcnow(), updated_by="test"))
    session.commit()


def _enrolled(session: Any, username: str) -> str:
    secret = pyotp.random_base32(32)
    account = _account(session, username)
    account.totp_secret, account.totp_enabled_at = secret, utcnow()
    session.commit()
    return secret


def _code(secret: str, at: datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(at or datetime.now(UTC))


def _events(session: Any, action: str, username: str) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor_username == username)
    return list(session.scalars(stmt.order_by(AuditEvent.id)))


def test_enrolment_is_active_only_after_a_matching_code(client: Any, session: Any) -> None:
    _switch_on(session)
    login(client, STAFF)
    page = client.get("/account/second-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "otpauth://totp/" in html and "<path" in svg and "script" not in svg
    assert secret[:4] in client.get("/account/second-factor").get_data(as_text=True)  # the same secret on reload
    wrong = client.post("/account/second-factor/confirm", data={"code": "000000" if _code(secret) != "000000" else "1"})
    assert wrong.status_code == 422
    assert _account(session, STAFF).totp_secret is None
    ok = client.post("/account/second-factor/confirm", data={"code": _code(secret)})
    assert ok.status_code == 302
    account = _account(session, STAFF)
    assert account.totp_secret == secret and account.totp_pending_secret is None
    assert [e.result for e in _events(session, "totp.enrol", STAFF)] == ["failure", "success"]


def test_the_password_alone_does_not_log_in_an_enrolled_account(client: Any, session: Any) -> None:
    secret = _enrolled(session, STAFF)
    first = client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD})
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/otp")
    assert "/login" in client.get("/tasks").headers.get("Location", "")  # not logged in yet
    assert session.scalar(select(AuthSession).where(AuthSession.user_id == _account(session, STAFF).id)) is None
    done = client.post("/login/otp", data={"code": _code(secret)})
    assert done.status_code == 302
    assert client.get("/tasks").status_code == 200
    (event,) = [e for e in _events(session, "login", STAFF) if e.result == "success"]
    assert event.details == {"second_factor": "totp"}


def test_the_second_step_needs_a_first_step(client: Any, session: Any) -> None:
    _enrolled(session, STAFF)
    r = client.post("/login/otp", data={"code": "123456"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


def test_a_code_is_accepted_once(client: Any, session: Any) -> None:
    secret = _enrolled(session, STAFF)
    code = _code(secret)
    client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD})
    assert client.post("/login/otp", data={"code": code}).status_code == 302
    client.post("/logout")
    client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD})
    replay = client.post("/login/otp", data={"code": code})
    assert replay.status_code == 401
    assert "/login" in client.get("/tasks").headers.get("Location", "")
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=65)):
        client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD})
        assert client.post("/login/otp", data={"code": _code(secret)}).status_code == 302


def test_wrong_codes_count_towards_the_lockout(client: Any, session: Any) -> None:
    secret = _enrolled(session, STAFF)
    right = _code(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD})
    for _ in range(4):
        assert client.post("/login/otp", data={"code": wrong}).status_code == 401
    locked = client.post("/login/otp", data={"code": wrong})
    assert locked.status_code == 302 and locked.headers["Location"].endswith("/login")
    assert _account(session, STAFF).locked_until is not None
    # locked: the right password and the right code no longer get in
    assert client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD}).status_code == 401


def test_admins_must_enrol_before_anything_else_when_it_is_on(client: Any, session: Any) -> None:
    _switch_on(session)
    login(client, "sysadmin")
    for url in ("/", "/security/accounts", "/notifications/"):
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/second-factor"), url
    html = client.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert client.post("/account/second-factor/confirm", data={"code": _code(secret)}).status_code == 302
    assert client.get("/security/accounts").status_code == 200
    # a required second factor cannot be switched off by its holder
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=65)):
        assert client.post("/account/second-factor/disable", data={"code": _code(secret)}).status_code == 403


def test_staff_are_not_made_to_enrol(client: Any, session: Any) -> None:
    _switch_on(session)
    login(client, STAFF)
    assert client.get("/tasks").status_code == 200


def test_the_security_administrator_resets_a_second_factor(client: Any, session: Any) -> None:
    secret = _enrolled(session, STAFF)
    client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD})
    client.post("/login/otp", data={"code": _code(secret)})
    user_id = _account(session, STAFF).id
    admin = client.application.test_client()
    login(admin, "sysadmin")
    assert admin.post(f"/security/accounts/{user_id}/reset-second-factor").status_code == 403
    admin.post("/logout")
    login(admin, "secadmin")
    assert admin.post(f"/security/accounts/{user_id}/reset-second-factor").status_code == 302
    account = _account(session, STAFF)
    assert account.totp_secret is None
    assert (
        session.scalar(select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)))
        is None
    )
    assert "/login" in client.get("/tasks").headers.get("Location", "")  # the staff session ended at once
    (event,) = _events(session, "totp.reset", "secadmin")
    assert event.object_id == str(user_id) and event.details["username"] == STAFF
    # with the factor reset the password alone logs in again (TOTP is off here)
    assert client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD}).status_code == 302


def test_api_tokens_need_the_code_of_an_enrolled_account(client: Any, session: Any) -> None:
    secret = _enrolled(session, STAFF)
    body = {"username": STAFF, "password": DEMO_PASSWORD}
    r = client.post("/api/v1/auth/token", json=body)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "otp_required"
    code = _code(secret)
    r = client.post("/api/v1/auth/token", json={**body, "otp": code})
    assert r.status_code == 200 and r.get_json()["token"]
    replay = client.post("/api/v1/auth/token", json={**body, "otp": code})
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/api/v1/auth/token", json={**body, "otp": 123456}).status_code == 422
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == _account(session, STAFF).id)).all()
    assert len(tokens) == 1


def test_api_tokens_are_refused_to_admins_who_must_enrol(client: Any, session: Any) -> None:
    _switch_on(session)
    r = client.post("/api/v1/auth/token", json={"username": "auditadmin", "password": DEMO_PASSWORD})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "second_factor_required"
    plain = client.post("/api/v1/auth/token", json={"username": STAFF, "password": DEMO_PASSWORD})
    assert plain.status_code == 200


def test_the_openapi_document_describes_the_code(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "otp" in spec["components"]["schemas"]["Credentials"]["properties"]
    assert "403" in spec["paths"]["/auth/token"]["post"]["responses"]


def test_second_factor_secrets_are_sealed_at_rest(client: Any, session: Any) -> None:
    """等保 三级 asks for authentication data to be stored encrypted: a database copy must not reveal it."""
    secret = _enrolled(session, "sysadmin")
    raw = session.execute(
        text("SELECT totp_secret FROM user_account WHERE username = :u"), {"u": "sysadmin"}
    ).scalar_one()
    assert secret not in raw and raw.startswith("v1:")
    session.expire_all()
    assert _account(session, "sysadmin").totp_secret == secret  # services still see the plain value
    # a sealed value moved into another sealed column does not open there (the column is bound in)
    session.execute(
        text("UPDATE user_account SET totp_pending_secret = totp_secret WHERE username = :u"), {"u": "sysadmin"}
    )
    session.expire_all()
    with pytest.raises(SealedValueError):
        _account(session, "sysadmin").totp_pending_secret  # noqa: B018  (loading the attribute opens it)


def test_the_data_key_comes_from_settings_or_is_derived_from_the_secret_key() -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    assert derive_data_key("anything", key) == bytes(range(32))
    assert derive_data_key("one", None) != derive_data_key("two", None)
    assert len(derive_data_key("one", None)) == 32
    with pytest.raises(ValueError, match="32 bytes"):
        derive_data_key(None, base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="base64"):
        derive_data_key(None, "not base64!")


def test_the_second_step_returns_only_to_a_path_of_this_site(client: Any, session: Any) -> None:
    secret = _enrolled(session, STAFF)
    first = client.post(
        "/login", query_string={"next": "/\\evil.example/"}, data={"username": STAFF, "password": DEMO_PASSWORD}
    )
    assert first.headers["Location"].endswith("/login/otp")
    done = client.post("/login/otp", data={"code": _code(secret)})
    assert done.status_code == 302 and done.headers["Location"] == "/"  # not off to another host


def test_guessing_codes_to_switch_the_factor_off_locks_the_account_and_ends_the_session(
    client: Any, session: Any
) -> None:
    secret = _enrolled(session, STAFF)
    client.post("/login", data={"username": STAFF, "password": DEMO_PASSWORD})
    assert client.post("/login/otp", data={"code": _code(secret)}).status_code == 302
    wrong = f"{(int(_code(secret)) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert client.post("/account/second-factor/disable", data={"code": wrong}).status_code == 422
    locked = client.post("/account/second-factor/disable", data={"code": wrong})
    assert locked.status_code == 302 and locked.headers["Location"].endswith("/login")
    account = _account(session, STAFF)
    assert account.totp_enrolled and account.locked_until is not None  # the factor stays on
    assert (
        session.scalar(
            select(AuthSession.id).where(AuthSession.user_id == account.id, AuthSession.revoked_at.is_(None))
        )
        is None
    )
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):  # the lock is over, the session is not
        assert "/login" in client.get("/tasks").headers.get("Location", "")
