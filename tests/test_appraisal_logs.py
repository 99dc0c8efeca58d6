"""Weekly logs (个人周记实): writing and replacing a week, links to indicators, evidence, who may read and
comment, on-time / late / missing weeks and the section overview, through the services and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.models import (
    Category,
    IndicatorItem,
    IndicatorSet,
    IndicatorSetVersion,
    LogEntry,
    OrgUnit,
    SetStatus,
    UserAccount,
    VersionStatus,
    WeeklyLog,
)
from app.services import evidence
from app.services.actor import Actor, actor_for_user
from app.services.appraisal import common, logs, weeks
from app.services.errors import Forbidden, Invalid

MAX = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run"


# --- helpers shared by the appraisal tests --------------------------------------------------------


def person_id(session, username: str) -> int:
    return session.scalar(select(UserAccount.person_id).where(UserAccount.username == username))


def actor(session, username: str) -> Actor:
    return actor_for_user(session, session.scalar(select(UserAccount).where(UserAccount.username == username)))


def effective_set(session, username: str, year: int, rows: list[tuple[str, str, int]] | None = None) -> list[int]:
    """Give a person an effective indicator set for ``year``; returns the item ids in order."""
    rows = rows or [("key_work", "预算编制", 50), ("duties", "报销审核", 30), ("common", "学习教育", 20)]
    version = IndicatorSetVersion(number=1, status=VersionStatus.effective, effective_at=datetime.now(UTC))
    version.items = [
        IndicatorItem(position=n, category=Category(c), name=name, standard=f"{name}的标准", weight=Decimal(w))
        for n, (c, name, w) in enumerate(rows)
    ]
    indicator_set = IndicatorSet(person_id=person_id(session, username), year=year, status=SetStatus.effective)
    indicator_set.versions.append(version)
    session.add(indicator_set)
    session.flush()
    indicator_set.effective_version_id = version.id
    session.commit()
    return [i.id for i in version.items]


def this_week() -> str:
    return common.week_of(common.local_today())


def weeks_ago(n: int) -> str:
    return common.week_of(common.local_today() - timedelta(days=7 * n))


def monday(week: str) -> datetime:
    """Ten in the morning (district time) on the Monday of ``week``, as UTC."""
    day = common.monday_of(week)
    return datetime(day.year, day.month, day.day, 10, tzinfo=common.policy().tz).astimezone(UTC)


def tokens(api_token) -> dict[str, dict[str, str]]:
    return {
        "staff": api_token("staff"),  # ljjd103, section ljjd-1
        "head": api_token("section_head"),  # ljjd101, head of ljjd-1
        "leader": api_token("unit_leader"),  # ljjd_leader1, in charge of ljjd-1 and ljjd-3
        "other_head": api_token("section_head", index=1),  # head of ljjd-2
        "colleague": api_token("staff", index=1),  # ljjd104, same section
    }


# --- writing a week -----------------------------------------------------------------------------------


def test_a_week_is_written_replaced_and_linked_to_indicators(session) -> None:
    items = effective_set(session, "ljjd103", int(weeks_ago(1)[:4]))
    me = actor(session, "ljjd103")
    week = weeks_ago(1)
    log = logs.save_week(
        session,
        me,
        week,
        [
            {"item_id": items[0], "content": "完成预算初稿", "progress": 40},
            {"item_id": None, "content": "参加防汛值班"},
        ],
    )
    assert [(e.indicator_item_id, e.content, e.progress) for e in log.entries] == [
        (items[0], "完成预算初稿", 40),
        (None, "参加防汛值班", None),
    ]
    first_written, kept_id = log.first_written_at, log.entries[0].id
    assert first_written is not None
    # replace: keep the first entry (by id, updated), drop the second, add a new one
    log = logs.save_week(
        session,
        me,
        week,
        [
            {"id": kept_id, "item_id": items[0], "content": "完成预算初稿并报审", "progress": 60},
            {"item_id": items[1], "content": "审核报销 23 笔", "progress": 50},
        ],
    )
    assert log.entries[0].id == kept_id
    assert [e.content for e in log.entries] == ["完成预算初稿并报审", "审核报销 23 笔"]
    assert log.first_written_at == first_written  # lateness is decided by the first entry
    assert session.scalar(select(LogEntry).where(LogEntry.content == "参加防汛值班")) is None
    assert [i.id for i in logs.linkable_items(session, me.person_id, week)] == items


def test_bad_entries_are_refused_with_the_row_and_field(session) -> None:
    items = effective_set(session, "ljjd103", int(weeks_ago(1)[:4]))
    me = actor(session, "ljjd103")
    other_items = effective_set(session, "ljjd104", int(weeks_ago(1)[:4]))
    with pytest.raises(Invalid) as exc:
        logs.save_week(
            session,
            me,
            weeks_ago(1),
            [
                {"item_id": items[0], "content": "  "},
                {"item_id": other_items[0], "content": "别人的指标"},
                {"content": "进度越界", "progress": 120},
                {"id": 999999, "content": "不属于本周的条目"},
            ],
        )
    assert set(exc.value.fields) == {
        "entries[0].content",
        "entries[1].item_id",
        "entries[2].progress",
        "entries[3].id",
    }
    with pytest.raises(Invalid):
        logs.save_week(session, me, "2026-W99", [])
    future = common.week_of(common.local_today() + timedelta(days=14))
    with pytest.raises(Invalid, match="has not started yet"):
        logs.save_week(session, me, future, [{"content": "预写"}])
    with pytest.raises(Invalid, match="At most 30 entries"):
        logs.save_week(session, me, weeks_ago(1), [{"content": f"第{i}条"} for i in range(31)])


def test_evidence_is_checked_by_content_and_kept_outside_the_web_root(session, tmp_path) -> None:
    me = actor(session, "ljjd103")
    log = logs.save_week(session, me, weeks_ago(1), [{"content": "整理台账"}])
    entry_id = log.entries[0].id
    row = logs.add_evidence(session, me, entry_id, evidence.Upload("台账.pdf", PDF), store=tmp_path, max_bytes=MAX)
    assert row.display_name == "台账.pdf" and row.mimetype == "application/pdf" and row.size == len(PDF)
    assert row.stored_name != "台账.pdf" and (tmp_path / row.stored_name).read_bytes() == PDF
    with pytest.raises(Invalid) as exc:
        logs.add_evidence(session, me, entry_id, evidence.Upload("报告.pdf", EXE), store=tmp_path, max_bytes=MAX)
    assert "evidence" in exc.value.fields
    with pytest.raises(Invalid, match="larger than"):
        logs.add_evidence(session, me, entry_id, evidence.Upload("大.pdf", PDF), store=tmp_path, max_bytes=16)
    with pytest.raises(Forbidden):
        logs.add_evidence(
            session, actor(session, "ljjd101"), entry_id, evidence.Upload("a.pdf", PDF), store=tmp_path, max_bytes=MAX
        )
    # readers of the log can open it, others cannot
    path, name, _mimetype = logs.evidence_file(session, actor(session, "ljjd101"), row.id, tmp_path)
    assert path.read_bytes() == PDF and name == "台账.pdf"
    with pytest.raises(Forbidden):
        logs.evidence_file(session, actor(session, "ljjd104"), row.id, tmp_path)
    # saving the week again with the entry's id keeps its evidence
    log = logs.save_week(session, me, weeks_ago(1), [{"id": entry_id, "content": "整理台账（续）"}])
    assert [e.display_name for e in log.entries[0].evidence] == ["台账.pdf"]
    logs.remove_evidence(session, me, row.id)
    assert log.entries[0].evidence == []


def test_leaders_of_the_section_read_and_comment_others_cannot(session) -> None:
    week = weeks_ago(1)
    logs.save_week(session, actor(session, "ljjd103"), week, [{"content": "走访企业 5 家"}])
    subject = person_id(session, "ljjd103")
    for reader in ("ljjd101", "ljjd_leader1", "ljjd_principal", "ljjd102"):  # head, leader, principal, unit admin
        _person, log = logs.read_week(session, actor(session, reader), subject, week)
        assert log is not None and log.entries[0].content == "走访企业 5 家"
    for outsider in ("ljjd201", "ljjd104", "lcz101"):  # another section's head, a colleague, another unit's head
        with pytest.raises(Forbidden):
            logs.read_week(session, actor(session, outsider), subject, week)
    comment = logs.add_comment(session, actor(session, "ljjd101"), subject, week, "请补充走访记录")
    assert comment.text == "请补充走访记录"
    logs.add_comment(session, actor(session, "ljjd_leader1"), subject, week, "同意")
    for not_a_leader in ("ljjd102", "ljjd201", "ljjd103"):
        with pytest.raises(Forbidden):
            logs.add_comment(session, actor(session, not_a_leader), subject, week, "x")
    with pytest.raises(Invalid):
        logs.add_comment(session, actor(session, "ljjd101"), subject, week, "   ")


# --- late and missing weeks -------------------------------------------------------------------------


def test_a_week_is_late_after_the_following_monday_and_missing_when_never_written(session) -> None:
    assert common.week_deadline("2026-W45") == date(2026, 11, 9)
    tz_late = datetime(2026, 11, 10, 0, 30, tzinfo=common.policy().tz)  # Tuesday 00:30 in Shanghai
    assert weeks.week_state("2026-W45", 1, tz_late.astimezone(UTC), date(2026, 11, 20)).status == "late"
    on_monday = datetime(2026, 11, 9, 23, 30, tzinfo=common.policy().tz)
    assert weeks.week_state("2026-W45", 1, on_monday.astimezone(UTC), date(2026, 11, 20)).status == "on_time"
    assert weeks.week_state("2026-W45", 0, None, date(2026, 11, 9)).status == "pending"
    assert weeks.week_state("2026-W45", 0, None, date(2026, 11, 10)).status == "missing"

    me = actor(session, "ljjd103")
    on_time, late, missing = weeks_ago(4), weeks_ago(3), weeks_ago(2)
    logs.save_week(session, me, on_time, [{"content": "按时"}], now=monday(on_time) + timedelta(days=4))
    logs.save_week(session, me, late, [{"content": "补记"}], now=monday(late) + timedelta(days=9))
    found = weeks.person_weeks(session, me.person_id, [on_time, late, missing, this_week()], common.local_today())
    assert [s.status for s in found] == ["on_time", "late", "missing", "pending"]


def test_the_section_head_sees_people_by_week_with_late_and_missing_marked(client, session, api_token) -> None:
    h = tokens(api_token)
    section_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "ljjd-1"))
    late = weeks_ago(1)
    logs.save_week(session, actor(session, "ljjd103"), late, [{"content": "补记"}], now=monday(late) + timedelta(8))
    logs.save_week(session, actor(session, "ljjd104"), late, [{"content": "按时"}], now=monday(late) + timedelta(2))
    session.commit()
    r = client.get(f"/api/v1/logs/section/{section_id}", headers=h["head"], query_string={"weeks": 3})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["weeks"] == [weeks_ago(2), weeks_ago(1), this_week()]
    by_person = {p["id"]: {w["week"]: w["status"] for w in p["weeks"]} for p in body["people"]}
    assert by_person[person_id(session, "ljjd103")] == {weeks_ago(2): "missing", late: "late", this_week(): "pending"}
    assert by_person[person_id(session, "ljjd104")][late] == "on_time"
    assert body["counts"]["late"] == 1 and body["counts"]["missing"] >= 5
    assert client.get(f"/api/v1/logs/section/{section_id}", headers=h["leader"]).status_code == 200
    assert client.get(f"/api/v1/logs/section/{section_id}", headers=h["other_head"]).status_code == 403
    assert client.get(f"/api/v1/logs/section/{section_id}", headers=h["staff"]).status_code == 403


# --- the API ------------------------------------------------------------------------------------------


def test_logs_api_reads_and_replaces_my_week_and_guards_other_peoples(client, session, api_token) -> None:
    h = tokens(api_token)
    week = weeks_ago(1)
    items = effective_set(session, "ljjd103", int(week[:4]))
    r = client.get("/api/v1/logs", headers=h["staff"], query_string={"week": week})
    assert r.status_code == 200
    empty = r.get_json()
    assert empty["entries"] == [] and empty["status"] in {"missing", "pending"}
    assert [i["id"] for i in empty["items"]] == items
    body: dict[str, Any] = {
        "week": week,
        "entries": [{"item_id": items[0], "content": "预算初稿", "progress": 30}, {"content": "临时接待"}],
    }
    r = client.post("/api/v1/logs", headers=h["staff"], json=body)
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert [(e["item_name"], e["content"]) for e in saved["entries"]] == [("预算编制", "预算初稿"), (None, "临时接待")]
    assert saved["status"] in {"on_time", "late"}
    kept = saved["entries"][0]["id"]
    r = client.post(
        "/api/v1/logs",
        headers=h["staff"],
        query_string={"week": week},
        json={"entries": [{"id": kept, "content": "改"}]},
    )
    assert [e["id"] for e in r.get_json()["entries"]] == [kept]
    bad = client.post("/api/v1/logs", headers=h["staff"], json={"week": week, "entries": [{"content": ""}]})
    assert bad.status_code == 422 and "entries[0].content" in bad.get_json()["error"]["fields"]
    assert client.post("/api/v1/logs", headers=h["staff"], json={"week": "W47", "entries": []}).status_code == 422
    # leaders of the section read it by person_id; another section's head and a colleague cannot
    subject = person_id(session, "ljjd103")
    q = {"week": week, "person_id": subject}
    got = client.get("/api/v1/logs", headers=h["head"], query_string=q).get_json()
    assert [e["content"] for e in got["entries"]] == ["改"]
    assert client.get("/api/v1/logs", headers=h["leader"], query_string=q).status_code == 200
    assert client.get("/api/v1/logs", headers=h["other_head"], query_string=q).status_code == 403
    assert client.get("/api/v1/logs", headers=h["colleague"], query_string=q).status_code == 403
    assert session.scalar(select(WeeklyLog).where(WeeklyLog.person_id == subject, WeeklyLog.week == week))
