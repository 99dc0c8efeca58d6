"""Engine options and connection set-up shared by the app, the CLI and the scheduler."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

# True while serving a request that only reads (GET/HEAD). On SQLite every other transaction
# starts with BEGIN IMMEDIATE: it takes the write lock up front and queues behind the busy
# timeout, instead of failing with "database is locked" when two transactions that began as
# readers both try to write (SQLite cannot upgrade a stale read snapshot to a write).
READ_ONLY: ContextVar[bool] = ContextVar("jixiao_read_only", default=False)


def engine_options(url: str) -> dict[str, Any]:
    """Options for ``create_engine``; SQLite gets a busy timeout so writers queue, not fail."""
    if make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def configure_engine(engine: Engine) -> None:
    """Make SQLite transactional the way PostgreSQL is.

    pysqlite opens transactions lazily and ignores SAVEPOINT semantics; taking over BEGIN
    ourselves (the SQLAlchemy-documented recipe) gives real savepoints, which the test
    fixtures and nested units of work rely on. WAL lets readers proceed during a write;
    writers begin IMMEDIATE (see ``READ_ONLY``).
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if READ_ONLY.get() else "BEGIN IMMEDIATE")
