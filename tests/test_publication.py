"""Quarterly publication (每季公布): snapshot, approval through the engine, immutability, revisions,
objection window, visibility by the scheme's publish_scope, access."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AuditEvent, HumanTask, Notification, PublicationRow, PublicationStatus
from app.services.appraisal import objections, publication, publication_views
from app.services.appraisal.scheme import save_scheme
from app.services.errors import Conflict, Forbidden, Invalid
from app.workflow import runtime
from tests.publication_data import PERIOD, actor, add_results, approve, people, ready_task, unit


def published(session, code: str = "ljjd", reason: str | None = None):
    pub = publication.prepare_publication(
        session, actor(session, "unit_admin", code), unit(session, code).id, PERIOD, reason
    )
    approve(session, pub.instance_id, code)
    session.refresh(pub)
    return pub


def test_publishing_needs_confirmed_results_and_says_so(session) -> None:
    admin = actor(session, "unit_admin")
    with pytest.raises(Conflict, match="no results of 2026-Q4"):
        publication.prepare_publication(session, admin, unit(session).id, PERIOD)
    add_results(session, confirmed=False)
    with pytest.raises(Conflict, match=r"not confirmed yet \(\d+ of \d+ still drafts\)"):
        publication.prepare_publication(session, admin, unit(session).id, PERIOD)


def test_a_period_must_be_a_quarter(session) -> None:
    add_results(session)
    with pytest.raises(Invalid) as err:
        publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, "2026-11")
    assert "period" in err.value.fields


def test_staff_and_other_units_cannot_publish(session) -> None:
    add_results(session)
    with pytest.raises(Forbidden):
        publication.prepare_publication(session, actor(session, "staff"), unit(session).id, PERIOD)
    with pytest.raises(Forbidden):
        publication.prepare_publication(session, actor(session, "unit_admin", "lcz"), unit(session).id, PERIOD)
    with pytest.raises(Forbidden):  # the principal approves; the admin prepares
        publication.prepare_publication(session, actor(session, "unit_principal"), unit(session).id, PERIOD)


def test_the_approval_runs_through_the_engine_and_publishes_a_snapshot(session) -> None:
    results = add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    assert pub.status is PublicationStatus.draft
    first = ready_task(session, pub.instance_id)
    assert (first.form_key, first.step_id) == ("publication_submit", "prepare")
    runtime.complete_task(session, actor(session, "unit_admin"), first.id, {"note": "请审批"})
    second = ready_task(session, pub.instance_id)
    assert second.form_key == "publication_approve"
    with pytest.raises(Forbidden):  # the admin cannot approve their own publication
        runtime.complete_task(session, actor(session, "unit_admin"), second.id, {"decision": "approve"})
    runtime.complete_task(session, actor(session, "unit_principal"), second.id, {"decision": "approve"})
    session.refresh(pub)
    assert pub.status is PublicationStatus.published and pub.note == "请审批"
    assert pub.approved_by_id == actor(session, "unit_principal").person_id
    assert len(pub.rows) == len(results)
    best = max(results, key=lambda r: r.total)
    top = pub.rows[0]
    assert (top.person_id, top.total, top.grade, top.position) == (best.person_id, best.total, best.grade, 1)
    assert top.components["formula"] == best.formula and top.components["bonus_points"] == "1.00"
    # the window: 5 days counting the day of publication, closing at local midnight
    assert (
        publication.last_day(pub) == (publication.common.local_date(pub.published_at) + timedelta(days=4)).isoformat()
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "publication.publish"))
    assert event is not None and event.object_id == str(pub.id) and event.details["rows"] == len(results)
    told = session.scalars(select(Notification.recipient_id).where(Notification.link == f"/publication/{pub.id}"))
    assert set(told) == {p.id for p in people(session)}


def test_a_return_sends_it_back_and_the_resubmission_takes_a_fresh_snapshot(session, make_person) -> None:
    results = add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    runtime.complete_task(session, actor(session, "unit_admin"), ready_task(session, pub.instance_id).id, {})
    runtime.complete_task(
        session,
        actor(session, "unit_principal"),
        ready_task(session, pub.instance_id).id,
        {"decision": "return", "comment": "核对第三名"},
    )
    again = ready_task(session, pub.instance_id)
    assert again.step_id == "prepare" and pub.status is PublicationStatus.draft
    assert len(pub.rows) == len(results)
    late = make_person("ljjd-2", name="补录人员")  # a result confirmed after the return is taken in
    template = results[0]
    session.add(
        type(template)(
            **{c: getattr(template, c) for c in ("unit_id", "period", "kind", "total", "computed_grade", "grade")},
            person_id=late.id,
            rule="threshold",
            rule_detail="[]",
            formula="",
            sources="{}",
            status=template.status,
        )
    )
    session.flush()
    runtime.complete_task(session, actor(session, "unit_admin"), again.id, {"note": "已核对"})
    assert len(pub.rows) == len(results) + 1 and late.id in {r.person_id for r in pub.rows}
    assert ready_task(session, pub.instance_id).form_key == "publication_approve"


def test_a_second_publication_waits_for_the_first(session) -> None:
    add_results(session)
    publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    with pytest.raises(Conflict, match="already waiting for approval"):
        publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)


def test_published_rows_cannot_be_changed_through_the_orm(session) -> None:
    add_results(session)
    pub = published(session)
    session.commit()  # in the test: releases a savepoint, so each refused flush rolls back to here
    row = pub.rows[0]
    row.total = Decimal("100.00")
    with pytest.raises(publication.Frozen, match="cannot be changed; publish a correction"):
        session.flush()
    session.rollback()
    pub = session.get(type(pub), pub.id)
    session.delete(pub.rows[-1])
    with pytest.raises(publication.Frozen):
        session.flush()
    session.rollback()
    pub = session.get(type(pub), pub.id)
    pub.period = "2026-Q3"
    with pytest.raises(publication.Frozen):
        session.flush()
    session.rollback()
    pub = session.get(type(pub), pub.id)
    extra = PublicationRow(
        publication=pub,
        person_id=pub.rows[0].person_id,
        position=99,
        person_name="x",
        section_name="x",
        total=Decimal(1),
        grade="poor",
        components={},
    )
    session.add(extra)
    with pytest.raises(publication.Frozen):
        session.flush()


def test_published_rows_cannot_leave_through_the_collection(session) -> None:
    add_results(session)
    pub = published(session)
    session.commit()
    count = len(pub.rows)
    pub.rows.remove(pub.rows[-1])  # delete-orphan: the row loses its parent before the flush
    with pytest.raises(publication.Frozen):
        session.flush()
    session.rollback()
    pub = session.get(type(pub), pub.id)
    pub.rows.clear()
    with pytest.raises(publication.Frozen):
        session.flush()
    session.rollback()
    assert len(session.get(type(pub), pub.id).rows) == count


def test_a_superseded_publication_stays_superseded_even_when_changed_unloaded(session) -> None:
    add_results(session)
    first = published(session)
    published(session, reason="第二名加分项漏计，更正总分")
    session.commit()
    session.expire(first)  # the status is set without having been read
    first.status = PublicationStatus.published
    with pytest.raises(publication.Frozen):
        session.flush()


def test_a_correction_is_a_new_revision_with_a_reason_and_both_stay_visible(session) -> None:
    add_results(session)
    first = published(session)
    admin = actor(session, "unit_admin")
    with pytest.raises(Invalid) as err:
        publication.prepare_publication(session, admin, unit(session).id, PERIOD)
    assert "reason" in err.value.fields
    second = published(session, reason="第二名加分项漏计，更正总分")
    session.refresh(first)
    assert (first.status, second.status) == (PublicationStatus.superseded, PublicationStatus.published)
    assert (second.revision, second.supersedes_id, second.reason) == (1, first.id, "第二名加分项漏计，更正总分")
    assert [p.id for p in publication_views.revisions(session, first)] == [second.id, first.id]
    assert len(first.rows) == len(second.rows)  # the old snapshot is intact
    revise = session.scalar(select(AuditEvent).where(AuditEvent.action == "publication.revise"))
    assert revise is not None and revise.details["supersedes"] == first.id
    staff = actor(session, "staff")
    assert {p.id for p in publication_views.list_publications(session, staff)} == {first.id, second.id}


def test_objections_are_accepted_until_the_window_closes_and_answered_once(session) -> None:
    add_results(session)
    pub = published(session)
    staff = actor(session, "staff")
    own = next(r for r in pub.rows if r.person_id == staff.person_id)
    inside = pub.window_ends_at - timedelta(seconds=1)
    filed = objections.file_objection(session, staff, own.id, "  我的加分项未计入  ", now=inside)
    assert filed.text == "我的加分项未计入" and filed.filed_at == inside
    with pytest.raises(Conflict) as closed:
        objections.file_objection(session, staff, own.id, "再提一次", now=pub.window_ends_at)
    assert f"closed on {publication.last_day(pub)}" in closed.value.message
    other = next(r for r in pub.rows if r.person_id != staff.person_id)
    with pytest.raises(Forbidden):
        objections.file_objection(session, staff, other.id, "别人的", now=inside)
    with pytest.raises(Invalid):
        objections.file_objection(session, staff, own.id, "   ", now=inside)
    with pytest.raises(Forbidden):
        objections.answer_objection(session, staff, filed.id, "自己答复")
    with pytest.raises(Forbidden):
        objections.answer_objection(session, actor(session, "unit_admin", "lcz"), filed.id, "别的单位")
    answered = objections.answer_objection(
        session, actor(session, "unit_admin"), filed.id, "已核实，加分项在下季度计入"
    )
    assert answered.answered_at is not None and answered.answered_by_id == actor(session, "unit_admin").person_id
    with pytest.raises(Conflict):
        objections.answer_objection(session, actor(session, "unit_admin"), filed.id, "再答")
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "publication_objection")))
    assert actions == {"publication.objection", "publication.objection_answer"}


def test_objections_to_a_superseded_publication_are_refused(session) -> None:
    add_results(session)
    first = published(session)
    published(session, reason="更正")
    staff = actor(session, "staff")
    own = next(r for r in first.rows if r.person_id == staff.person_id)
    with pytest.raises(Conflict, match="replaced by a correction"):
        objections.file_objection(session, staff, own.id, "异议", now=first.published_at)


def test_unit_scope_shows_the_list_and_own_scope_only_the_own_row(session) -> None:
    add_results(session)
    pub = published(session)
    staff = actor(session, "staff")
    view = publication_views.get_publication(session, staff, pub.id)
    assert len(view.rows) == len(pub.rows) and view.own is not None and not view.manage
    office = actor(session, "perf_office", "jxb")
    save_scheme(session, office, unit(session).id, 2026, {"publish_scope": "own"})
    own_only = published(session, reason="按本人范围公示")
    view = publication_views.get_publication(session, staff, own_only.id)
    assert [r.person_id for r in view.rows] == [staff.person_id]
    assert publication_views.get_publication(session, actor(session, "unit_principal"), own_only.id).manage


def test_other_units_and_drafts_are_hidden_from_staff(session) -> None:
    add_results(session)
    pub = published(session)
    with pytest.raises(Forbidden):
        publication_views.get_publication(session, actor(session, "staff", "lcz"), pub.id)
    with pytest.raises(Forbidden):
        publication_views.list_publications(session, actor(session, "staff", "lcz"), unit(session).id)
    draft = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD, "更正")
    with pytest.raises(Forbidden):
        publication_views.get_publication(session, actor(session, "staff"), draft.id)
    assert draft.id not in {p.id for p in publication_views.list_publications(session, actor(session, "staff"))}


def test_my_row_is_the_row_in_force(session) -> None:
    add_results(session)
    published(session)
    second = published(session, reason="更正")
    staff = actor(session, "staff")
    row = publication_views.my_row(session, staff, PERIOD)
    assert row is not None and row.publication_id == second.id and row.person_id == staff.person_id
    assert publication_views.my_row(session, staff, "2026-Q3") is None


def test_tasks_of_the_flow_go_to_the_admin_and_the_principal(session) -> None:
    add_results(session)
    pub = publication.prepare_publication(session, actor(session, "unit_admin"), unit(session).id, PERIOD)
    task = session.get(HumanTask, ready_task(session, pub.instance_id).id)
    assert runtime.is_candidate(session, task, actor(session, "unit_admin").person_id)
    assert not runtime.is_candidate(session, task, actor(session, "staff").person_id)
