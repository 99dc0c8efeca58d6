"""Account security: lockout per account and per address, password policy and history,
forced change, idle sessions, security headers and cookie flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from app import create_app
from app.models import LoginAttempt, UserAccount
from app.services.demo import DEMO_PASSWORD
from tests.conftest import login


def _attempt(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


def test_five_failures_lock_the_account_for_fifteen_minutes(client, session) -> None:
    for _ in range(4):
        assert _attempt(client, "ljjd105", "wrong").status_code == 401
    r = _attempt(client, "ljjd105", "wrong")
    assert r.status_code == 401
    assert b"locked" in r.data or "锁定".encode() in r.data
    # even the right password is refused while locked, and the attempts were kept despite the 401s
    assert _attempt(client, "ljjd105", DEMO_PASSWORD).status_code == 401
    attempts = session.scalars(select(LoginAttempt.reason).where(LoginAttempt.username == "ljjd105")).all()
    assert attempts.count("bad_credentials") == 4 and "locked_now" in attempts and "locked" in attempts
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        assert _attempt(client, "ljjd105", DEMO_PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(client, session) -> None:
    for _ in range(4):
        _attempt(client, "ljjd106", "wrong")
    assert _attempt(client, "ljjd106", DEMO_PASSWORD).status_code == 302
    assert session.scalar(select(UserAccount.failed_logins).where(UserAccount.username == "ljjd106")) == 0


def test_an_address_that_fails_too_often_is_refused(client, session) -> None:
    for i in range(20):
        r = client.post("/api/v1/auth/token", json={"username": f"nobody{i}", "password": "x"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "ljjd103", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_many_attempts"


def test_password_change_enforces_policy_and_history(client, session) -> None:
    login(client, "ljjd203")
    weak = client.post("/password", data={"current": DEMO_PASSWORD, "new": "short", "confirm": "short"})
    assert weak.status_code == 422
    wrong_current = client.post("/password", data={"current": "nope", "new": "Better#Pass1", "confirm": "Better#Pass1"})
    assert wrong_current.status_code == 422
    same = client.post("/password", data={"current": DEMO_PASSWORD, "new": DEMO_PASSWORD, "confirm": DEMO_PASSWORD})
    assert same.status_code == 422
    assert (
        client.post(
            "/password", data={"current": DEMO_PASSWORD, "new": "Better#Pass1", "confirm": "Better#Pass1"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            "/password", data={"current": "Better#Pass1", "new": "Another#Pass2", "confirm": "Another#Pass2"}
        ).status_code
        == 302
    )
    # the first password again is within the last five: refused
    back = client.post("/password", data={"current": "Another#Pass2", "new": DEMO_PASSWORD, "confirm": DEMO_PASSWORD})
    assert back.status_code == 422
    client.post("/logout")
    assert _attempt(client, "ljjd203", "Another#Pass2").status_code == 302


def test_an_account_flagged_for_a_new_password_is_sent_to_change_it(client, session) -> None:
    account = session.scalar(select(UserAccount).where(UserAccount.username == "ljjd204"))
    account.must_change_password = True
    session.commit()
    r = _attempt(client, "ljjd204", DEMO_PASSWORD)
    assert r.status_code == 302 and r.headers["Location"].endswith("/password")
    assert client.get("/tasks").headers["Location"].endswith("/password")
    client.post("/password", data={"current": DEMO_PASSWORD, "new": "Fresh#Start9", "confirm": "Fresh#Start9"})
    assert client.get("/tasks").status_code == 200


def test_an_idle_session_ends(client, session) -> None:
    login(client, "ljjd205")
    assert client.get("/").status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=31)):
        r = client.get("/")
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_responses_carry_security_headers_without_inline_script(client, login_as) -> None:
    login_as("staff")
    r = client.get("/tasks")
    csp = r.headers["Content-Security-Policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-store"
    assert "<script>" not in r.get_data(as_text=True)  # every script is a file under /static


def test_session_cookie_flags(database_url) -> None:
    app = create_app({"ENV": "production", "SECRET_KEY": "x" * 32, "DATABASE_URL": database_url})
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_an_imported_account_must_change_its_password_at_first_login(client, session, login_as) -> None:
    import io

    from openpyxl import Workbook

    login_as("unit_admin")
    wb = Workbook()
    ws = wb.active
    ws.append(["工号", "姓名", "单位", "股室", "岗位", "用户名", "初始密码", "状态"])
    ws.append(["N0001", "新同志", "龙景街道", "党政综合办公室", "科员", "newbie", "Start#Pass1", "在职"])
    data = io.BytesIO()
    wb.save(data)
    r = client.post(
        "/org/people/import",
        data={"file": (io.BytesIO(data.getvalue()), "people.xlsx")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.status_code
    client.post("/logout")
    r = _attempt(client, "newbie", "Start#Pass1")
    assert r.status_code == 302 and r.headers["Location"].endswith("/password")


OFF_SITE = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example/", "/\n/evil.example/"]


def test_login_returns_only_to_a_path_of_this_site(client, session) -> None:
    for target in OFF_SITE:
        r = client.post(
            "/login", query_string={"next": target}, data={"username": "ljjd106", "password": DEMO_PASSWORD}
        )
        assert r.status_code == 302 and r.headers["Location"] == "/", target  # browsers read these as another host
        client.post("/logout")
    r = client.post(
        "/login", query_string={"next": "/inbox?tab=mine"}, data={"username": "ljjd106", "password": DEMO_PASSWORD}
    )
    assert r.headers["Location"] == "/inbox?tab=mine"
