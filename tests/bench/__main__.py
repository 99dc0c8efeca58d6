"""`make bench`: build a synthetic district and print one JSON line per figure.

    python -m tests.bench [--staff 10000] [--archived 1000000] [--samples 300] [--only cycle] [--database URL]

SQLite in a temporary file, then, when BENCH_DATABASE_URL is set, PostgreSQL — each in its own process.
The PostgreSQL run DROPS the public SCHEMA of that database first: point it at a scratch database only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, text

ROOT = Path(__file__).resolve().parents[2]


def emit(name: str, value: Any, unit: str, database: str, **extra: Any) -> None:
    print(
        json.dumps({"name": name, "value": value, "unit": unit, "database": database, **extra}, ensure_ascii=False),
        flush=True,
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def engine_ceiling(n: int) -> float:
    """Raw SpiffWorkflow: start to the first user task plus serialization, in memory, no database."""
    from app.workflow import engine as eng
    from app.workflow.definitions import load_definition

    loaded = load_definition((ROOT / "bpmn" / "periodic_appraisal.bpmn").read_bytes())
    start = time.perf_counter()
    for i in range(n):
        wf = eng.new_workflow(loaded, {"subject_id": i, "period": "2026-10"}, eng.Outbox())
        eng.advance(wf)
        eng.dump(wf)
    return n / (time.perf_counter() - start)


def reset(url: str) -> None:
    if url.startswith("sqlite"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--archived", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument(
        "--only", choices=("all", "cycle"), default="all", help="cycle: stop after the cycle opening figures"
    )
    parser.add_argument(
        "--database",
        help="one SQLAlchemy URL to measure; by default SQLite, then BENCH_DATABASE_URL (PostgreSQL) when it is set",
    )
    args = parser.parse_args()
    if args.database is None:
        # each database in its own process, so one run's caches and pools cannot flatter the other's figures
        urls = [f"sqlite:///{tempfile.mkdtemp(prefix='jixiao-bench-')}/bench.db"]
        if os.environ.get("BENCH_DATABASE_URL"):
            urls.append(os.environ["BENCH_DATABASE_URL"])
        for url in urls:
            subprocess.run([sys.executable, "-m", "tests.bench", *sys.argv[1:], "--database", url], check=True)
        return

    url = args.database
    dbname = "postgresql" if url.startswith("postgresql") else "sqlite"
    reset(url)

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SCHEDULER_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        run(app, db, dbname, args)


def run(app: Any, db: Any, dbname: str, args: argparse.Namespace) -> None:
    from app.models import HumanTask, InstanceStatus, ProcessInstance, TaskStatus, UserAccount
    from app.services.actor import SYSTEM, actor_for_user
    from app.services.cycles import open_cycle
    from app.workflow import inbox, runtime
    from tests.bench import synthetic

    session = db.session
    ceiling = engine_ceiling(2000)
    emit("engine_ceiling_starts_per_s", round(ceiling, 1), "instances/s", dbname)

    district = synthetic.build(session, args.staff)
    session.commit()

    statements = {"n": 0}

    def count(*_args: Any) -> None:
        statements["n"] += 1

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    start = time.perf_counter()
    summary = open_cycle(session, SYSTEM, "periodic_appraisal", "2026-10", checkpoint=session.commit)
    session.commit()
    seconds = time.perf_counter() - start
    event.remove(bind, "before_cursor_execute", count)
    rate = summary.opened / seconds
    emit("cycle_open_seconds", round(seconds, 2), "s", dbname, people=summary.opened)
    emit("cycle_open_per_s", round(rate, 1), "instances/s", dbname)
    emit("cycle_open_ratio", round(rate / ceiling, 3), "ratio", dbname)
    emit(
        "cycle_open_statements_per_person",
        round(statements["n"] / max(summary.opened, 1), 3),
        "statements",
        dbname,
        detail="SQL statements sent while opening, per person opened (chunks of 200, one commit each)",
    )

    avg_state = session.scalar(
        select(func.avg(func.length(ProcessInstance.state))).where(ProcessInstance.status == InstanceStatus.running)
    )
    emit(
        "bytes_per_instance",
        round(float(avg_state or 0)),
        "bytes",
        dbname,
        detail="serialized engine state (gzip JSON, no spec); the human_task mirror row is extra",
    )
    if args.only == "cycle":
        return

    # task completion through the service layer, one transaction each
    users = {
        u.username: u
        for u in session.scalars(
            select(UserAccount).where(UserAccount.username.in_(district.staff_usernames[: args.samples * 2]))
        )
    }
    tasks = session.execute(
        select(HumanTask.id, HumanTask.subject_id)
        .where(HumanTask.status == TaskStatus.ready, HumanTask.step_id == "submit_summary")
        .limit(args.samples * 2)
    ).all()
    by_person = {u.person_id: u for u in users.values()}
    work = [(tid, by_person[pid]) for tid, pid in tasks if pid in by_person]
    service_ms: list[float] = []
    for task_id, account in work[: args.samples]:
        actor = actor_for_user(session, account)

        def complete(task_id: int = task_id, actor: Any = actor) -> None:
            runtime.complete_task(session, actor, task_id, {"summary": "本月工作小结", "plan": "下月计划"})
            session.commit()

        service_ms.append(timed(complete))
    emit("task_complete_ms_p50", pct(service_ms, 0.5), "ms", dbname, samples=len(service_ms))
    emit("task_complete_ms_p95", pct(service_ms, 0.95), "ms", dbname, samples=len(service_ms))

    # the same through the WSGI app and the JSON API
    client = app.test_client()
    http_ms: list[float] = []
    for task_id, account in work[args.samples : args.samples * 2][:100]:
        token = client.post(
            "/api/v1/auth/token", json={"username": account.username, "password": synthetic.PASSWORD}
        ).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        start = time.perf_counter()
        r = client.post(
            f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"summary": "本月工作小结", "plan": "下月计划"}
        )
        http_ms.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.get_json()
    emit("http_task_complete_ms_p95", pct(http_ms, 0.95), "ms", dbname, samples=len(http_ms))

    archived = fill_archive(session, args.archived)
    emit("archived_tasks", archived, "rows", dbname)
    head = session.scalar(select(UserAccount).where(UserAccount.username == district.head_username))
    office = session.scalar(select(UserAccount).where(UserAccount.username == district.office_username))
    for who, account in (("section_head", head), ("perf_office", office)):
        actor = actor_for_user(session, account)
        samples = []
        for i in range(200):
            scope = ("mine", "done", "claimable")[i % 3]
            samples.append(
                timed(
                    lambda actor=actor, scope=scope: (
                        inbox.list_tasks(session, actor, scope, per_page=50),
                        inbox.counts(session, actor),
                    )
                )
            )
        session.rollback()
        emit(f"inbox_ms_p50_{who}", pct(samples, 0.5), "ms", dbname, samples=len(samples))
        emit(f"inbox_ms_p95_{who}", pct(samples, 0.95), "ms", dbname, samples=len(samples))
    # the office dashboard of the opened month: every unit side by side, aggregated in SQL
    from app.services.dashboard.office import office_dashboard

    office_actor = actor_for_user(session, office)
    dash_ms = [timed(lambda: office_dashboard(session, office_actor, "2026-10")) for _ in range(30)]
    session.rollback()
    emit("dashboard_ms_p50", pct(dash_ms, 0.5), "ms", dbname, samples=len(dash_ms))
    emit(
        "dashboard_ms_p95",
        pct(dash_ms, 0.95),
        "ms",
        dbname,
        samples=len(dash_ms),
        detail="office dashboard (all units side by side) for the opened month, through the service layer",
    )


def fill_archive(session: Any, target: int) -> int:
    """Bulk-insert completed tasks until human_task holds ``target`` rows (an archive of past months)."""
    from app.models import HumanTask, ProcessInstance, TaskStatus

    have = session.scalar(select(func.count(HumanTask.id))) or 0
    instances = session.execute(select(ProcessInstance.id, ProcessInstance.subject_id)).all()
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for i in range(max(0, target - have)):
        inst_id, subject = instances[i % len(instances)]
        batch.append(
            {
                "instance_id": inst_id,
                "engine_task_id": str(uuid.uuid4()),
                "process_key": "periodic_appraisal",
                "step_id": "section_score",
                "step_name": "股室负责人评分",
                "subject_id": subject,
                "period": f"20{20 + i % 6}-{1 + i % 12:02d}",
                "lane_role": "section_head",
                "assigned_role": "section_head",
                "form_key": "appraisal_score",
                "status": TaskStatus.completed,
                "created_at": now,
                "completed_at": now,
                "completed_by_id": subject,
                "candidate_count": 1,
            }
        )
        if len(batch) == 20_000:
            session.execute(insert(HumanTask), batch)
            session.commit()
            batch = []
    if batch:
        session.execute(insert(HumanTask), batch)
        session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))  # fresh statistics after a bulk load, as autovacuum would give later
        session.commit()
    return session.scalar(select(func.count(HumanTask.id))) or 0


if __name__ == "__main__":
    main()
