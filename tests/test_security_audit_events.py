"""Audit events added by issue 9: refused access (page and API, with the path), password changes, and every
file download — each recorded once, and kept although the request itself failed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.models import AuditEvent
from app.services import audit
from app.services.demo import DEMO_PASSWORD
from tests.conftest import login


def _last_id(session: Any) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


def _events(session: Any, after: int, action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(session.scalars(stmt))


def test_a_refused_page_is_recorded_with_its_path(client: Any, login_as: Any, session: Any) -> None:
    me = login_as("staff")
    start = _last_id(session)
    assert client.get("/audit?action=login").status_code == 403
    (event,) = _events(session, start, "access.denied")
    assert (event.object_type, event.object_id, event.result) == ("url", "/audit", "denied")
    assert event.actor_username == me.username and event.actor_person_id == me.person_id
    assert event.details == {"method": "GET", "endpoint": "audit.index", "query": "action=login"}
    assert audit.verify(session) is None


def test_a_refused_api_call_is_recorded(client: Any, api_token: Any, session: Any) -> None:
    headers = api_token("staff")
    start = _last_id(session)
    r = client.get("/api/v1/process-definitions/periodic_appraisal", headers=headers)
    assert r.status_code == 403
    (event,) = _events(session, start, "access.denied")
    assert event.object_id == "/api/v1/process-definitions/periodic_appraisal"
    assert event.actor_username is not None and event.details["endpoint"] == "api.list_definitions"


def test_password_changes_are_recorded_refused_or_done(client: Any, session: Any) -> None:
    login(client, "ljjd203")
    start = _last_id(session)
    assert client.post("/password", data={"current": "nope", "new": "x", "confirm": "x"}).status_code == 422
    new = "Better#Pass1"
    assert client.post("/password", data={"current": DEMO_PASSWORD, "new": new, "confirm": new}).status_code == 302
    events = _events(session, start, "password.change")
    assert [(e.result, e.actor_username) for e in events] == [("failure", "ljjd203"), ("success", "ljjd203")]
    assert events[0].details == {"fields": ["current", "new"]} and events[1].details == {"forced": False}


def test_every_download_is_recorded_once(client: Any, login_as: Any, session: Any) -> None:
    login_as("unit_admin")
    start = _last_id(session)
    r = client.get("/indicators/import-template.xlsx")
    assert r.status_code == 200
    (event,) = _events(session, start, "export.download")
    assert event.object_id == "/indicators/import-template.xlsx" and "indicators_template.xlsx" in event.details["file"]
    # a view that records its own export event is not recorded a second time
    start = _last_id(session)
    assert client.get("/org/people/export").status_code == 200
    assert [e.action for e in _events(session, start)] == ["export.people"]


def test_an_ordinary_page_records_nothing(client: Any, login_as: Any, session: Any) -> None:
    login_as("staff")
    start = _last_id(session)
    assert client.get("/tasks").status_code == 200
    assert _events(session, start) == []
