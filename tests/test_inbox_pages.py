"""The inbox pages in the browser's shape: tabs, task form, claim, instance page with history."""

from __future__ import annotations

from sqlalchemy import select

from app.models import HumanTask, ProcessInstance, TaskStatus
from app.services.actor import SYSTEM
from app.workflow import runtime
from tests.conftest import demo_account, login


def _start(session, username: str, period: str = "2026-11") -> ProcessInstance:
    person_id = demo_account(session, "staff").person_id if username == "staff" else None
    result = runtime.start_process(session, SYSTEM, "periodic_appraisal", period, person_id)
    session.commit()
    return result.instance


def test_staff_submits_the_monthly_summary_through_the_form(client, session, login_as) -> None:
    account = login_as("staff")
    client.post("/processes/start", data={"process": "periodic_appraisal", "period": "2026-11"})
    task = session.scalar(select(HumanTask).where(HumanTask.subject_id == account.person_id))
    page = client.get("/tasks").get_data(as_text=True)
    assert f'data-task="{task.id}"' in page and 'data-badge="tasks"' in page
    # the summary is a structured form: the generic task page sends it to the appraisal task page
    r = client.get(f"/tasks/{task.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/appraisal/tasks/{task.id}")
    form = client.get(f"/appraisal/tasks/{task.id}").get_data(as_text=True)
    assert 'id="task-form"' in form and 'name="summary"' in form and 'id="step-documentation"' in form
    # a rejected form keeps what was typed and names the missing field
    r = client.post(f"/appraisal/tasks/{task.id}", data={"summary": "", "plan": "下月计划要点"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "下月计划要点" in html and "is-invalid" in html
    r = client.post(f"/appraisal/tasks/{task.id}", data={"summary": "本月完成三项重点工作", "plan": "继续推进"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(HumanTask, task.id).status is TaskStatus.completed
    assert f'data-task="{task.id}"' not in client.get("/tasks").get_data(as_text=True)
    done = client.get("/tasks?scope=done").get_data(as_text=True)
    assert f'data-task="{task.id}"' in done


def test_reviewer_sees_what_was_submitted_and_the_history(client, session, login_as) -> None:
    instance = _start(session, "staff")
    subject = demo_account(session, "staff")
    first = runtime._open_tasks(session, instance.id)[0]
    from app.services.actor import actor_for_user

    runtime.complete_task(session, actor_for_user(session, subject), first.id, {"summary": "评审依据：周记实"})
    session.commit()
    login_as("section_head")
    score = runtime._open_tasks(session, instance.id)[0]
    html = client.get(f"/tasks/{score.id}", follow_redirects=True).get_data(as_text=True)
    assert "评审依据：周记实" in html and 'data-kind="completed"' in html and 'name="score"' in html
    page = client.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert 'id="diagram"' in page and 'data-current="section_score"' in page and 'data-done="submit_summary"' in page
    xml = client.get(f"/instances/{instance.id}/diagram.bpmn")
    assert xml.status_code == 200 and b"periodic_appraisal" in xml.data


def test_other_people_cannot_open_someone_elses_task(client, session) -> None:
    instance = _start(session, "staff")
    task = runtime._open_tasks(session, instance.id)[0]
    login(client, demo_account(session, "staff", unit_code="lcz").username)
    assert client.get(f"/tasks/{task.id}").status_code == 403
    assert client.get(f"/instances/{instance.id}").status_code == 403
    assert client.post(f"/tasks/{task.id}", data={"summary": "x"}).status_code == 403


def test_completing_a_finished_task_in_the_browser_says_so(client, session, login_as) -> None:
    account = login_as("staff")
    client.post("/processes/start", data={"process": "periodic_appraisal", "period": "2026-10"})
    task = session.scalar(select(HumanTask).where(HumanTask.subject_id == account.person_id))
    assert client.post(f"/appraisal/tasks/{task.id}", data={"summary": "一次"}).status_code == 302
    r = client.post(f"/appraisal/tasks/{task.id}", data={"summary": "两次"}, follow_redirects=True)
    assert r.status_code == 200 and 'id="not-actionable"' in r.get_data(as_text=True)


def test_unit_admin_filters_shared_tasks_by_section(client, session, login_as) -> None:
    from app.models import OrgUnit, Person

    # everyone of two vacant-headed sections falls to the unit admin; the filter narrows by section
    admin = login_as("unit_admin")
    sections = session.scalars(select(OrgUnit).where(OrgUnit.code.in_(["ljjd-3", "ljjd-4"]))).all()
    from app.models import RoleAssignment

    for s in sections:
        session.query(RoleAssignment).filter_by(org_unit_id=s.id).delete()
    session.commit()
    from app.services.actor import actor_for_user

    for s in sections:
        person = session.scalar(select(Person).where(Person.section_id == s.id).order_by(Person.staff_no))
        start = runtime.start_process(session, SYSTEM, "periodic_appraisal", "2026-07", person.id)
        runtime.complete_task(session, actor_for_user(session, person.account), start.tasks[0].id, {"summary": "x"})
    session.commit()
    html = client.get("/tasks?period=2026-07").get_data(as_text=True)
    assert html.count('data-step="section_score"') == 2 and 'id="filter-section"' in html
    html = client.get(f"/tasks?period=2026-07&section_id={sections[0].id}").get_data(as_text=True)
    assert html.count('data-step="section_score"') == 1
    assert admin.person_id
