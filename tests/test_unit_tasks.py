"""Unit tasks and the responsibility matrix (责任矩阵表): decomposition, progress with evidence,
leaders' guidance, and the matrix through the service, the page and the API."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import OrgUnit, Person, UnitTask, UnitTaskAssignment, UserAccount
from app.services import evidence
from app.services.actor import Actor, actor_for_user
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.indicators import matrix as matrix_service
from app.services.indicators import unit_tasks
from app.services.indicators.unit_tasks import TaskInput
from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent
MAX = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
PDF += b"trailer<</Root 1 0 R>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def office_zip(folder: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(f"{folder}/document.xml", "<x/>")
    return buf.getvalue()


def switch(client, username: str) -> None:
    client.post("/logout")
    login(client, username)


def account(session, username: str) -> UserAccount:
    return session.scalar(select(UserAccount).where(UserAccount.username == username))


def actor(session, username: str) -> Actor:
    return actor_for_user(session, account(session, username))


def person(session, username: str) -> Person:
    return account(session, username).person


def unit(session, code: str = "ljjd") -> OrgUnit:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def section(session, code: str) -> OrgUnit:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def new_task(session, title: str = "背街小巷改造", *, year: int = 2026, deadline: date | None = None) -> UnitTask:
    task = unit_tasks.create_task(
        session,
        actor(session, "ljjd102"),
        unit(session).id,
        TaskInput(title=title, unit_indicator="城市管理综合考评", deadline=deadline or date(year, 12, 31), year=year),
    )
    session.commit()
    return task


def assigned(session, task: UnitTask, username: str, role: str = "lead") -> UnitTaskAssignment:
    a = unit_tasks.assign(session, actor(session, "ljjd102"), task.id, person(session, username).id, role)
    session.commit()
    return a


def report(session, a: UnitTaskAssignment, progress: int, by: str | None = None) -> None:
    username = by or a.person.account.username
    unit_tasks.record_progress(
        session, actor(session, username), a.id, progress, "进展说明", store=Path("/nowhere"), max_bytes=MAX
    )
    session.commit()


# --- recording and decomposing ---------------------------------------------------------------


def test_unit_admin_records_a_task_and_decomposes_it_to_sections_and_people(session) -> None:
    task = new_task(session)
    lead = assigned(session, task, "ljjd103")
    helper = assigned(session, task, "ljjd203", "assist")
    assert (lead.role, lead.section_id) == ("lead", section(session, "ljjd-1").id)
    assert (helper.role, helper.section_id) == ("assist", section(session, "ljjd-2").id)
    assert lead.progress == 0 and lead.last_update_at is None
    again = assigned(session, task, "ljjd203", "lead")  # assigning again changes the role, no duplicate
    assert again.id == helper.id and again.role == "lead" and len(task.assignments) == 2
    mine = unit_tasks.my_unit_tasks(session, actor(session, "ljjd103"), 2026)
    assert [t.id for t in mine] == [task.id] and isinstance(mine[0], UnitTask)
    assert unit_tasks.my_unit_tasks(session, actor(session, "ljjd104"), 2026) == []
    principal = actor(session, "ljjd_principal")
    t2 = unit_tasks.create_task(
        session, principal, unit(session).id, TaskInput("招商引资", deadline=date(2026, 6, 30), year=2026)
    )
    assert t2.created_by_id == principal.person_id


def test_task_fields_are_checked_with_a_message_per_field(session) -> None:
    admin = actor(session, "ljjd102")
    with pytest.raises(Invalid) as exc:
        unit_tasks.create_task(session, admin, unit(session).id, TaskInput("  ", deadline=date(2027, 1, 5), year=2026))
    assert set(exc.value.fields) == {"title", "deadline"}
    with pytest.raises(Invalid) as exc:
        unit_tasks.create_task(session, admin, unit(session).id, TaskInput("x" * 201, year=None))
    assert set(exc.value.fields) == {"title", "year", "deadline"}


def test_staff_and_leaders_cannot_record_or_assign_tasks(session, client, login_as) -> None:
    for username in ("ljjd103", "ljjd101", "ljjd_leader1"):
        with pytest.raises(Forbidden):
            unit_tasks.create_task(
                session,
                actor(session, username),
                unit(session).id,
                TaskInput("x", deadline=date(2026, 5, 1), year=2026),
            )
    task = new_task(session)
    with pytest.raises(Forbidden):
        unit_tasks.assign(session, actor(session, "ljjd101"), task.id, person(session, "ljjd104").id, "lead")
    login_as("staff")
    assert client.get("/matrix/tasks/new").status_code == 403
    assert (
        client.post(f"/matrix/tasks/{task.id}/assign", data={"assign-person_id": 1, "assign-role": "lead"}).status_code
        == 403
    )
    assert 'id="new-task"' not in client.get("/matrix/?year=2026").get_data(as_text=True)


def test_people_of_another_unit_cannot_be_assigned(session) -> None:
    task = new_task(session)
    outsider = session.scalar(select(Person).where(Person.staff_no == "lcz103"))
    with pytest.raises(Invalid) as exc:
        unit_tasks.assign(session, actor(session, "ljjd102"), task.id, outsider.id, "lead")
    assert "person_id" in exc.value.fields
    with pytest.raises(Invalid) as exc:
        unit_tasks.assign(session, actor(session, "ljjd102"), task.id, person(session, "ljjd103").id, "boss")
    assert "role" in exc.value.fields


def test_another_units_admin_gets_403_everywhere(session, client, api_token) -> None:
    task = new_task(session)
    other = actor(session, "lcz102")
    with pytest.raises(Forbidden):
        unit_tasks.create_task(session, other, unit(session).id, TaskInput("x", deadline=date(2026, 5, 1), year=2026))
    with pytest.raises(Forbidden):
        matrix_service.matrix(session, other, unit(session).id, 2026)
    with pytest.raises(Forbidden):
        unit_tasks.get_task(session, other, task.id)
    login(client, "lcz102")
    assert client.get(f"/matrix/?unit_id={unit(session).id}&year=2026").status_code == 403
    assert client.get(f"/matrix/tasks/{task.id}").status_code == 403
    assert client.post(f"/matrix/tasks/{task.id}/delete").status_code == 403
    headers = api_token("unit_admin", unit_code="lcz")
    assert client.get(f"/api/v1/matrix?unit_id={unit(session).id}&year=2026", headers=headers).status_code == 403
    r = client.get(f"/api/v1/unit-tasks/{task.id}", headers=headers)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


def test_task_form_rejected_keeps_what_was_typed_then_saves(session, client, login_as) -> None:
    login_as("unit_admin")
    uid = unit(session).id
    r = client.post(
        f"/matrix/tasks/new?unit_id={uid}",
        data={"title": "", "unit_indicator": "营商环境", "year": 2026, "deadline": "2026-09-30"},
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "营商环境" in html and "is-invalid" in html
    r = client.post(
        f"/matrix/tasks/new?unit_id={uid}",
        data={"title": "优化营商环境", "unit_indicator": "营商环境", "year": 2026, "deadline": "2027-01-30"},
    )
    assert r.status_code == 422 and "优化营商环境" in r.get_data(as_text=True)
    r = client.post(
        f"/matrix/tasks/new?unit_id={uid}",
        data={"title": "优化营商环境", "unit_indicator": "营商环境", "year": 2026, "deadline": "2026-09-30"},
    )
    assert r.status_code == 302
    task = session.scalar(select(UnitTask).where(UnitTask.title == "优化营商环境"))
    assert task.unit_id == uid and task.deadline == date(2026, 9, 30)
    r = client.post(
        f"/matrix/tasks/{task.id}/assign",
        data={"assign-person_id": person(session, "ljjd203").id, "assign-role": "assist"},
    )
    assert r.status_code == 302
    page = client.get(f"/matrix/tasks/{task.id}").get_data(as_text=True)
    assert f'data-person="{person(session, "ljjd203").id}"' in page and 'id="assign-form"' in page
    outsider = session.scalar(select(Person).where(Person.staff_no == "lcz103"))
    r = client.post(f"/matrix/tasks/{task.id}/assign", data={"assign-person_id": outsider.id, "assign-role": "lead"})
    assert r.status_code == 422  # not among the unit's people


def test_reported_tasks_and_assignments_are_kept(session) -> None:
    task = new_task(session)
    a = assigned(session, task, "ljjd103")
    b = assigned(session, task, "ljjd104", "assist")
    report(session, a, 20)
    admin = actor(session, "ljjd102")
    with pytest.raises(Conflict):
        unit_tasks.unassign(session, admin, a.id)
    with pytest.raises(Conflict):
        unit_tasks.delete_task(session, admin, task.id)
    unit_tasks.unassign(session, admin, b.id)
    assert [x.id for x in task.assignments] == [a.id]
    spare = new_task(session, "临时任务")
    unit_tasks.delete_task(session, admin, spare.id)
    assert session.get(UnitTask, spare.id) is None


# --- progress and evidence --------------------------------------------------------------------


def test_evidence_type_is_judged_by_content_not_name() -> None:
    assert evidence.detect_type(PDF) is evidence.PDF
    assert evidence.detect_type(png_bytes()) is evidence.PNG
    assert evidence.detect_type(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00") is evidence.JPEG
    assert evidence.detect_type(office_zip("word")) is evidence.DOCX
    assert evidence.detect_type(office_zip("xl")) is evidence.XLSX
    assert evidence.detect_type("完成情况：已完成 3 项。\n".encode()) is evidence.TEXT
    assert evidence.detect_type(EXE) is None
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("run.bat", "echo")
    assert evidence.detect_type(plain_zip.getvalue()) is None
    assert evidence.clean_name("C:\\Users\\me\\报告.pdf", evidence.PDF) == "报告.pdf"
    assert evidence.clean_name("../../etc/photo.jpg", evidence.PNG) == "photo.jpg.png"
    with pytest.raises(Invalid):
        evidence.path_of(Path("/tmp"), "../secret.pdf")


def test_only_the_assignee_or_the_unit_admin_reports_progress_and_a_note_is_required(session, tmp_path) -> None:
    task = new_task(session)
    a = assigned(session, task, "ljjd103")
    with pytest.raises(Forbidden):
        unit_tasks.record_progress(session, actor(session, "ljjd104"), a.id, 10, "我来", store=tmp_path, max_bytes=MAX)
    with pytest.raises(Forbidden):  # the principal guides, the administrator records
        unit_tasks.record_progress(
            session, actor(session, "ljjd_principal"), a.id, 10, "x", store=tmp_path, max_bytes=MAX
        )
    with pytest.raises(Invalid) as exc:
        unit_tasks.record_progress(session, actor(session, "ljjd103"), a.id, 120, "  ", store=tmp_path, max_bytes=MAX)
    assert set(exc.value.fields) == {"progress", "note"}
    update = unit_tasks.record_progress(
        session, actor(session, "ljjd102"), a.id, 30, "代为填报", store=tmp_path, max_bytes=MAX
    )
    assert update.by_id == person(session, "ljjd102").id and update.evidence_path is None
    assert a.progress == 30 and a.last_update_at is not None
    too_big = evidence.Upload("big.pdf", PDF + b"0" * 100)
    with pytest.raises(Invalid) as exc:
        unit_tasks.record_progress(
            session, actor(session, "ljjd103"), a.id, 40, "附件", too_big, store=tmp_path, max_bytes=64
        )
    assert "evidence" in exc.value.fields and not any(tmp_path.iterdir())


def test_progress_with_evidence_is_stored_outside_the_web_root_and_downloaded_only_by_those_allowed(
    app, session, client, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    task = new_task(session)
    a = assigned(session, task, "ljjd103")
    assigned(session, task, "ljjd301", "assist")
    login(client, "ljjd103")
    page = client.get(f"/matrix/tasks/{task.id}").get_data(as_text=True)
    assert 'id="progress-form"' in page and 'enctype="multipart/form-data"' in page
    data = {
        "progress-assignment_id": a.id,
        "progress-progress": 60,
        "progress-note": "完成入户调查",
        "progress-evidence": (io.BytesIO(PDF), "调查报告.pdf"),
    }
    r = client.post(f"/matrix/tasks/{task.id}/progress", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    session.expire_all()
    update = session.get(UnitTaskAssignment, a.id).updates[-1]
    assert (update.progress, update.note, update.evidence_name) == (60, "完成入户调查", "调查报告.pdf")
    stored = tmp_path / "evidence" / update.evidence_path
    assert stored.read_bytes() == PDF and update.evidence_path.endswith(".pdf") and "调查" not in update.evidence_path
    assert not stored.resolve().is_relative_to(ROOT / "app" / "static")
    assert session.get(UnitTaskAssignment, a.id).progress == 60

    url = f"/matrix/evidence/{update.id}"
    assert f'href="{url}"' in client.get(f"/matrix/tasks/{task.id}").get_data(as_text=True)
    r = client.get(url)
    assert r.status_code == 200 and r.data == PDF and r.mimetype == "application/pdf"
    assert "attachment" in r.headers["Content-Disposition"] and r.headers["X-Content-Type-Options"] == "nosniff"
    for allowed in (
        "ljjd301",
        "ljjd101",
        "ljjd_leader1",
        "ljjd102",
        "office1",
    ):  # co-assignee, head, leader, admin, office
        switch(client, allowed)
        assert client.get(url).status_code == 200, allowed
    for refused in ("ljjd104", "ljjd_leader2", "lcz102"):  # colleague off the task, other leader, other unit
        switch(client, refused)
        assert client.get(url).status_code == 403, refused
    switch(client, "ljjd104")
    assert 'id="progress-history"' in client.get(f"/matrix/tasks/{task.id}").get_data(as_text=True)


def test_a_renamed_executable_is_refused_by_its_content(app, session, client, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    task = new_task(session)
    a = assigned(session, task, "ljjd103")
    login(client, "ljjd103")
    data = {
        "progress-assignment_id": a.id,
        "progress-progress": 50,
        "progress-note": "见附件",
        "progress-evidence": (io.BytesIO(EXE), "成果.pdf"),
    }
    r = client.post(f"/matrix/tasks/{task.id}/progress", data=data, content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "见附件" in html and "is-invalid" in html
    session.expire_all()
    assert session.get(UnitTaskAssignment, a.id).progress == 0 and not session.get(UnitTaskAssignment, a.id).updates
    assert not (tmp_path / "evidence").exists() or not any((tmp_path / "evidence").iterdir())
    data["progress-evidence"] = (io.BytesIO(png_bytes()), "现场照片")  # a real PNG without extension is fine
    r = client.post(f"/matrix/tasks/{task.id}/progress", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    session.expire_all()
    assert session.get(UnitTaskAssignment, a.id).updates[-1].evidence_name == "现场照片.png"


# --- leaders' guidance ------------------------------------------------------------------------


def test_leaders_comment_on_the_task_and_on_the_parts_they_are_in_charge_of(session, client) -> None:
    task = new_task(session)
    a1 = assigned(session, task, "ljjd103")  # section 1: ljjd101 heads it, ljjd_leader1 in charge
    a2 = assigned(session, task, "ljjd203", "assist")  # section 2: ljjd_leader2 in charge
    c = unit_tasks.add_comment(session, actor(session, "ljjd_leader1"), task.id, "注意进度节点", a1.id)
    assert c.assignment_id == a1.id and c.author_id == person(session, "ljjd_leader1").id
    unit_tasks.add_comment(session, actor(session, "ljjd101"), task.id, "本股室全力配合", a1.id)
    unit_tasks.add_comment(session, actor(session, "ljjd_principal"), task.id, "务必年底前完成")
    unit_tasks.add_comment(session, actor(session, "office1"), task.id, "纳入督查", a2.id)
    with pytest.raises(Forbidden):
        unit_tasks.add_comment(session, actor(session, "ljjd_leader1"), task.id, "越级", a2.id)
    with pytest.raises(Forbidden):
        unit_tasks.add_comment(session, actor(session, "ljjd104"), task.id, "同事评论")
    with pytest.raises(Forbidden):  # nobody guides their own part
        unit_tasks.add_comment(session, actor(session, "ljjd103"), task.id, "自评", a1.id)
    with pytest.raises(Invalid):
        unit_tasks.add_comment(session, actor(session, "ljjd_principal"), task.id, " ")
    session.commit()
    login(client, "ljjd_leader2")
    r = client.post(
        f"/matrix/tasks/{task.id}/comments", data={"comment-assignment_id": a2.id, "comment-text": "加强协同"}
    )
    assert r.status_code == 302
    r = client.post(
        f"/matrix/tasks/{task.id}/comments", data={"comment-assignment_id": a1.id, "comment-text": "不归我管"}
    )
    assert r.status_code == 422 and "不归我管" in r.get_data(as_text=True)
    page = client.get(f"/matrix/tasks/{task.id}").get_data(as_text=True)
    for text in ("注意进度节点", "务必年底前完成", "纳入督查", "加强协同"):
        assert text in page
    assert "不归我管" not in page


# --- the matrix -------------------------------------------------------------------------------


def _district(session, year: int) -> dict[str, object]:
    """Four tasks of ``year`` with statuses done / overdue / in progress / not started on 2026-07-01."""
    done = new_task(session, "完成的任务", year=year, deadline=date(year, 5, 31))
    late = new_task(session, "逾期的任务", year=year, deadline=date(year, 6, 30))
    going = new_task(session, "进行中的任务", year=year, deadline=date(year, 12, 31))
    idle = new_task(session, "未开始的任务", year=year, deadline=date(year, 11, 30))
    new_task(session, "待分解的任务", year=year, deadline=date(year, 10, 31))
    report(session, assigned(session, done, "ljjd103"), 100)
    report(session, assigned(session, late, "ljjd103"), 40)
    assigned(session, late, "ljjd203", "assist")
    report(session, assigned(session, going, "ljjd203"), 50)
    assigned(session, idle, "ljjd301")
    return {"done": done, "late": late, "going": going, "idle": idle}


def test_matrix_shows_each_persons_role_progress_status_and_latest_guidance(session) -> None:
    tasks = _district(session, 2026)
    unit_tasks.add_comment(
        session, actor(session, "ljjd_leader1"), tasks["late"].id, "抓紧推进", tasks["late"].assignments[0].id
    )
    session.commit()
    staff = actor(session, "ljjd104")  # a colleague on no task still sees the unit's matrix
    m = matrix_service.matrix(session, staff, unit(session).id, 2026, on=date(2026, 7, 1))
    assert [r.task.title for r in m.rows] == [
        "完成的任务",
        "逾期的任务",
        "待分解的任务",
        "未开始的任务",
        "进行中的任务",
    ]
    p103, p203, p301 = (person(session, u).id for u in ("ljjd103", "ljjd203", "ljjd301"))
    assert [p.id for p in m.people] == [p103, p203, p301]
    cell = m.cell(tasks["done"].id, p103)
    assert (cell.role, cell.progress, cell.status) == ("lead", 100, "done") and cell.last_update_at is not None
    late = m.cell(tasks["late"].id, p103)
    assert (late.progress, late.status, late.latest_comment.text) == (40, "overdue", "抓紧推进")
    assert m.cell(tasks["late"].id, p203).status == "overdue" and m.cell(tasks["late"].id, p203).role == "assist"
    assert m.cell(tasks["going"].id, p203).status == "in_progress"
    idle = m.cell(tasks["idle"].id, p301)
    assert (idle.status, idle.last_update_at) == ("not_started", None)
    assert m.cell(tasks["done"].id, p203) is None
    assert m.rows[1].progress == 20 and m.rows[1].status == "overdue"
    assert m.rows[1].latest_comments[0].text == "抓紧推进"
    assert m.counts() == {"not_started": 1, "in_progress": 1, "done": 1, "overdue": 2}
    only2 = matrix_service.matrix(
        session, staff, unit(session).id, 2026, section(session, "ljjd-2").id, on=date(2026, 7, 1)
    )
    assert [r.task.title for r in only2.rows] == ["逾期的任务", "进行中的任务"] and [p.id for p in only2.people] == [
        p203
    ]
    with pytest.raises(Invalid):
        matrix_service.matrix(session, staff, unit(session).id, 2026, section(session, "lcz-1").id)
    office = actor(session, "office1")
    assert len(matrix_service.matrix(session, office, unit(session).id, 2026).rows) == 5


def test_matrix_page_filters_by_section_shows_a_legend_and_refreshes_itself(session, client, login_as) -> None:
    year = unit_tasks.today().year - 1  # every deadline of last year has passed
    tasks = _district(session, year)
    login_as("staff")
    html = client.get(f"/matrix/?year={year}").get_data(as_text=True)
    p103, p203 = person(session, "ljjd103").id, person(session, "ljjd203").id
    assert f'data-cell="{tasks["done"].id}-{p103}" data-status="done"' in html
    assert f'data-cell="{tasks["late"].id}-{p103}" data-status="overdue"' in html
    assert f'data-cell="{tasks["going"].id}-{p203}" data-status="overdue"' in html  # 50% past the deadline
    assert 'id="matrix-legend"' in html and 'data-legend="overdue"' in html
    assert 'hx-trigger="every 30s"' in html and "/matrix/table?" in html and "<script>" not in html
    assert 'data-nav="matrix"' in html
    s2 = section(session, "ljjd-2").id
    fragment = client.get(f"/matrix/table?year={year}&section_id={s2}").get_data(as_text=True)
    assert "<html" not in fragment and 'id="matrix-table"' in fragment
    assert f'data-person="{p203}"' in fragment and f'data-person="{p103}"' not in fragment
    assert f'data-task="{tasks["done"].id}"' not in fragment
    client.post("/logout")
    r = client.get(f"/matrix/table?year={year}", headers={"HX-Request": "true"})
    assert r.status_code == 286 and r.headers["HX-Redirect"].endswith("/login")


def test_matrix_and_unit_task_api(session, client, api_token) -> None:
    tasks = _district(session, 2026)
    unit_tasks.add_comment(session, actor(session, "ljjd_principal"), tasks["late"].id, "限期整改")
    session.commit()
    headers = api_token("staff")
    uid = unit(session).id
    body = client.get(f"/api/v1/unit-tasks?unit_id={uid}&year=2026", headers=headers).get_json()
    assert body["total"] == 5
    late = next(t for t in body["items"] if t["id"] == tasks["late"].id)
    assert late["unit_indicator"] == "城市管理综合考评" and late["deadline"] == "2026-06-30"
    assert {(a["person"]["name"], a["role"], a["progress"]) for a in late["assignments"]} == {
        (person(session, "ljjd103").name, "lead", 40),
        (person(session, "ljjd203").name, "assist", 0),
    }
    detail = client.get(f"/api/v1/unit-tasks/{tasks['late'].id}", headers=headers).get_json()
    assert detail["progress_updates"][0]["progress"] == 40 and detail["comments"][0]["text"] == "限期整改"
    m = client.get(f"/api/v1/matrix?unit_id={uid}&year=2026", headers=headers).get_json()
    assert {t["id"] for t in m["tasks"]} == {
        t.id for t in session.scalars(select(UnitTask).where(UnitTask.year == 2026))
    }
    cell = next(c for c in m["cells"] if c["task_id"] == tasks["done"].id)
    assert (cell["role"], cell["progress"], cell["status"]) == ("lead", 100, "done") and cell["last_update_at"]
    s3 = section(session, "ljjd-3").id
    only3 = client.get(f"/api/v1/matrix?year=2026&section_id={s3}", headers=headers).get_json()  # default: my unit
    assert [c["person_id"] for c in only3["cells"]] == [person(session, "ljjd301").id]
    assert only3["cells"][0]["status"] in {"not_started", "overdue"}
    r = client.get("/api/v1/matrix?year=twenty", headers=headers)
    assert r.status_code == 422 and "year" in r.get_json()["error"]["fields"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/unit-tasks", "/unit-tasks/{task_id}", "/matrix"} <= set(spec["paths"])


def test_overdue_is_past_the_deadline_below_100_percent() -> None:
    day = date(2026, 7, 1)
    assert unit_tasks.status_of(0, day - timedelta(days=1), day) == "overdue"
    assert unit_tasks.status_of(99, day - timedelta(days=1), day) == "overdue"
    assert unit_tasks.status_of(100, day - timedelta(days=1), day) == "done"
    assert unit_tasks.status_of(0, day, day) == "not_started"
    assert unit_tasks.status_of(1, None, day) == "in_progress"
