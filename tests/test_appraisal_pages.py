"""The appraisal pages: my weekly log (rows, evidence), a person's week and comments, the section overview,
the summary / score / review task pages, the records."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.models import AppraisalRecord, HumanTask, LogEvidence, OrgUnit, RecordStatus, TaskStatus
from app.services.actor import SYSTEM
from app.services.appraisal import common, logs
from app.workflow import runtime
from tests.conftest import login
from tests.results_support import month_record
from tests.test_appraisal_flow import PERIOD, YEAR
from tests.test_appraisal_logs import PDF, actor, effective_set, monday, person_id, weeks_ago


def _switch(client, username: str) -> None:
    client.post("/logout")
    login(client, username)


def _open_task(session, instance_id: int) -> HumanTask:
    session.expire_all()
    return session.scalar(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
    )


def test_staff_writes_a_week_with_rows_added_and_removed(client, session) -> None:
    login(client, "ljjd103")
    week = weeks_ago(1)
    items = effective_set(session, "ljjd103", int(week[:4]))
    page = client.get(f"/appraisal/logs?week={week}").get_data(as_text=True)
    assert 'id="log-form"' in page and f'value="{items[0]}"' in page and 'data-nav="logs"' in page
    assert page.count('data-row="') == 1  # one blank row to start with
    form = {
        "row_count": "1",
        "entries-0-item": str(items[0]),
        "entries-0-content": "完成预算初稿",
        "entries-0-progress": "40",
    }
    added = client.post(f"/appraisal/logs?week={week}", data={**form, "action": "add"})
    assert added.status_code == 200 and added.get_data(as_text=True).count('data-row="') == 2
    assert "完成预算初稿" in added.get_data(as_text=True)
    bad = {**form, "row_count": "2", "entries-1-content": "值班", "entries-1-progress": "150", "action": "save"}
    r = client.post(f"/appraisal/logs?week={week}", data=bad)
    assert r.status_code == 422 and "is-invalid" in r.get_data(as_text=True)
    assert logs.find_log(session, person_id(session, "ljjd103"), week) is None  # nothing saved
    r = client.post(f"/appraisal/logs?week={week}", data={**bad, "entries-1-progress": "", "action": "save"})
    assert r.status_code == 302
    log = logs.find_log(session, person_id(session, "ljjd103"), week)
    assert [(e.indicator_item_id, e.content, e.progress) for e in log.entries] == [
        (items[0], "完成预算初稿", 40),
        (None, "值班", None),
    ]
    first, second = log.entries[0].id, log.entries[1].id
    page = client.get(f"/appraisal/logs?week={week}").get_data(as_text=True)
    assert f'name="entries-0-id" value="{first}"' in page and 'id="evidence-card"' in page
    # remove the second row when saving
    keep = {
        "row_count": "2",
        "entries-0-id": str(first),
        "entries-0-content": "完成预算初稿",
        "entries-1-id": str(second),
        "entries-1-content": "值班",
        "entries-1-remove": "1",
        "action": "save",
    }
    assert client.post(f"/appraisal/logs?week={week}", data=keep).status_code == 302
    session.expire_all()
    assert [e.id for e in logs.find_log(session, person_id(session, "ljjd103"), week).entries] == [first]


def test_evidence_is_uploaded_on_the_page_and_opened_by_leaders_only(app, client, session, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    week = weeks_ago(1)
    entry = logs.save_week(session, actor(session, "ljjd103"), week, [{"content": "整理台账"}]).entries[0]
    session.commit()
    login(client, "ljjd103")
    r = client.post(
        f"/appraisal/logs/entries/{entry.id}/evidence",
        data={"week": week, "evidence": (io.BytesIO(PDF), "台账.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    bad = client.post(
        f"/appraisal/logs/entries/{entry.id}/evidence",
        data={"week": week, "evidence": (io.BytesIO(b"MZ\x90\x00\x00binary\x00\x01"), "报告.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "alert-danger" in bad.get_data(as_text=True)
    stored = session.scalars(select(LogEvidence).where(LogEvidence.entry_id == entry.id)).all()
    assert len(stored) == 1 and (tmp_path / "evidence" / stored[0].stored_name).read_bytes() == PDF
    _switch(client, "ljjd101")
    got = client.get(f"/appraisal/logs/evidence/{stored[0].id}")
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    _switch(client, "ljjd104")
    assert client.get(f"/appraisal/logs/evidence/{stored[0].id}").status_code == 403


def test_the_head_reads_a_week_comments_and_sees_the_section_overview(client, session) -> None:
    late = weeks_ago(2)
    logs.save_week(
        session, actor(session, "ljjd103"), late, [{"content": "走访 5 户"}], now=monday(late) + timedelta(9)
    )
    session.commit()
    subject = person_id(session, "ljjd103")
    section_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "ljjd-1"))
    login(client, "ljjd101")
    r = client.get("/appraisal/sections")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/appraisal/sections/{section_id}/logs")
    page = client.get(f"/appraisal/sections/{section_id}/logs?weeks=3").get_data(as_text=True)
    row = re.search(rf'<tr data-person="{subject}">(.*?)</tr>', page, re.S).group(1)
    assert (
        f'data-week="{late}" data-status="late"' in row and f'data-week="{weeks_ago(1)}" data-status="missing"' in row
    )
    week_page = client.get(f"/appraisal/people/{subject}/logs?week={late}").get_data(as_text=True)
    assert "走访 5 户" in week_page and 'id="comment-form"' in week_page
    r = client.post(f"/appraisal/people/{subject}/logs/comments", data={"week": late, "text": "请附走访记录"})
    assert r.status_code == 302
    assert "请附走访记录" in client.get(f"/appraisal/people/{subject}/logs?week={late}").get_data(as_text=True)
    _switch(client, "ljjd_leader1")  # in charge of two sections: a list to choose from
    assert 'id="sections"' in client.get("/appraisal/sections").get_data(as_text=True)
    _switch(client, "ljjd201")  # another section's head
    assert client.get(f"/appraisal/sections/{section_id}/logs").status_code == 403
    assert client.get(f"/appraisal/people/{subject}/logs?week={late}").status_code == 403
    _switch(client, "ljjd103")
    mine = client.get(f"/appraisal/logs?week={late}").get_data(as_text=True)
    assert "请附走访记录" in mine and 'data-week-status="late"' in mine


def test_summary_score_and_review_pages_drive_the_month(client, session) -> None:
    ids = effective_set(session, "ljjd103", YEAR)
    week = common.weeks_of_period(PERIOD)[0]
    logs.save_week(
        session, actor(session, "ljjd103"), week, [{"item_id": ids[0], "content": "预算初稿", "progress": 50}]
    )
    instance_id = runtime.start_process(session, SYSTEM, "periodic_appraisal", PERIOD, person_id(session, "ljjd103"))
    instance_id = instance_id.instance.id
    session.commit()
    login(client, "ljjd103")
    task = _open_task(session, instance_id)
    page = client.get(f"/appraisal/tasks/{task.id}").get_data(as_text=True)
    assert "【重点工作｜预算编制】" in page and f"- {week}：预算初稿（进度 50%）" in page and 'id="period-logs"' in page
    assert (
        client.post(f"/appraisal/tasks/{task.id}", data={"summary": "本月：预算初稿", "plan": "报审"}).status_code
        == 302
    )

    _switch(client, "ljjd101")
    task = _open_task(session, instance_id)
    page = client.get(f"/tasks/{task.id}", follow_redirects=True).get_data(as_text=True)
    assert 'id="score-items"' in page and f'name="item-{ids[0]}-score"' in page and "本月：预算初稿" in page
    full = {f"item-{i}-score": w for i, w in zip(ids, ("50", "30", "20"), strict=True)}
    r = client.post(f"/appraisal/tasks/{task.id}", data={**full, "score_comment": "全部完成"})
    assert r.status_code == 422 and 'data-error="justification"' in r.get_data(as_text=True)
    assert 'value="50"' in r.get_data(as_text=True)  # what was typed is kept
    scores = {f"item-{i}-score": w for i, w in zip(ids, ("45", "27", "18"), strict=True)}
    assert client.post(f"/appraisal/tasks/{task.id}", data={**scores, "score_comment": "良好"}).status_code == 302

    _switch(client, "ljjd_leader1")
    task = _open_task(session, instance_id)
    page = client.get(f"/appraisal/tasks/{task.id}").get_data(as_text=True)
    assert "45 + 27 + 18 = 90" in page and 'name="adjusted_score"' in page
    r = client.post(f"/appraisal/tasks/{task.id}", data={"decision": "return"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-error="comment"' in html and 'value="return" checked' in html
    r = client.post(
        f"/appraisal/tasks/{task.id}", data={"decision": "approve", "adjusted_score": "86", "adjust_reason": "偏高"}
    )
    assert r.status_code == 302
    record = session.scalar(select(AppraisalRecord).where(AppraisalRecord.instance_id == instance_id))
    _switch(client, "ljjd103")
    page = client.get(f"/appraisal/records/{record.id}").get_data(as_text=True)
    assert 'id="final-score">86<' in page and "45 + 27 + 18 = 90" in page and 'id="adjusted-score"' in page
    assert 'data-my-task="' in page and 'id="appeal-deadline"' in page
    listing = client.get("/appraisal/records").get_data(as_text=True)
    assert f'data-record="{record.id}"' in listing and 'data-status="feedback"' in listing
    _switch(client, "ljjd201")
    assert client.get(f"/appraisal/records/{record.id}").status_code == 403


def test_the_appeal_window_shows_the_last_day_one_may_appeal(client, session, make_person) -> None:
    person = make_person("ljjd-1", username="appeal.window")
    record = month_record(session, person, "2026-10", "88", status=RecordStatus.feedback)
    record.feedback_at = datetime(2026, 11, 23, 2, tzinfo=UTC)
    record.appeal_deadline = common.end_of_local_day(date(2026, 11, 30))
    session.commit()
    # stored as the instant the window closes: 2026-12-01 00:00 in Shanghai
    assert record.appeal_deadline == datetime(2026, 11, 30, 16, tzinfo=UTC)
    login(client, "appeal.window")
    page = client.get(f"/appraisal/records/{record.id}").get_data(as_text=True)
    shown = re.search(r'id="appeal-deadline">(.*?)</dd>', page, re.S).group(1)
    assert "2026-11-30" in shown and "2026-12-01" not in shown and "00:00" not in shown
    listing = client.get("/appraisal/records").get_data(as_text=True)
    row = re.search(rf'data-record="{record.id}".*?data-col="feedback">(.*?)</td>', listing, re.S).group(1)
    assert "2026-11-30" in row and "2026-12-01" not in row


def test_the_last_local_day_is_the_day_before_an_exclusive_end() -> None:
    assert common.last_local_day(common.end_of_local_day(date(2026, 11, 30))) == date(2026, 11, 30)
    # one second into 1 December (Shanghai) still belongs to that day
    assert common.last_local_day(datetime(2026, 11, 30, 16, 0, 1, tzinfo=UTC)) == date(2026, 12, 1)
    assert common.last_local_day(None) is None
