"""Bonus and deduction pages: propose with evidence, my items, the unit list with cap usage, export, task page."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from app.models import BonusItem, BonusStatus, HumanTask, TaskStatus
from app.services.appraisal import common
from tests.test_appraisal_logs import PDF, person_id

TODAY = common.local_today().isoformat()


def _propose(client, **form) -> object:
    data = {"kind": "innovation", "points": "2", "occurred_on": TODAY, "reason": "牵头完成数字化改革"} | form
    return client.post("/bonus/propose", data=data, content_type="multipart/form-data")


def _switch(client, login_as, role: str, **kw) -> object:
    client.post("/logout")
    return login_as(role, **kw)


def _task_id(session, item: BonusItem) -> int:
    session.expire_all()
    return session.scalar(
        select(HumanTask.id).where(HumanTask.instance_id == item.instance_id, HumanTask.status == TaskStatus.ready)
    )


def test_staff_proposes_with_evidence_and_sees_it_in_my_items(client, login_as, session) -> None:
    account = login_as("staff")
    page = client.get("/bonus/propose")
    assert page.status_code == 200 and "criticism" not in page.get_data(as_text=True)
    r = _propose(client, person_id=str(account.person_id), evidence=(io.BytesIO(PDF), "表彰.pdf"))
    assert r.status_code == 302
    item = session.scalar(select(BonusItem).where(BonusItem.person_id == account.person_id))
    assert item is not None and len(item.evidence) == 1 and item.status is BonusStatus.proposed
    mine = client.get("/bonus/mine").get_data(as_text=True)
    assert f'data-item="{item.id}"' in mine
    detail = client.get(f"/bonus/items/{item.id}").get_data(as_text=True)
    assert "表彰.pdf" in detail and 'id="item-history"' in detail
    download = client.get(f"/bonus/evidence/{item.evidence[0].id}")
    assert download.status_code == 200 and download.data == PDF


def test_rejected_form_keeps_what_was_typed_and_writes_nothing(client, login_as, session) -> None:
    account = login_as("staff")
    r = _propose(client, person_id=str(account.person_id), points="-3", reason="我的理由")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "我的理由" in html and "is-invalid" in html
    assert session.scalar(select(BonusItem).where(BonusItem.person_id == account.person_id)) is None


def test_section_head_task_page_returns_and_principal_approves(client, login_as, session) -> None:
    from tests.conftest import login

    staff = login_as("staff")
    _propose(client, person_id=str(staff.person_id), evidence=(io.BytesIO(PDF), "a.pdf"))
    item = session.scalar(select(BonusItem).where(BonusItem.person_id == staff.person_id))
    head = _switch(client, login_as, "section_head")
    task_id = _task_id(session, item)
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 302 and f"/bonus/tasks/{task_id}" in page.headers["Location"]
    assert client.post(f"/bonus/tasks/{task_id}", data={"decision": "forward"}).status_code == 302
    principal = _switch(client, login_as, "unit_principal")
    decide = _task_id(session, item)
    html = client.get(f"/bonus/tasks/{decide}").get_data(as_text=True)
    assert 'id="counted-points"' in html and "a.pdf" in html
    missing = client.post(f"/bonus/tasks/{decide}", data={"decision": "approve"})
    assert missing.status_code == 422
    assert client.post(f"/bonus/tasks/{decide}", data={"decision": "approve", "comment": "同意"}).status_code == 302
    session.expire_all()
    assert item.status is BonusStatus.approved and head and principal
    client.post("/logout")
    login(client, staff.username)
    assert "同意" in client.get(f"/bonus/items/{item.id}").get_data(as_text=True)


def test_unit_list_shows_cap_usage_over_the_cap_and_exports(client, login_as, session) -> None:
    staff_id = person_id(session, "ljjd103")
    login_as("section_head")
    for points in ("4", "3"):
        r = _propose(
            client, person_id=str(staff_id), kind="commendation", points=points, evidence=(io.BytesIO(PDF), "p.pdf")
        )
        assert r.status_code == 302
    _switch(client, login_as, "unit_principal")
    for item in session.scalars(select(BonusItem).where(BonusItem.person_id == staff_id)):
        client.post(f"/bonus/tasks/{_task_id(session, item)}", data={"decision": "approve", "comment": "同意"})
    quarter = f"{TODAY[:4]}-Q{(int(TODAY[5:7]) - 1) // 3 + 1}"
    html = client.get(f"/bonus/items?period={quarter}").get_data(as_text=True)
    assert f'data-person="{staff_id}"' in html
    assert re.search(r"2 points over the cap are not counted|超出上限的 2 分不计入", html)
    export = client.get(f"/bonus/items.xlsx?period={quarter}")
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and sorted(r[4] for r in rows[1:]) == [3, 4]


def test_other_sections_head_cannot_see_or_propose(client, login_as, session) -> None:
    staff_id = person_id(session, "ljjd103")
    login_as("section_head")
    _propose(client, person_id=str(staff_id))
    item = session.scalar(select(BonusItem).where(BonusItem.person_id == staff_id))
    _switch(client, login_as, "section_head", index=1)
    assert client.get(f"/bonus/items/{item.id}").status_code == 403
    html = client.get("/bonus/items").get_data(as_text=True)
    assert f'data-item="{item.id}"' not in html
    assert _propose(client, person_id=str(staff_id)).status_code == 422  # not among the choices
