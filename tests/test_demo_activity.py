"""The simulated quarter: real engine steps at simulated times, deterministic, safe to run twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import AppraisalRecord, BonusItem, BonusStatus, HumanTask, InstanceEvent, TaskStatus, WeeklyLog
from app.services.appraisal.records import Archived
from app.services.demo_activity import clock, quarter_months, simulate_quarter

ROOT = Path(__file__).resolve().parents[1]

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)


def test_the_quarter_is_the_three_months_before_this_one() -> None:
    assert quarter_months(TODAY) == ["2026-08", "2026-09", "2026-10"]
    assert quarter_months(date(2027, 2, 3)) == ["2026-11", "2026-12", "2027-01"]


def test_a_quarter_leaves_history_in_the_past_and_work_waiting(session) -> None:
    done = simulate_quarter(session, TODAY, unit_codes=["lcz"], now=NOW)
    assert done.months == ["2026-08", "2026-09", "2026-10"] and done.units == ["龙川镇"]
    assert done.logs_on_time > done.logs_late > 0 and done.logs_missing > 0
    assert done.appraisals > 0 and done.steps > done.appraisals
    assert session.scalar(select(func.max(HumanTask.created_at))) <= NOW
    assert session.scalar(select(func.max(HumanTask.completed_at))) <= NOW
    assert session.scalar(select(func.max(InstanceEvent.at)).where(InstanceEvent.kind == "completed")) <= NOW
    archived = session.scalar(select(func.count()).where(AppraisalRecord.status == "archived"))
    assert archived > 0
    overdue = session.scalar(select(func.count()).where(HumanTask.status == TaskStatus.ready, HumanTask.due_at < NOW))
    assert overdue > 0
    late = session.scalars(select(WeeklyLog).where(WeeklyLog.first_written_at.is_not(None))).all()
    assert all(log.first_written_at <= NOW for log in late)


def test_a_second_run_changes_nothing(session) -> None:
    first = simulate_quarter(session, TODAY, unit_codes=["jgsw"], now=NOW)
    logs = session.scalar(select(func.count(WeeklyLog.id)))
    steps = session.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == TaskStatus.completed))
    second = simulate_quarter(session, TODAY, unit_codes=["jgsw"], now=NOW)
    assert first.steps > 0 and second.steps == 0 and second.skipped_months == 3
    assert session.scalar(select(func.count(WeeklyLog.id))) == logs
    assert session.scalar(select(func.count(HumanTask.id)).where(HumanTask.status == TaskStatus.completed)) == steps


def test_time_travel_moves_only_timestamps_and_the_archive_guard_still_holds(session) -> None:
    simulate_quarter(session, TODAY, unit_codes=["lcz"], now=NOW)
    session.commit()
    record = session.scalar(select(AppraisalRecord).where(AppraisalRecord.status == "archived").limit(1))
    archived_at, score = record.archived_at, record.score

    # the simulator's one way around the guard moves timestamps of archived records …
    earlier = archived_at - timedelta(hours=5)
    clock.move_timestamps(session, AppraisalRecord, AppraisalRecord.id == record.id, {"archived_at": earlier})
    session.expire_all()
    assert session.get(AppraisalRecord, record.id).archived_at.replace(tzinfo=UTC) == earlier.replace(tzinfo=UTC)
    session.commit()
    # … and nothing else: no content column, no model it does not know
    for values in ({"score": Decimal(1)}, {"archived_at": earlier, "status": "scoring"}, {}):
        with pytest.raises(ValueError):
            clock.move_timestamps(session, AppraisalRecord, AppraisalRecord.id == record.id, values)
    with pytest.raises(ValueError):
        clock.move_timestamps(session, WeeklyLog, WeeklyLog.id > 0, {"created_at": earlier})
    assert session.get(AppraisalRecord, record.id).score == score

    # every ORM change to an archived record is still refused, timestamps included
    for change in ({"score": Decimal(1)}, {"archived_at": earlier - timedelta(days=1)}, {"score_comment": "改"}):
        fresh = session.get(AppraisalRecord, record.id)
        for name, value in change.items():
            setattr(fresh, name, value)
        with pytest.raises(Archived):
            session.flush()
        session.rollback()


def test_only_the_demo_simulator_calls_the_time_travel_update() -> None:
    callers = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "app").rglob("*.py")
        if "move_timestamps(" in path.read_text(encoding="utf-8")
    ]
    assert callers and all(c.startswith("app/services/demo_activity/") for c in callers), callers


def test_a_quarter_with_an_evidence_store_has_approved_bonus_items_in_it(session, tmp_path) -> None:
    done = simulate_quarter(session, TODAY, unit_codes=["jgsw"], now=NOW, evidence_store=tmp_path)
    items = session.scalars(select(BonusItem).order_by(BonusItem.id)).all()
    assert done.bonus_items == len(items) > 0
    for item in items:
        assert item.status is BonusStatus.approved and item.evidence and item.decided_by_id is not None
        assert date(2026, 8, 1) <= item.occurred_on <= date(2026, 10, 31)
        assert item.proposed_at.replace(tzinfo=UTC) <= item.decided_at.replace(tzinfo=UTC) <= NOW
        assert (tmp_path / item.evidence[0].stored_name).exists()
    assert session.scalar(select(func.max(HumanTask.created_at))) <= NOW
    assert session.scalar(select(func.max(InstanceEvent.at))) <= NOW
    again = simulate_quarter(session, TODAY, unit_codes=["jgsw"], now=NOW, evidence_store=tmp_path)
    assert again.bonus_items == 0 and session.scalar(select(func.count(BonusItem.id))) == len(items)
