"""The weekly job reminds people who wrote nothing for last week, and only them, once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.models import LogEntry, Notification, WeeklyLog
from app.services import reminders
from tests.conftest import demo_account


def test_only_people_without_last_weeks_log_are_reminded_once(session) -> None:
    writer = demo_account(session, "staff")
    log = WeeklyLog(person_id=writer.person_id, week="2026-W46", first_written_at=datetime.now(UTC))
    session.add(log)
    session.flush()
    session.add(LogEntry(log_id=log.id, position=0, content="走访社区"))
    session.commit()
    first = reminders.missing_log_reminders(session, "2026-W46")
    again = reminders.missing_log_reminders(session, "2026-W46")
    session.commit()
    assert first["missing"] == first["notified_missing"] > 0
    assert again["notified_missing"] == 0  # once per person and week
    to_writer = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.kind == "weekly_log_missing", Notification.recipient_id == writer.person_id)
    )
    assert to_writer == 0
