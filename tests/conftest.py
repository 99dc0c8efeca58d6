"""Test fixtures (DESIGN.md): the schema from migrations once per run, the demo district loaded
once, and every test inside a transaction that is rolled back at the end.

SQLite by default; the same suite runs on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from app.extensions import db
from app.models import OrgKind, OrgUnit, Person, Role, RoleAssignment, UserAccount
from app.services.demo import DEMO_PASSWORD, seed_demo

ROOT = Path(__file__).resolve().parent.parent


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_root / 'test.db'}"


def _reset_database(url: str) -> None:
    """Start every run from an empty database, so migrations are what builds the schema."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """One app for the run; schema by ``alembic upgrade head``; the demo district committed once."""
    _reset_database(database_url)
    application = create_app(
        {"ENV": "testing", "DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost"}
    )
    from flask_migrate import upgrade

    with application.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(db.session)
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()


class _TestSession(scoped_session):  # type: ignore[type-arg]
    """One session shared by the test and the requests it makes.

    Flask-SQLAlchemy removes the session when each request's app context ends; here that
    would detach every object the test holds, so ``remove`` only expires them instead.
    """

    def remove(self) -> None:
        if self.registry.has():
            self.registry().expire_all()


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """The database session for one test, inside a transaction rolled back afterwards.

    Commits made by the code under test release a SAVEPOINT instead of committing.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        original = db.session
        test_session = _TestSession(factory, scopefunc=lambda: 0)
        db.session = test_session  # type: ignore[assignment]
    try:
        yield test_session
    finally:
        db.session = original
        test_session.registry().close()
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask, session: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def app_ctx(app: Flask, session: Any) -> Iterator[None]:
    with app.test_request_context():
        yield


def demo_account(session: Any, role: str, *, unit_code: str = "ljjd", index: int = 0) -> UserAccount:
    """A demo account holding ``role`` in the unit with ``unit_code`` (staff: a plain member)."""
    if role == Role.staff.value:
        holders = select(RoleAssignment.person_id)
        stmt = (
            select(UserAccount)
            .join(Person, UserAccount.person_id == Person.id)
            .join(OrgUnit, Person.section_id == OrgUnit.id)
            .where(OrgUnit.code.like(f"{unit_code}-%"), OrgUnit.code != f"{unit_code}-0", Person.id.not_in(holders))
            .order_by(Person.staff_no)
        )
    else:
        scope = (
            OrgUnit.code.like(f"{unit_code}%")
            if role not in {"perf_office", "sys_admin", "sec_admin", "audit_admin"}
            else OrgUnit.kind == OrgKind.district
        )
        stmt = (
            select(UserAccount)
            .join(Person, UserAccount.person_id == Person.id)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .join(OrgUnit, RoleAssignment.org_unit_id == OrgUnit.id)
            .where(RoleAssignment.role == Role(role), scope, OrgUnit.code != f"{unit_code}-0")
            .order_by(OrgUnit.code, Person.staff_no)
        )
    # de-duplicated here, not with DISTINCT: PostgreSQL wants DISTINCT's ORDER BY in the select list
    accounts = list(dict.fromkeys(session.scalars(stmt)))
    if len(accounts) <= index:
        raise LookupError(f"no demo account with role {role} in {unit_code}")
    return accounts[index]


def login(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> None:
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, f"login of {username} failed: {response.status_code}"


@pytest.fixture
def login_as(client: FlaskClient, session: Any) -> Callable[..., UserAccount]:
    """``login_as("section_head")`` logs the test client in as a demo holder of that role."""

    def _login(role: str, *, unit_code: str = "ljjd", index: int = 0) -> UserAccount:
        account = demo_account(session, role, unit_code=unit_code, index=index)
        login(client, account.username)
        return account

    return _login


@pytest.fixture
def api_token(client: FlaskClient, session: Any) -> Callable[..., dict[str, str]]:
    """``api_token("unit_admin")`` returns Authorization headers for a demo holder of that role."""

    def _token(role: str, *, unit_code: str = "ljjd", index: int = 0) -> dict[str, str]:
        account = demo_account(session, role, unit_code=unit_code, index=index)
        r = client.post("/api/v1/auth/token", json={"username": account.username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.get_json()
        return {"Authorization": f"Bearer {r.get_json()['token']}"}

    return _token


@pytest.fixture
def make_person(session: Any) -> Callable[..., Person]:
    """Factory: a person (with an account when ``username`` is given) in a demo section."""
    counter = {"n": 0}

    def _make(
        section_code: str = "ljjd-1",
        *,
        name: str | None = None,
        username: str | None = None,
        password: str = DEMO_PASSWORD,
    ) -> Person:
        from app.services.accounts import hash_password

        counter["n"] += 1
        section = session.scalar(select(OrgUnit).where(OrgUnit.code == section_code))
        person = Person(staff_no=f"T{counter['n']:05d}", name=name or f"测试{counter['n']}", section_id=section.id)
        session.add(person)
        session.flush()
        if username:
            session.add(UserAccount(username=username, password_hash=hash_password(password), person_id=person.id))
        session.commit()
        return person

    return _make


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)
