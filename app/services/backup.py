"""Backup and restore of the whole database (等保 data safety).

SQLite: SQLite's online backup API copies a consistent snapshot while the app keeps running,
and restores the same way into the live file. PostgreSQL: ``pg_dump --format=custom`` and
``pg_restore --clean``, which must be installed (they come with the PostgreSQL client).
A restore checks first that the file is a Jixiao backup at a schema version this code knows,
so a wrong file changes nothing.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from app.services.errors import T_, Invalid


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_revision: str


def _revision(conn: sqlite3.Connection) -> str:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise Invalid(T_("This file is not a Jixiao backup (%(why)s).", why=str(exc))) from exc
    if row is None:
        raise Invalid(T_("This file is not a Jixiao backup (it has no schema version)."))
    return str(row[0])


def _pg_args(engine: Engine) -> tuple[list[str], dict[str, str]]:
    url = engine.url
    args = [
        "--host",
        url.host or "127.0.0.1",
        "--port",
        str(url.port or 5432),
        "--username",
        url.username or "postgres",
    ]
    env = {"PGPASSWORD": url.password} if url.password else {}
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise Invalid(
            T_(
                "%(tool)s is not installed; install the PostgreSQL client (apt-get install postgresql-client).",
                tool=name,
            )
        )
    return path


def backup(engine: Engine, destination: Path) -> BackupResult:
    """Write a consistent copy of the database to ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            target = sqlite3.connect(destination)
            try:
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
                revision = _revision(target)
            finally:
                target.close()
        finally:
            raw.close()
        return BackupResult(destination, destination.stat().st_size, revision)
    args, env = _pg_args(engine)
    subprocess.run(  # noqa: S603  (fixed argument list, no shell)
        [
            _tool("pg_dump"),
            *args,
            "--format=custom",
            "--no-owner",
            "--file",
            str(destination),
            make_url(engine.url).database or "",
        ],
        check=True,
        env={**_base_env(), **env},
        capture_output=True,
    )
    with engine.connect() as conn:
        revision = str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
    return BackupResult(destination, destination.stat().st_size, revision)


def restore(engine: Engine, source: Path, known_revisions: set[str]) -> str:
    """Replace the database's content by the backup in ``source``; returns the backup's schema revision.

    Refused — with nothing changed — when the file is missing, not a backup, or from a schema
    revision this code does not know (restore it with the release that wrote it, then migrate).
    """
    if not source.is_file():
        raise Invalid(T_("There is no file %(path)s.", path=str(source)))
    if engine.dialect.name == "sqlite":
        backup_conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            revision = _revision(backup_conn)
            if revision not in known_revisions:
                raise Invalid(
                    T_("The backup is at schema revision %(rev)s, which this release does not know.", rev=revision)
                )
            engine.dispose()  # no pooled connection may hold the old pages
            raw = engine.raw_connection()
            try:
                backup_conn.backup(raw.driver_connection)  # type: ignore[arg-type]
            finally:
                raw.close()
        finally:
            backup_conn.close()
        engine.dispose()
        return revision
    listing = subprocess.run(  # noqa: S603
        [_tool("pg_restore"), "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0 or "alembic_version" not in listing.stdout:
        raise Invalid(T_("This file is not a Jixiao backup made by pg_dump."))
    args, env = _pg_args(engine)
    engine.dispose()
    subprocess.run(  # noqa: S603
        [
            _tool("pg_restore"),
            *args,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            make_url(engine.url).database or "",
            str(source),
        ],
        check=True,
        env={**_base_env(), **env},
        capture_output=True,
    )
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)
