"""The foundation: settings, migrations, login/logout, navigation by role, the token API."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from app import create_app
from app.services.demo import DEMO_PASSWORD
from config.settings import ConfigError, load_settings
from tests.conftest import csrf_token_from

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_have_a_single_head() -> None:
    cfg = Config(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


def test_secret_key_is_required_outside_development() -> None:
    with pytest.raises(ConfigError, match="JIXIAO_SECRET_KEY"):
        load_settings(environ={"JIXIAO_ENV": "production"})
    assert load_settings(environ={"JIXIAO_ENV": "production", "JIXIAO_SECRET_KEY": "x" * 32})["COOKIE_SECURE"]


def test_malformed_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="JIXIAO_PAGE_SIZE"):
        load_settings(environ={"JIXIAO_PAGE_SIZE": "many"})


def test_pages_require_login(client) -> None:
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_wrong_password_is_refused_without_saying_which_part(client) -> None:
    r = client.post("/login", data={"username": "ljjd101", "password": "nope"})
    assert r.status_code == 401
    assert b"Wrong username or password" in r.data or "用户名或密码错误".encode() in r.data


def test_staff_navigation_hides_admin_pages(client, login_as) -> None:
    login_as("staff")
    html = client.get("/").get_data(as_text=True)
    assert 'data-nav="home"' in html
    assert 'data-nav="people"' not in html
    assert client.get("/org/people").status_code == 403


def test_unit_admin_navigation_shows_organisation(client, login_as) -> None:
    login_as("unit_admin")
    html = client.get("/").get_data(as_text=True)
    assert 'data-nav="org"' in html and 'data-nav="people"' in html


def test_logout_invalidates_the_session_cookie(client, login_as) -> None:
    login_as("staff")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert client.post("/logout").status_code == 302
    client.set_cookie("session", cookie.value)  # replay the old cookie
    assert client.get("/").status_code == 302


def test_login_renews_the_session(client) -> None:
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "attacker"
    r = client.post("/login", data={"username": "ljjd101", "password": DEMO_PASSWORD})
    assert r.status_code == 302
    with client.session_transaction() as s:
        assert "planted" not in s and "sid" in s


def test_forms_reject_posts_without_csrf_token(database_url, session) -> None:
    app = create_app({"ENV": "testing", "DATABASE_URL": database_url, "WTF_CSRF_ENABLED": True})
    c = app.test_client()
    assert c.post("/login", data={"username": "ljjd101", "password": DEMO_PASSWORD}).status_code == 400
    token = csrf_token_from(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": "ljjd101", "password": DEMO_PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def test_ui_defaults_to_chinese_and_switches_to_english(client, login_as) -> None:
    login_as("staff")
    assert "退出" in client.get("/").get_data(as_text=True)
    client.post("/lang/en", data={"next": "/"})
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_api_token_and_me(client) -> None:
    r = client.post("/api/v1/auth/token", json={"username": "ljjd101", "password": DEMO_PASSWORD})
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"token", "expires_at"}
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    data = me.get_json()
    assert data["username"] == "ljjd101"
    assert {"role": "section_head", "unit": "龙景街道", "section": "党政综合办公室"} in data["roles"]


def test_api_rejects_bad_credentials_and_missing_token_as_json(client) -> None:
    r = client.post("/api/v1/auth/token", json={"username": "ljjd101", "password": "bad"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and "message" in r.get_json()["error"]
    r = client.post("/api/v1/auth/token", json={"username": "ljjd101"})
    assert r.status_code == 422 and "password" in r.get_json()["error"]["fields"]
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_openapi_documents_every_api_route(app, client) -> None:
    from app.web.api.openapi import undocumented_routes

    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/auth/token" in spec["paths"] and "/me" in spec["paths"]
    assert undocumented_routes(app.url_map) == []


def test_demo_work_opens_indicator_setting_and_last_month_once(session) -> None:
    from datetime import date

    from app.models import ProcessInstance
    from app.services.demo import open_demo_work

    first = open_demo_work(session, date(2026, 11, 25))
    again = open_demo_work(session, date(2026, 11, 25))
    assert first["indicator_setting"] == 27 and first["periodic_appraisal"] > 100
    assert again == {"indicator_setting": 0, "periodic_appraisal": 0}
    assert (
        session.query(ProcessInstance).filter_by(process_key="periodic_appraisal", period="2026-10").count()
        == (first["periodic_appraisal"])
    )
