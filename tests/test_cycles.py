"""Opening cycles: enabled units only, back-fill on request, skip reasons, crash half-way, status, CLI."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON, func, select

from app.models import (
    AppraisalRecord,
    HumanTask,
    InstanceEvent,
    Notification,
    NotificationPreference,
    OrgUnit,
    Person,
    PersonStatus,
    ProcessInstance,
    RecordStatus,
    TaskCandidate,
    TaskStatus,
    UserAccount,
)
from app.services import cycles
from app.services.actor import SYSTEM, actor_for_user
from app.services.errors import Forbidden, Invalid
from app.workflow import engine as eng
from app.workflow import repository, runtime
from tests.conftest import demo_account

PROCESS = "periodic_appraisal"


def _unit(session: Any, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    assert unit is not None
    return unit


def _actor(session: Any, username: str) -> Any:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    assert account is not None, username
    return actor_for_user(session, account)


def _subjects(session: Any, period: str) -> list[int]:
    return list(
        session.scalars(
            select(ProcessInstance.subject_id).where(
                ProcessInstance.process_key == PROCESS, ProcessInstance.period == period
            )
        )
    )


def _people_of(session: Any, unit: OrgUnit) -> set[int]:
    sections = [s.id for s in unit.children]
    return set(
        session.scalars(select(Person.id).where(Person.section_id.in_(sections), Person.status == PersonStatus.active))
    )


def test_a_cycle_opens_only_for_enabled_units_and_says_why_it_skipped(session: Any) -> None:
    office = _unit(session, "jxb")  # the performance office's own unit: not in the rollout
    lcz = _unit(session, "lcz")
    lcz.enabled = False  # not yet in the rollout
    leaver = session.scalar(select(Person).where(Person.staff_no == "ljjd103"))
    assert leaver is not None
    leaver.status = PersonStatus.left
    nowhere = Person(staff_no="X-0001", name="无股室")
    session.add(nowhere)
    session.commit()

    summary = cycles.open_cycle(session, SYSTEM, PROCESS, "2031-01")
    subjects = set(_subjects(session, "2031-01"))
    assert len(subjects) == summary.opened
    assert not subjects & _people_of(session, lcz)
    assert leaver.id not in subjects and nowhere.id not in subjects
    assert _people_of(session, _unit(session, "ljjd")) - {leaver.id} <= subjects
    not_enabled = len(_people_of(session, lcz)) + len(_people_of(session, office))
    assert summary.skipped == {"left": 1, "no_section": 1, "unit_not_enabled": not_enabled}
    assert summary.already_open == 0
    assert summary.as_counts()["skipped_unit_not_enabled"] == not_enabled


def test_enabling_a_unit_mid_period_does_not_back_fill_unless_asked(session: Any) -> None:
    lcz = _unit(session, "lcz")
    lcz.enabled = False
    session.commit()
    cycles.open_cycle(session, SYSTEM, PROCESS, "2031-02")
    assert not set(_subjects(session, "2031-02")) & _people_of(session, lcz)

    office = _actor(session, "office1")
    cycles.set_unit_enabled(session, office, lcz.id, True)
    session.commit()
    # enabling opens nothing by itself for the period under way…
    assert not set(_subjects(session, "2031-02")) & _people_of(session, lcz)
    # …opening the period for that one unit is the explicit back-fill
    summary = cycles.open_cycle(session, office, PROCESS, "2031-02", unit_id=lcz.id)
    assert summary.opened == len(_people_of(session, lcz)) and summary.already_open == 0
    assert _people_of(session, lcz) <= set(_subjects(session, "2031-02"))
    again = cycles.open_cycle(session, office, PROCESS, "2031-02", unit_id=lcz.id)
    assert (again.opened, again.already_open) == (0, summary.opened)


def test_only_the_office_or_the_units_own_admin_may_open(session: Any) -> None:
    lcz = _unit(session, "lcz")
    admin = _actor(session, "ljjd102")  # unit admin of 龙景街道
    staff = actor_for_user(session, demo_account(session, "staff"))
    with pytest.raises(Forbidden):
        cycles.open_cycle(session, admin, PROCESS, "2031-03")
    with pytest.raises(Forbidden):
        cycles.open_cycle(session, admin, PROCESS, "2031-03", unit_id=lcz.id)
    with pytest.raises(Forbidden):
        cycles.set_unit_enabled(session, admin, lcz.id, False)
    with pytest.raises(Forbidden):
        cycles.open_cycle(session, staff, PROCESS, "2031-03", unit_id=staff.unit_id)
    own = cycles.open_cycle(session, admin, PROCESS, "2031-03", unit_id=admin.unit_id)
    assert own.opened == len(_people_of(session, _unit(session, "ljjd")))
    with pytest.raises(Invalid):
        cycles.open_cycle(session, SYSTEM, PROCESS, "2031-13")
    with pytest.raises(Invalid):
        cycles.open_cycle(session, SYSTEM, "indicator_setting", "2031-03")  # runs per year


def test_a_crash_half_way_then_a_rerun_gives_no_duplicates_and_no_gaps(session: Any) -> None:
    class Crash(Exception):
        """The injected failure, raised part-way through the opening."""

    def crash_after_25(done: int, total: int) -> None:
        if done == 25:
            raise Crash

    with pytest.raises(Crash):
        cycles.open_cycle(
            session, SYSTEM, PROCESS, "2031-04", progress=crash_after_25, checkpoint=session.commit, chunk_size=10
        )
    session.rollback()  # what the CLI and the scheduler do with the chunk in flight
    assert len(_subjects(session, "2031-04")) == 20  # two committed chunks: a consistent prefix
    rerun = cycles.open_cycle(session, SYSTEM, PROCESS, "2031-04", checkpoint=session.commit, chunk_size=10)
    assert rerun.already_open == 20
    subjects = _subjects(session, "2031-04")
    assert len(subjects) == len(set(subjects)) == rerun.opened + 20
    # every opened instance has its first task, exactly one
    tasks = session.scalar(
        select(func.count())
        .select_from(HumanTask)
        .where(HumanTask.period == "2031-04", HumanTask.process_key == PROCESS, HumanTask.status == TaskStatus.ready)
    )
    assert tasks == len(subjects)


def test_cycle_status_per_unit(session: Any) -> None:
    ljjd = _unit(session, "ljjd")
    office = _actor(session, "office1")
    cycles.open_cycle(session, office, PROCESS, "2031-05", unit_id=ljjd.id)
    rows = {r.unit_id: r for r in cycles.cycle_status(session, "2031-05")}
    row = rows[ljjd.id]
    people = len(_people_of(session, ljjd))
    assert (row.people, row.opened, row.running, row.completed, row.not_opened) == (people, people, people, 0, 0)
    assert row.completed_pct == 0.0 and row.enabled
    other = rows[_unit(session, "lcz").id]
    assert other.opened == 0 and other.not_opened == other.people > 0


def test_cli_open_and_status(app: Any, session: Any) -> None:
    runner = app.test_cli_runner()
    lcz = _unit(session, "lcz")
    lcz.enabled = False
    session.commit()
    result = runner.invoke(args=["cycles", "open", "--process", PROCESS, "--period", "2031-06"])
    assert result.exit_code == 0, result.output
    opened = len(_subjects(session, "2031-06"))
    assert f"opened:       {opened}" in result.output
    assert "already open: 0" in result.output
    assert "unit not enabled" in result.output

    again = runner.invoke(args=["cycles", "open", "--period", "2031-06"])
    assert "opened:       0" in again.output and f"already open: {opened}" in again.output

    backfill = runner.invoke(args=["cycles", "open", "--period", "2031-06", "--unit", str(lcz.id)])
    assert backfill.exit_code == 0 and f"unit {lcz.id}" in backfill.output
    assert f"opened:       {len(_people_of(session, lcz))}" in backfill.output

    status = runner.invoke(args=["cycles", "status", "--period", "2031-06"])
    assert status.exit_code == 0, status.output
    assert "龙川镇" in status.output and "total" in status.output
    total_line = next(line for line in status.output.splitlines() if line.startswith("total"))
    assert str(len(_subjects(session, "2031-06"))) in total_line.split()

    bad = runner.invoke(args=["cycles", "open", "--period", "next month"])
    assert bad.exit_code != 0 and "period" in bad.output.lower()


def _table_rows(session: Any, model: Any, where: Any, drop: set[str]) -> list[dict[str, Any]]:
    """Rows as column → value without ``drop``; JSON columns also say whether they are SQL NULL or JSON null."""
    table = model.__table__
    json_cols = [c for c in table.c if isinstance(c.type, JSON)]
    stmt = select(table, *(c.is_(None).label(f"{c.name}__sql_null") for c in json_cols)).where(where)
    return [{k: v for k, v in row.items() if k not in drop} for row in session.execute(stmt).mappings()]


def _opening(session: Any, period: str) -> dict[int, dict[str, Any]]:
    """Per subject: everything an opening wrote for the subject's instance, without ids and times."""
    out: dict[int, dict[str, Any]] = {}
    instances = _table_rows(
        session,
        ProcessInstance,
        (ProcessInstance.period == period) & (ProcessInstance.process_key == PROCESS),
        {"period", "created_at", "state"},
    )
    for inst in instances:
        iid = inst.pop("id")
        tasks = _table_rows(session, HumanTask, HumanTask.instance_id == iid, {"instance_id", "engine_task_id"})
        for task in tasks:
            task["due_in"] = task.pop("due_at") - task.pop("created_at")
            task["period"] = task["period"] == period
            task["candidates"] = sorted(
                session.scalars(select(TaskCandidate.person_id).where(TaskCandidate.task_id == task.pop("id")))
            )
        notes = _table_rows(session, Notification, Notification.instance_id == iid, {"id", "instance_id", "created_at"})
        for note in notes:
            note["text"] = note["text"].replace(period, "<period>")
        out[inst["subject_id"]] = {
            "instance": inst,
            "events": _table_rows(
                session, InstanceEvent, InstanceEvent.instance_id == iid, {"id", "instance_id", "at"}
            ),
            "tasks": tasks,
            "notifications": sorted(notes, key=lambda n: (n["recipient_id"], n["kind"])),
            "record": _table_rows(
                session,
                AppraisalRecord,
                AppraisalRecord.instance_id == iid,
                {"id", "instance_id", "period", "created_at", "updated_at"},
            ),
        }
    return out


