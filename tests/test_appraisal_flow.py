"""A month of periodic appraisal (平时考核) with its record: the summary prefilled from the logs, per-item
scoring with the 打满分赋均分 guard, the leader's adjustment, feedback with an appeal window, archive."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AppraisalRecord, HumanTask, RecordStatus, TaskStatus
from app.services import evidence
from app.services.appraisal import common, logs, records, scoring, weeks
from app.services.errors import Conflict
from app.services.periods import month_before
from config.settings import load_settings
from tests.test_appraisal_logs import PDF, actor, effective_set, monday, person_id, tokens

PERIOD = month_before(common.local_today())
YEAR = int(PERIOD[:4])


def _complete(client, headers, task_id: int, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def _task(client, headers, task_id: int) -> dict[str, Any]:
    r = client.get(f"/api/v1/tasks/{task_id}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _start(client, h, period: str = PERIOD) -> tuple[int, int]:
    r = client.post("/api/v1/processes/periodic_appraisal/start", headers=h["staff"], json={"period": period})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["instance_id"], r.get_json()["tasks"][0]["id"]


def _record(session, instance_id: int) -> AppraisalRecord:
    session.expire_all()
    return session.scalar(select(AppraisalRecord).where(AppraisalRecord.instance_id == instance_id))


def _to_scoring(client, h, period: str = PERIOD) -> tuple[int, int]:
    instance_id, summary = _start(client, h, period)
    out = _complete(client, h["staff"], summary, {"summary": "本月小结", "plan": "下月计划"})
    return instance_id, out["next_tasks"][0]["id"]


def _items(ids: list[int], scores: list[float], **comments: str) -> list[dict[str, Any]]:
    pairs = enumerate(zip(ids, scores, strict=True))
    return [{"item_id": i, "score": s, "comment": comments.get(f"c{n}", "")} for n, (i, s) in pairs]


def test_months_and_quarters_hold_the_weeks_whose_thursday_falls_inside() -> None:
    assert common.weeks_of_period("2026-10") == ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    assert common.weeks_of_period("2026-11") == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    assert common.weeks_of_period("2026-12")[-1] == "2026-W53"  # Thursday 2026-12-31: a December week …
    assert common.weeks_of_period("2027-01")[0] == "2027-W01"  # … so January starts with week 1
    assert len(common.weeks_of_period("2026-Q4")) == 14 and common.weeks_of_period("2026-W47") == ["2026-W47"]


def test_the_summary_is_prefilled_from_the_months_logs_grouped_by_indicator(client, session, api_token) -> None:
    h = tokens(api_token)
    items = effective_set(session, "ljjd103", YEAR)
    me = actor(session, "ljjd103")
    month_weeks = common.weeks_of_period(PERIOD)
    logs.save_week(session, me, month_weeks[0], [{"item_id": items[0], "content": "预算初稿", "progress": 30}])
    logs.save_week(
        session,
        me,
        month_weeks[1],
        [{"item_id": items[0], "content": "预算报审", "progress": 80}, {"content": "防汛值班"}],
    )
    before = common.week_of(common.monday_of(month_weeks[0]) - timedelta(days=7))
    logs.save_week(session, me, before, [{"item_id": items[1], "content": "上月的事"}])
    session.commit()
    _instance, task_id = _start(client, h)
    detail = _task(client, h["staff"], task_id)
    assert [f["name"] for f in detail["fields"]] == ["summary", "plan"]
    prefill = detail["data"]["prefill"]
    assert prefill.startswith("【重点工作｜预算编制】")
    assert (
        f"- {month_weeks[0]}：预算初稿（进度 30%）" in prefill
        and f"- {month_weeks[1]}：预算报审（进度 80%）" in prefill
    )
    assert "防汛值班" in prefill and "上月的事" not in prefill
    assert prefill.index("预算报审") < prefill.index("其他工作") < prefill.index("防汛值班")
    statuses = {w["week"]: w["status"] for w in detail["data"]["log_weeks"]}
    assert list(statuses) == month_weeks and statuses[month_weeks[2]] == "missing"
    out = _complete(client, h["staff"], task_id, {"summary": prefill + "\n\n不足：决算滞后", "plan": "推进决算"})
    assert out["next_tasks"][0]["step_id"] == "section_score"
    record = _record(session, _instance)
    assert record.status is RecordStatus.scoring and record.summary.endswith("决算滞后") and record.plan == "推进决算"
    shown = _task(client, h["head"], out["next_tasks"][0]["id"])["data"]
    assert shown["summary"].endswith("决算滞后")  # the engine carries the summary on to the scorer


def test_scores_per_item_are_summed_and_full_or_low_marks_need_a_justification(client, session, api_token) -> None:
    h = tokens(api_token)
    ids = effective_set(session, "ljjd103", YEAR)  # weights 50, 30, 20
    instance_id, score_task = _to_scoring(client, h)
    detail = _task(client, h["head"], score_task)
    assert [f["name"] for f in detail["fields"]] == ["item_scores", "score", "score_comment", "justification"]
    assert detail["data"]["score_mode"] == "items"
    assert [(i["weight"], i["threshold"]) for i in detail["data"]["indicators"]] == [(50, 30), (30, 18), (20, 12)]

    def refused(body: dict[str, Any]) -> dict[str, str]:
        return _complete(client, h["head"], score_task, body, status=422)["error"]["fields"]

    full = {"item_scores": _items(ids, [50, 30, 20]), "score_comment": "全部完成"}
    assert "Full marks on every indicator" in refused(full)["justification"]
    low = {"item_scores": _items(ids, [25, 27, 18]), "score_comment": "预算滞后"}
    assert "below 60% of the weight" in refused(low)["justification"] and "预算编制" in refused(low)["justification"]
    assert set(refused({"item_scores": _items(ids[:2], [45, 27]), "score_comment": "x"})) == {f"item_scores.{ids[2]}"}
    assert f"item_scores.{ids[1]}" in refused({"item_scores": _items(ids, [45, 35, 18]), "score_comment": "x"})
    assert "score" in refused({"item_scores": _items(ids, [45, 27, 18]), "score": 91, "score_comment": "x"})
    assert "score_comment" in refused({"item_scores": _items(ids, [45, 27, 18])})
    assert "item_scores" in refused({"score": 88, "score_comment": "只给总分"})  # items are required with a set
    # a low score with its justification is accepted; the total is the sum, with the formula
    out = _complete(
        client,
        h["head"],
        score_task,
        {**low, "item_scores": _items(ids, [25, 27.5, 18], c0="决算未按期"), "justification": "预算编制超期两周"},
    )
    assert out["next_tasks"][0]["step_id"] == "leader_review"
    record = _record(session, instance_id)
    assert record.score == Decimal("70.5") and record.score_mode == "items" and record.status is RecordStatus.review
    first = record.items[0]
    assert (first.name, first.score, first.comment) == ("预算编制", Decimal(25), "决算未按期")
    assert records.formula(record) == "25 + 27.5 + 18 = 70.5"
    review = _task(client, h["leader"], out["next_tasks"][0]["id"])
    assert review["data"]["score"] == 70.5 and review["data"]["score_formula"] == "25 + 27.5 + 18 = 70.5"
    assert review["data"]["appraisal"]["items"][0]["score"] == 25


def test_without_an_effective_set_the_head_gives_one_justified_overall_score(client, session, api_token) -> None:
    h = tokens(api_token)
    instance_id, score_task = _to_scoring(client, h)
    detail = _task(client, h["head"], score_task)
    assert detail["data"]["score_mode"] == "overall" and detail["data"]["indicators"] == []
    r = _complete(
        client,
        h["head"],
        score_task,
        {"item_scores": [{"item_id": 1, "score": 5}], "score": 80, "score_comment": "x"},
        status=422,
    )
    assert "no effective indicator set" in r["error"]["fields"]["item_scores"]
    r = _complete(client, h["head"], score_task, {"score": 100, "score_comment": "优秀"}, status=422)
    assert "Full marks" in r["error"]["fields"]["justification"]
    r = _complete(client, h["head"], score_task, {"score": 55, "score_comment": "较差"}, status=422)
    assert "below 60" in r["error"]["fields"]["justification"]
    _complete(
        client, h["head"], score_task, {"score": 100, "score_comment": "优秀", "justification": "超额完成全部任务"}
    )
    record = _record(session, instance_id)
    assert (record.score_mode, record.score, record.justification) == ("overall", Decimal(100), "超额完成全部任务")
    assert record.items == [] and records.formula(record) == "100"


def _to_review(client, session, h) -> tuple[int, int, list[int]]:
    ids = effective_set(session, "ljjd103", YEAR)
    instance_id, score_task = _to_scoring(client, h)
    out = _complete(client, h["head"], score_task, {"item_scores": _items(ids, [45, 27, 18]), "score_comment": "良好"})
    return instance_id, out["next_tasks"][0]["id"], ids


def test_the_leader_may_adjust_the_total_with_a_reason_and_both_values_are_kept(client, session, api_token) -> None:
    h = tokens(api_token)
    instance_id, review, _ids = _to_review(client, session, h)
    assert [f["name"] for f in _task(client, h["leader"], review)["fields"]] == [
        "decision",
        "comment",
        "adjusted_score",
        "adjust_reason",
    ]
    fields = _complete(client, h["leader"], review, {"decision": "approve", "adjusted_score": 85}, status=422)
    assert "adjust_reason" in fields["error"]["fields"]
    fields = _complete(client, h["leader"], review, {"decision": "approve", "adjust_reason": "偏高"}, status=422)
    assert "adjusted_score" in fields["error"]["fields"]
    body = {"decision": "return", "comment": "重评", "adjusted_score": 85, "adjust_reason": "偏高"}
    assert "adjusted_score" in _complete(client, h["leader"], review, body, status=422)["error"]["fields"]
    assert "comment" in _complete(client, h["leader"], review, {"decision": "return"}, status=422)["error"]["fields"]
    out = _complete(
        client, h["leader"], review, {"decision": "approve", "adjusted_score": 85, "adjust_reason": "与同岗位相比偏高"}
    )
    feedback = out["next_tasks"][0]
    assert feedback["step_id"] == "feedback"
    record = _record(session, instance_id)
    assert (record.score, record.adjusted_score, record.final_score) == (Decimal(90), Decimal(85), Decimal(85))
    assert record.adjust_reason == "与同岗位相比偏高" and record.review_decision == "approve"
    assert record.status is RecordStatus.feedback
    shown = _task(client, h["staff"], feedback["id"])["data"]
    assert shown["score"] == 85  # the person is told the score that counts …
    assert shown["appraisal"]["score"] == 90 and shown["appraisal"]["adjusted_score"] == 85  # … and sees both
    got = client.get(f"/api/v1/appraisals/{record.id}", headers=h["staff"]).get_json()
    assert (got["score"], got["adjusted_score"], got["final_score"]) == (90, 85, 85)


def test_an_appeal_is_accepted_within_the_window_and_refused_after_it(client, session, api_token) -> None:
    h = tokens(api_token)
    instance_id, review, ids = _to_review(client, session, h)
    feedback = _complete(client, h["leader"], review, {"decision": "approve"})["next_tasks"][0]
    record = _record(session, instance_id)
    days = common.policy().appeal_days
    assert days == 5 and load_settings()["APPEAL_DAYS"] == 5
    assert common.local_date(record.feedback_at) == common.local_today()
    assert record.appeal_deadline == common.end_of_local_day(common.local_today() + timedelta(days=days))
    # within the window: the appeal goes back to the section head
    out = _complete(client, h["staff"], feedback["id"], {"decision": "appeal", "appeal_reason": "加班未计入"})
    rescore = out["next_tasks"][0]
    assert rescore["step_id"] == "section_score"
    record = _record(session, instance_id)
    assert record.status is RecordStatus.scoring and [(a.reason, a.score_before) for a in record.appeals] == [
        ("加班未计入", Decimal(90))
    ]
    assert _task(client, h["head"], rescore["id"])["data"]["appeal_reason"] == "加班未计入"
    out = _complete(
        client, h["head"], rescore["id"], {"item_scores": _items(ids, [48, 27, 18]), "score_comment": "复核"}
    )
    feedback = _complete(client, h["leader"], out["next_tasks"][0]["id"], {"decision": "approve"})["next_tasks"][0]
    # after the window: refused with a clear message, the task stays open; acknowledging still works
    record = _record(session, instance_id)
    record.appeal_deadline = record.feedback_at - timedelta(days=1)
    session.commit()
    r = client.post(
        f"/api/v1/tasks/{feedback['id']}/complete",
        headers=h["staff"],
        json={"decision": "appeal", "appeal_reason": "仍有异议"},
    )
    assert r.status_code == 422
    assert "closed on" in r.get_json()["error"]["message"] and "decision" in r.get_json()["error"]["fields"]
    session.expire_all()
    assert session.get(HumanTask, feedback["id"]).status is TaskStatus.ready
    out = _complete(client, h["staff"], feedback["id"], {"decision": "acknowledge"})
    assert out["instance"]["status"] == "completed"
    record = _record(session, instance_id)
    assert record.status is RecordStatus.archived and record.acknowledged_at is not None
    assert [(a.score_before, a.score_after) for a in record.appeals] == [(Decimal(90), Decimal(93))]


def test_the_appeal_window_follows_the_setting(client, session, api_token, monkeypatch) -> None:
    monkeypatch.setattr(common, "_POLICY", common.policy())
    common.configure({"APPEAL_DAYS": 2})
    assert load_settings(environ={"JIXIAO_APPEAL_DAYS": "7"})["APPEAL_DAYS"] == 7
    h = tokens(api_token)
    instance_id, review, _ids = _to_review(client, session, h)
    _complete(client, h["leader"], review, {"decision": "approve"})
    record = _record(session, instance_id)
    assert record.appeal_deadline == common.end_of_local_day(common.local_today() + timedelta(days=2))


def test_an_archived_record_refuses_every_change(client, session, api_token, tmp_path) -> None:
    h = tokens(api_token)
    me = actor(session, "ljjd103")
    month_week = common.weeks_of_period(PERIOD)[0]
    entry_id = logs.save_week(session, me, month_week, [{"content": "本月工作"}], now=monday(month_week)).entries[0].id
    session.commit()
    instance_id, review, ids = _to_review(client, session, h)
    feedback = _complete(client, h["leader"], review, {"decision": "approve"})["next_tasks"][0]
    _complete(client, h["staff"], feedback["id"], {"decision": "acknowledge"})
    record = _record(session, instance_id)
    assert record.status is RecordStatus.archived and record.archived_at is not None
    head, leader = actor(session, "ljjd101"), actor(session, "ljjd_leader1")
    attempts = [
        lambda: records.submit_summary(session, me, record, {"summary": "改小结"}),
        lambda: scoring.score_record(session, head, record, {"item_scores": _items(ids, [40, 20, 10])}),
        lambda: scoring.review_record(session, leader, record, {"decision": "approve", "adjusted_score": 99}),
        lambda: records.respond(session, me, record, {"decision": "appeal", "appeal_reason": "再申诉"}),
        lambda: logs.save_week(session, me, month_week, [{"content": "事后补改"}]),
        lambda: logs.add_evidence(
            session, me, entry_id, evidence.Upload("a.pdf", PDF), store=tmp_path, max_bytes=99999
        ),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict, match="archived"):
            attempt()
        session.rollback()
    # and nothing reaches the database by another path
    record = _record(session, instance_id)
    record.score = Decimal(1)
    with pytest.raises(records.Archived, match="can no longer be changed"):
        session.flush()
    session.rollback()
    record = _record(session, instance_id)
    record.items[0].score = Decimal(0)
    with pytest.raises(records.Archived):
        session.flush()
    session.rollback()
    record = _record(session, instance_id)
    session.expire(record)  # not read since the last commit: the guard must still see "archived"
    record.status, record.score = RecordStatus.scoring, Decimal(1)
    with pytest.raises(records.Archived):
        session.flush()
    session.rollback()
    assert _record(session, instance_id).score == Decimal(90)
    assert logs.archived_record_for_week(session, me.person_id, month_week) is not None
    assert [e.content for e in logs.find_log(session, me.person_id, month_week).entries] == ["本月工作"]


def test_a_whole_month_end_to_end_through_the_api(client, session, api_token) -> None:
    h = tokens(api_token)
    ids = effective_set(session, "ljjd103", YEAR)
    month_weeks = common.weeks_of_period(PERIOD)
    for n, week in enumerate(month_weeks):
        entries = [{"item_id": ids[n % 3], "content": f"第{n + 1}周工作", "progress": 20 * (n + 1)}]
        r = client.post("/api/v1/logs", headers=h["staff"], json={"week": week, "entries": entries})
        assert r.status_code == 200, r.get_json()
    instance_id, summary_task = _start(client, h)
    prefill = _task(client, h["staff"], summary_task)["data"]["prefill"]
    assert all(f"第{n + 1}周工作" in prefill for n in range(len(month_weeks)))
    out = _complete(client, h["staff"], summary_task, {"summary": prefill, "plan": "下月推进"})
    score_task = out["next_tasks"][0]["id"]
    data = _task(client, h["head"], score_task)["data"]
    assert {g["label"] for g in data["log_groups"] if g["entries"]} >= {"重点工作｜预算编制"}
    # written today: late for every week whose following Monday has passed
    assert data["log_weeks"][0]["status"] == "late" and {w["status"] for w in data["log_weeks"]} <= {"late", "on_time"}
    out = _complete(client, h["head"], score_task, {"item_scores": _items(ids, [44, 26, 17]), "score_comment": "良"})
    out = _complete(client, h["leader"], out["next_tasks"][0]["id"], {"decision": "return", "comment": "依据不足"})
    rescore = out["next_tasks"][0]
    assert _task(client, h["head"], rescore["id"])["data"]["comment"] == "依据不足"
    out = _complete(client, h["head"], rescore["id"], {"item_scores": _items(ids, [42, 26, 17]), "score_comment": "补"})
    out = _complete(
        client,
        h["leader"],
        out["next_tasks"][0]["id"],
        {"decision": "approve", "adjusted_score": 88, "adjust_reason": "加分"},
    )
    out = _complete(client, h["staff"], out["next_tasks"][0]["id"], {"decision": "acknowledge"})
    assert out["instance"]["status"] == "completed"
    listed = client.get("/api/v1/appraisals", headers=h["staff"], query_string={"year": YEAR}).get_json()
    mine = next(r for r in listed["items"] if r["instance_id"] == instance_id)
    assert (mine["status"], mine["score"], mine["adjusted_score"], mine["final_score"]) == ("archived", 85, 88, 88)
    assert mine["score_formula"] == "42 + 26 + 17 = 85" and mine["review"]["decision"] == "approve"
    assert mine["summary"] == prefill and mine["archived_at"]
    subject = person_id(session, "ljjd103")
    assert client.get("/api/v1/appraisals", headers=h["head"], query_string={"person_id": subject}).status_code == 200
    assert client.get(f"/api/v1/appraisals/{mine['id']}", headers=h["leader"]).status_code == 200
    assert client.get(f"/api/v1/appraisals/{mine['id']}", headers=h["other_head"]).status_code == 403
    assert client.get(f"/api/v1/appraisals/{mine['id']}", headers=h["colleague"]).status_code == 403
    assert client.get("/api/v1/appraisals/999999", headers=h["staff"]).status_code == 404
    # the month's weeks are frozen with the record
    r = client.post("/api/v1/logs", headers=h["staff"], json={"week": month_weeks[0], "entries": []})
    assert r.status_code == 409 and "archived" in r.get_json()["error"]["message"]
    assert weeks.person_weeks(session, subject, month_weeks, common.local_today())[0].entries == 1


def test_other_processes_reusing_these_forms_keep_the_plain_behaviour(session) -> None:
    from app.services.actor import SYSTEM
    from app.services.appraisal import flow
    from app.services.errors import Invalid

    task = HumanTask(process_key="office_extra", form_key="appraisal_score")
    data = flow.handle_score(session, SYSTEM, task, {"score": 80, "score_comment": "好"})
    assert data["score"] == 80 and data["score_comment"] == "好"
    with pytest.raises(Invalid) as exc:
        flow.handle_score(session, SYSTEM, task, {"score_comment": "没有分数"})
    assert "score" in exc.value.fields
    ack = HumanTask(process_key="office_extra", form_key="feedback_ack")
    assert (
        flow.handle_feedback(session, SYSTEM, ack, {"decision": "appeal", "appeal_reason": "x"})["decision"] == "appeal"
    )
    assert flow.feedback_context(session, ack) == {} and flow.score_context(session, task) == {}
    assert session.scalars(select(AppraisalRecord)).all() == []
