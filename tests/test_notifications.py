"""The message centre, notification preferences, the scheduler's reminders and e-mail through a real SMTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app import scheduler
from app.models import Notification, Person, RoleAssignment, UserAccount
from app.services import notifications, reminders
from app.services.actor import SYSTEM, actor_for_user
from app.services.errors import Forbidden, Invalid
from app.workflow import runtime
from tests.conftest import login

PROCESS = "periodic_appraisal"


def _account(session: Any, username: str) -> UserAccount:
    account = session.scalar(select(UserAccount).where(UserAccount.username == username))
    assert account is not None, username
    return account


def _mine(session: Any, person_id: int, kind: str | None = None) -> list[Notification]:
    stmt = select(Notification).where(Notification.recipient_id == person_id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(session.scalars(stmt.order_by(Notification.id)))


def test_weekly_and_quarterly_reminders_are_sent_once(session: Any) -> None:
    first = reminders.weekly_log_reminders(session, "2031-W10")
    assert first["notified"] == first["people"] > 100
    assert reminders.weekly_log_reminders(session, "2031-W10")["notified"] == 0
    assert reminders.weekly_log_reminders(session, "2031-W11")["notified"] == first["people"]
    staff = _account(session, "ljjd103").person_id
    (note,) = _mine(session, staff, "weekly_log")[:1]
    assert note.data == {"week": "2031-W10"} and note.dedupe_key == f"weekly_log:2031-W10:{staff}"
    office_staff = _account(session, "office1").person_id
    assert _mine(session, office_staff, "weekly_log") == []  # the office's unit is not in the rollout

    q = reminders.quarterly_publish_reminders(session, "2031-Q1")
    assert q["units"] == 6 and q["notified"] == 6 and q["units_without_admin"] == 0
    assert reminders.quarterly_publish_reminders(session, "2031-Q1")["notified"] == 0
    admin = _account(session, "ljjd102").person_id
    (publish,) = _mine(session, admin, "publish_quarter")
    assert publish.data is not None and publish.data["quarter"] == "2031-Q1" and publish.data["unit"] == "龙景街道"


def test_overdue_digest_per_person_and_per_unit_admin(session: Any) -> None:
    start = datetime(2031, 3, 2, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        for username in ("ljjd103", "ljjd104"):
            runtime.start_process(session, SYSTEM, PROCESS, "2031-02", _account(session, username).person_id)
        session.commit()
    now = start + timedelta(days=6)  # the summaries were due after 5 days
    counts = reminders.overdue_digests(session, "2031-03-08", now)
    assert counts == {"people_notified": 2, "units_overdue": 1, "admins_notified": 1}
    assert reminders.overdue_digests(session, "2031-03-08", now)["people_notified"] == 0  # once a day
    (digest,) = _mine(session, _account(session, "ljjd103").person_id, "overdue_digest")
    assert digest.data == {"count": 1, "date": "2031-03-08"}
    (unit_digest,) = _mine(session, _account(session, "ljjd102").person_id, "overdue_unit_digest")
    assert unit_digest.data is not None and unit_digest.data["count"] == 2


def test_preferences_choose_the_channels_of_new_messages(session: Any) -> None:
    account = _account(session, "ljjd103")
    actor = actor_for_user(session, account)
    prefs = notifications.my_preferences(session, actor)
    assert prefs["weekly_log"] == (True, False) and set(prefs) == set(notifications.KINDS)
    with pytest.raises(Invalid):
        notifications.set_preferences(session, actor, {"weekly_log": (True, True)}, None)  # e-mail needs an address
    with pytest.raises(Invalid):
        notifications.set_preferences(session, actor, {"weekly_log": (True, False)}, "not an address")
    notifications.set_preferences(
        session, actor, {"weekly_log": (False, True), "publish_quarter": (False, False)}, "staff@example.org"
    )
    session.commit()
    assert session.get(Person, account.person_id).email == "staff@example.org"
    reminders.weekly_log_reminders(session, "2031-W12")
    (weekly,) = _mine(session, account.person_id, "weekly_log")
    assert (weekly.in_app, weekly.email_wanted) == (False, True)  # e-mail only: not listed, not counted
    assert notifications.unread_count(session, account.person_id) == 0
    assert notifications.notify(session, [account.person_id], "publish_quarter", "x") == 0  # both off: nothing
    # another person's defaults are untouched
    other = _account(session, "ljjd104").person_id
    assert [(n.in_app, n.email_wanted) for n in _mine(session, other, "weekly_log")] == [(True, False)]


def test_message_centre_unread_first_badge_and_mark_read(client: Any, session: Any) -> None:
    account = _account(session, "ljjd103")
    reminders.weekly_log_reminders(session, "2031-W13")
    started = runtime.start_process(session, SYSTEM, PROCESS, "2031-03", account.person_id)
    session.commit()
    login(client, "ljjd103")
    home = client.get("/").get_data(as_text=True)
    assert 'data-nav="notifications"' in home and 'data-badge="notifications">2<' in home
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count('data-unread="1"') == 2 and 'id="unread-count">2<' in page
    assert "Write your weekly log for 2031-W13." in page or "2031-W13" in page
    assigned = _mine(session, account.person_id, "assigned")[0]
    assert assigned.instance_id == started.instance.id
    # opening a message marks it read and goes where it points
    r = client.post(f"/notifications/{assigned.id}/read", data={"next": f"/instances/{started.instance.id}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/instances/{started.instance.id}")
    session.expire_all()
    assert session.get(Notification, assigned.id).read_at is not None
    page = client.get("/notifications/").get_data(as_text=True)
    assert page.count('data-unread="1"') == 1
    assert page.index('data-unread="1"') < page.index('data-unread="0"')  # unread first
    r = client.post("/notifications/read-all")
    assert r.status_code == 302
    assert notifications.unread_count(session, account.person_id) == 0
    assert 'data-badge="notifications"' not in client.get("/").get_data(as_text=True)
    # someone else's message cannot be marked
    foreign = _mine(session, _account(session, "ljjd104").person_id, "weekly_log")[0]
    assert client.post(f"/notifications/{foreign.id}/read").status_code == 403
    with pytest.raises(Forbidden):
        notifications.mark_read(session, actor_for_user(session, account), foreign.id)


def test_preferences_page(client: Any, session: Any) -> None:
    login(client, "ljjd103")
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert 'id="preferences-form"' in page and 'name="email_weekly_log"' in page and 'id="email-off"' in page
    form = {f"in_app_{k}": "1" for k in notifications.KINDS}
    form.update({"email_reminder": "1", "email": ""})
    r = client.post("/notifications/preferences", data=form)
    assert r.status_code == 422  # e-mail without an address
    form["email"] = "ljjd103@example.org"
    del form["in_app_weekly_log"]
    r = client.post("/notifications/preferences", data=form)
    assert r.status_code == 302
    actor = actor_for_user(session, _account(session, "ljjd103"))
    prefs = notifications.my_preferences(session, actor)
    assert (
        prefs["reminder"] == (True, True)
        and prefs["weekly_log"] == (False, False)
        and prefs["assigned"] == (True, False)
    )
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert 'value="ljjd103@example.org"' in page


# --- e-mail through a real SMTP server ------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(app: Any, monkeypatch: Any) -> Iterator[_Inbox]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, loop=asyncio.new_event_loop())
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    try:
        yield inbox
    finally:
        controller.stop()


def test_email_goes_out_after_the_commit_through_smtp(app: Any, session: Any, smtp_server: _Inbox) -> None:
    account = _account(session, "ljjd103")
    notifications.set_preferences(
        session, actor_for_user(session, account), {"assigned": (True, True)}, "ljjd103@example.org"
    )
    session.commit()
    # a task assigned in a transaction that is rolled back never mails anybody
    with session.begin_nested() as nested:
        runtime.start_process(session, SYSTEM, PROCESS, "2031-07", account.person_id)
        nested.rollback()
    assert scheduler.run_now(app, "email_outbox").counts == {"sent": 0, "failed": 0, "no_address": 0}
    assert smtp_server.messages == []
    # committed: the e-mail job sends it, once
    runtime.start_process(session, SYSTEM, PROCESS, "2031-08", account.person_id)
    session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=2), tick=False):
        outcome = scheduler.run_now(app, "email_outbox")
    assert outcome.counts == {"sent": 1, "failed": 0, "no_address": 0}
    (rcpt, content) = smtp_server.messages[0]
    assert rcpt == ["ljjd103@example.org"]
    mail = message_from_bytes(content)
    assert str(make_header(decode_header(mail["Subject"]))).startswith("[")
    assert "2031-08" in mail.get_payload(decode=True).decode("utf-8")
    (sent,) = [n for n in _mine(session, account.person_id, "assigned") if n.email_sent_at is not None]
    assert sent.email_attempts == 1
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=4), tick=False):
        assert scheduler.run_now(app, "email_outbox").counts["sent"] == 0  # type: ignore[index]
    assert len(smtp_server.messages) == 1
    # the other candidates' messages wanted no e-mail
    unsent = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.email_wanted.is_(True), Notification.email_sent_at.is_(None))
    )
    assert unsent == 0


def test_email_to_an_unreachable_server_is_retried_then_dropped(app: Any, session: Any, monkeypatch: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    account = _account(session, "ljjd104")
    notifications.set_preferences(
        session, actor_for_user(session, account), {"weekly_log": (True, True)}, "x@example.org"
    )
    reminders.weekly_log_reminders(session, "2031-W20")
    session.commit()
    base = datetime.now(UTC)
    for i in range(4):
        with time_machine.travel(base + timedelta(seconds=2 * i + 1), tick=False):
            counts = scheduler.run_now(app, "email_outbox").counts
        assert counts == {"sent": 0, "failed": 1 if i < 3 else 0, "no_address": 0}
    (note,) = _mine(session, account.person_id, "weekly_log")
    assert note.email_attempts == 3 and note.email_sent_at is None


def test_unit_admins_without_a_role_get_no_quarterly_reminder(session: Any) -> None:
    session.execute(
        RoleAssignment.__table__.delete().where(
            RoleAssignment.person_id == _account(session, "ljjd102").person_id, RoleAssignment.role == "unit_admin"
        )
    )
    counts = reminders.quarterly_publish_reminders(session, "2031-Q2")
    assert counts["units_without_admin"] == 1 and counts["notified"] == 5