def test_the_bulk_opening_writes_the_same_rows_as_starting_each_person_alone(session: Any) -> None:
    ljjd = _unit(session, "ljjd")
    people = sorted(_people_of(session, ljjd))
    muted, email_only = people[0], people[1]
    session.add(NotificationPreference(person_id=muted, kind="assigned", in_app=False, email=False))
    session.add(NotificationPreference(person_id=email_only, kind="assigned", in_app=False, email=True))
    session.commit()

    summary = cycles.open_cycle(session, SYSTEM, PROCESS, "2031-07", unit_id=ljjd.id, chunk_size=4)
    for pid in people:  # the one-by-one path: what a person's own start or an adjustment uses
        assert runtime.start_process(session, SYSTEM, PROCESS, "2031-08", pid).created
    session.commit()

    bulk, alone = _opening(session, "2031-07"), _opening(session, "2031-08")
    assert summary.opened == len(people) == len(bulk)
    assert bulk == alone
    assert bulk[muted]["notifications"] == []
    assert [(n["in_app"], n["email_wanted"]) for n in bulk[email_only]["notifications"]] == [(False, True)]
    assert {r["status"] for b in bulk.values() for r in b["record"]} == {RecordStatus.summary}
    # the cloned engine state carries the person and runs on like any other
    instance = session.scalar(
        select(ProcessInstance).where(ProcessInstance.period == "2031-07", ProcessInstance.subject_id == people[2])
    )
    wf = eng.load(repository.loaded(instance.definition), instance.state, eng.Outbox())
    assert wf.data == {"subject_id": people[2], "period": "2031-07"}
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))
    assert [str(t.id) for t in eng.ready_user_tasks(wf)] == [task.engine_task_id]
