"""Backup and restore round-trip the whole database; a wrong file is refused and changes nothing."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text

from app import create_app
from app.extensions import db
from app.models import Person, UserAccount
from app.services.demo import seed_demo

ROOT = Path(__file__).resolve().parent.parent


def _fingerprint() -> tuple[int, int, list[str]]:
    people = db.session.scalar(select(func.count(Person.id))) or 0
    accounts = db.session.scalar(select(func.count(UserAccount.id))) or 0
    names = list(db.session.scalars(select(Person.name).order_by(Person.staff_no).limit(20)))
    return people, accounts, names


@pytest.fixture
def scratch_url(tmp_path: Path, database_url: str):
    """A database of its own (restore replaces everything, so never the shared test database)."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'live.db'}"
        return
    name = f"jx_backup_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield database_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_then_restore_gives_back_the_same_data(tmp_path: Path, scratch_url: str) -> None:
    app = create_app({"ENV": "testing", "DATABASE_URL": scratch_url})
    runner = app.test_cli_runner()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(db.session)
        db.session.commit()
        before = _fingerprint()
        target = tmp_path / "backup.bin"
        result = runner.invoke(args=["backup", "--output", str(target)])
        assert result.exit_code == 0, result.output
        assert target.stat().st_size > 0 and "backup written" in result.output
        # damage: people and accounts gone
        db.session.execute(text("DELETE FROM role_assignment"))
        db.session.execute(text("DELETE FROM user_account"))
        db.session.commit()
        assert _fingerprint()[1] == 0
        db.session.remove()
        result = runner.invoke(args=["restore", str(target), "--yes"])
        assert result.exit_code == 0, result.output
        assert _fingerprint() == before
        db.session.remove()
        db.engine.dispose()


def test_restoring_a_file_that_is_not_a_backup_changes_nothing(tmp_path: Path, scratch_url: str) -> None:
    app = create_app({"ENV": "testing", "DATABASE_URL": scratch_url})
    runner = app.test_cli_runner()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(db.session)
        db.session.commit()
        before = _fingerprint()
        bogus = tmp_path / "not-a-backup.db"
        bogus.write_bytes(os.urandom(4096))
        result = runner.invoke(args=["restore", str(bogus), "--yes"])
        assert result.exit_code != 0 and "not a Jixiao backup" in result.output
        missing = runner.invoke(args=["restore", str(tmp_path / "nope.db"), "--yes"])
        assert missing.exit_code != 0 and "There is no file" in missing.output
        db.session.remove()
        assert _fingerprint() == before
        db.session.remove()
        db.engine.dispose()
