"""Publication, objection and answer notifications: their own kinds, with the facts in ``data``, worded in the
reader's language (Chinese by default, English when the reader chose it) on the page and in the e-mail."""

from __future__ import annotations

import html

from sqlalchemy import select

from app.models import Notification
from app.services.appraisal import objections, publication
from app.services.notifications import KINDS
from app.web.notifications.texts import email_for
from tests.publication_data import PERIOD, actor, add_results, approve, unit


def _published(session):
    add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    approve(session, pub.instance_id)
    session.refresh(pub)
    return pub


def _latest(session, person_id: int, kind: str) -> Notification:
    found = session.scalar(
        select(Notification)
        .where(Notification.recipient_id == person_id, Notification.kind == kind)
        .order_by(Notification.id.desc())
        .limit(1)
    )
    assert found is not None, f"no {kind} notification"
    return found


def _messages(client) -> str:
    return html.unescape(client.get("/notifications/").get_data(as_text=True))


def test_the_three_kinds_can_be_chosen_in_the_settings(client, login_as) -> None:
    assert {"publication", "objection", "objection_answer"} <= set(KINDS)
    login_as("staff")
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert all(f'data-kind="{k}"' in page for k in ("publication", "objection", "objection_answer"))
    assert "结果公示" in page and "公示结果异议" in page and "异议答复" in page


def test_staff_read_the_publication_in_their_language(client, session, login_as) -> None:
    pub = _published(session)
    staff = actor(session, "staff")
    item = _latest(session, staff.person_id, "publication")
    until = publication.last_day(pub)
    assert item.data == {"quarter": PERIOD, "unit": "龙景街道", "until": until}
    assert item.link == f"/publication/{pub.id}"
    session.commit()
    login_as("staff")
    assert f"龙景街道已公示{PERIOD}考核结果，如有异议请于{until}（含）前提出。" in _messages(client)
    client.post("/lang/en", data={"next": "/"})
    assert f"龙景街道 published the results of {PERIOD}; objections can be filed until {until}." in _messages(client)


def test_the_admin_reads_the_objection_and_the_person_the_answer_in_their_language(
    app, client, session, login_as
) -> None:
    pub = _published(session)
    staff = actor(session, "staff")
    own = next(r for r in pub.rows if r.person_id == staff.person_id)
    filed = objections.file_objection(session, staff, own.id, "加分项未计入")
    admin = actor(session, "unit_admin")
    told = _latest(session, admin.person_id, "objection")
    assert told.data == {"quarter": PERIOD, "unit": "龙景街道", "person": own.person_name}
    assert told.link == f"/publication/{pub.id}#objection-{filed.id}"
    objections.answer_objection(session, admin, filed.id, "已核实")
    answered = _latest(session, staff.person_id, "objection_answer")
    assert answered.data == {"quarter": PERIOD, "unit": "龙景街道"}
    with app.test_request_context():
        subject, body = email_for(answered)  # e-mail goes out in the district's language
    assert "异议答复" in subject and f"龙景街道 {PERIOD}：您对公示结果提出的异议已答复。" in body
    session.commit()
    login_as("unit_admin")
    assert f"龙景街道 {PERIOD}：{own.person_name}对公示结果提出异议，请答复。" in _messages(client)
    client.post("/lang/en", data={"next": "/"})
    assert f"龙景街道 {PERIOD}: {own.person_name} objects to the published result; please answer." in _messages(client)
    client.post("/logout")
    login_as("staff")
    assert f"龙景街道 {PERIOD}：您对公示结果提出的异议已答复。" in _messages(client)
    client.post("/lang/en", data={"next": "/"})
    assert f"龙景街道 {PERIOD}: your objection to the published result was answered." in _messages(client)
