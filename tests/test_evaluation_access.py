"""Evaluation anonymity and pages: the ratee sees aggregates only, the admin sees completion only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.models import EvaluationAssignment, HumanTask, OrgUnit, Person
from app.services.actor import SYSTEM
from app.services.appraisal import evaluation, evaluation_flow, evaluation_views
from app.services.appraisal.scheme import DIMENSIONS
from app.services.errors import Conflict, Forbidden
from tests.conftest import demo_account, login
from tests.evaluation_support import actor_of, rate_all, unit_by_code

D = Decimal


def _open(session: Any) -> Any:
    return evaluation.open_round(session, SYSTEM, unit_by_code(session, "ljjd").id, "2026-Q3").round


def _raters_of(session: Any, round_id: int, ratee: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {"leader": [], "peer": [], "self": []}
    for r, g in session.execute(
        select(EvaluationAssignment.rater_id, EvaluationAssignment.group)
        .where(EvaluationAssignment.round_id == round_id, EvaluationAssignment.ratee_id == ratee)
        .order_by(EvaluationAssignment.rater_id)
    ):
        out[str(g)].append(r)
    return out


def _staff(session: Any) -> Person:
    return demo_account(session, "staff").person


def test_nobody_but_the_rater_reads_a_sheet(session: Any) -> None:
    row = _open(session)
    me = _staff(session)
    head = _raters_of(session, row.id, me.id)["leader"][0]
    rate_all(session, head, "2026-Q3", {me.id: {d: 61 for d in DIMENSIONS}})
    for who in (actor_of(session, "unit_admin"), actor_of(session, "perf_office"), actor_of(session, person_id=me.id)):
        with pytest.raises(Forbidden):
            evaluation_flow.rater_sheet(session, who, head, "2026-Q3")
    own = evaluation_flow.rater_sheet(session, actor_of(session, person_id=head), head, "2026-Q3")
    assert next(r for r in own.rows if r.ratee_id == me.id).scores["de"] == D(61)


def test_the_result_is_hidden_while_the_round_is_open(session: Any) -> None:
    row = _open(session)
    me = _staff(session)
    with pytest.raises(Conflict):
        evaluation_views.my_result(session, actor_of(session, person_id=me.id), "2026-Q3")
    evaluation.close_round(session, SYSTEM, row.id)
    assert evaluation_views.my_result(session, actor_of(session, person_id=me.id), "2026-Q3").result is None


def test_groups_under_three_raters_are_merged_and_says_so(session: Any) -> None:
    row = _open(session)
    me = _staff(session)
    raters = _raters_of(session, row.id, me.id)
    assert len(raters["leader"]) == 3 and len(raters["peer"]) >= 2
    for rater in raters["leader"]:
        rate_all(session, rater, "2026-Q3", {me.id: {d: 90 for d in DIMENSIONS}})
    for rater in raters["peer"][:2]:  # two colleagues only: fewer than three
        rate_all(session, rater, "2026-Q3", {me.id: {d: 70 for d in DIMENSIONS}})
    rate_all(session, me.id, "2026-Q3", {me.id: {d: 80 for d in DIMENSIONS}})
    evaluation.close_round(session, SYSTEM, row.id)
    view = evaluation_views.my_result(session, actor_of(session, person_id=me.id), "2026-Q3")
    assert view.merged and not view.details_withheld
    assert [(g.key, g.raters, g.score) for g in view.groups] == [("self", 1, D("80.00")), ("others", 5, None)]
    assert view.result is not None and view.result.score == D("82.00")  # 90×0.5 + 70×0.3 + 80×0.2


def test_groups_of_three_or_more_are_shown_separately_with_anonymous_comments(session: Any) -> None:
    row = _open(session)
    me = _staff(session)
    raters = _raters_of(session, row.id, me.id)
    for rater in raters["leader"] + raters["peer"]:
        actor = actor_of(session, person_id=rater)
        sheet = evaluation_flow.rater_sheet(session, actor, rater, "2026-Q3")
        payload = {
            "ratings": [
                {
                    "ratee_id": r.ratee_id,
                    "scores": dict.fromkeys(DIMENSIONS, 85),
                    "comments": {"de": f"评语{rater}"} if r.ratee_id == me.id else {},
                }
                for r in sheet.rows
            ]
        }
        evaluation_flow.save_ratings(session, actor, "2026-Q3", payload, submit=True)
    evaluation.close_round(session, SYSTEM, row.id)
    view = evaluation_views.my_result(session, actor_of(session, person_id=me.id), "2026-Q3")
    assert not view.merged
    assert {g.key for g in view.groups} == {"leader", "peer"}
    assert view.comments == sorted(("de", f"评语{r}") for r in raters["leader"] + raters["peer"])


def test_a_single_other_rater_leaves_only_the_score(session: Any) -> None:
    row = _open(session)
    me = _staff(session)
    rate_all(session, _raters_of(session, row.id, me.id)["leader"][0], "2026-Q3", {me.id: {d: 50 for d in DIMENSIONS}})
    evaluation.close_round(session, SYSTEM, row.id)
    view = evaluation_views.my_result(session, actor_of(session, person_id=me.id), "2026-Q3")
    assert view.details_withheld and view.groups == [] and view.comments == []
    assert view.result is not None and view.result.score == D("50.00")


def test_a_single_other_raters_dimensions_reach_neither_the_view_nor_the_api(
    session: Any, client: Any, api_token: Any
) -> None:
    row = _open(session)
    me = _staff(session)
    head = _raters_of(session, row.id, me.id)["leader"][0]
    lone = dict(zip(DIMENSIONS, (41, 52, 63, 74, 85), strict=True))  # the head's ratings, each one recognisable
    rate_all(session, head, "2026-Q3", {me.id: lone})
    evaluation.close_round(session, SYSTEM, row.id)
    view = evaluation_views.my_result(session, actor_of(session, person_id=me.id), "2026-Q3")
    assert view.details_withheld and view.result is not None
    assert set(view.result.by_dimension.values()) == {None} and view.result.by_group["leader"] is None
    session.commit()
    body = client.get("/api/v1/evaluation/results/2026-Q3", headers=api_token("staff")).get_json()
    assert body["details_withheld"] and set(body["by_dimension"].values()) == {None}
    assert not {f"{v}.00" for v in lone.values()} & set(body["by_dimension"].values())


def test_completion_names_who_has_not_submitted_without_scores(session: Any) -> None:
    row = _open(session)
    me = _staff(session)
    rate_all(session, me.id, "2026-Q3", {})
    state = evaluation_views.completion(session, actor_of(session, "unit_admin"), row.id)
    mine = next(r for r in state.raters if r.person_id == me.id)
    assert mine.done and mine.submitted_at is not None
    assert me.id not in {r.person_id for r in state.pending}
    assert state.done == 1 and len(state.pending) == len(state.raters) - 1
    assert not hasattr(mine, "scores")
    with pytest.raises(Forbidden):
        evaluation_views.completion(session, actor_of(session, person_id=me.id), row.id)
    with pytest.raises(Forbidden):
        evaluation_views.completion(session, actor_of(session, "unit_admin", "lcz"), row.id)
    sent = evaluation_views.remind_pending(session, actor_of(session, "unit_admin"), row.id)
    assert sent == len(state.pending)
    assert evaluation_views.remind_pending(session, actor_of(session, "unit_admin"), row.id) == 0  # once a day


def test_task_api_shows_ratees_but_no_scores_to_an_overseer(session: Any, client: Any, api_token: Any) -> None:
    row = _open(session)
    me = _staff(session)
    rate_all(session, me.id, "2026-Q3", {me.id: dict.fromkeys(DIMENSIONS, "63.3")})
    session.commit()
    task = session.scalar(select(HumanTask).where(HumanTask.subject_id == me.id, HumanTask.period == "2026-Q3"))
    body = client.get(f"/api/v1/tasks/{task.id}", headers=api_token("unit_admin")).get_json()
    assert body["data"]["evaluation"]["ratees"]
    assert "63.3" not in str(body)
    assert all(set(r) == {"ratee_id", "name", "group", "round_id"} for r in body["data"]["evaluation"]["ratees"])
    r = client.get("/api/v1/evaluation/ratings/2026-Q3", headers=api_token("unit_admin"))
    assert "63.3" not in r.get_data(as_text=True)
    assert row.id


def test_rating_page_saves_a_draft_and_submits_with_named_errors(session: Any, client: Any) -> None:
    _open(session)
    account = demo_account(session, "staff")
    me = account.person
    session.commit()
    task = session.scalar(select(HumanTask).where(HumanTask.subject_id == me.id, HumanTask.period == "2026-Q3"))
    login(client, account.username)
    page = client.get(f"/evaluation/tasks/{task.id}")
    assert page.status_code == 200 and b'id="rating-sheet"' in page.data
    sheet = evaluation_flow.rater_sheet(session, actor_of(session, person_id=me.id), me.id, "2026-Q3")
    data = {f"score-{r.ratee_id}-{d}": "88" for r in sheet.rows for d in DIMENSIONS}
    data[f"score-{me.id}-lian"] = ""
    assert client.post(f"/evaluation/tasks/{task.id}", data={**data, "action": "save"}).status_code == 302
    refused = client.post(f"/evaluation/tasks/{task.id}", data={**data, "action": "submit"})
    assert refused.status_code == 422
    assert f'data-error="ratings.{me.id}.lian"'.encode() in refused.data
    data[f"score-{me.id}-lian"] = "90.5"
    done = client.post(f"/evaluation/tasks/{task.id}", data={**data, "action": "submit"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(HumanTask, task.id).status.value == "completed"


def test_round_pages_for_the_admin_and_the_api(session: Any, client: Any, login_as: Any, api_token: Any) -> None:
    unit = unit_by_code(session, "ljjd")
    login_as("unit_admin")
    opened = client.post("/evaluation/rounds", data={"period": "2026-Q3", "closes_on": "2026-10-20"})
    assert opened.status_code == 302
    row = session.scalar(select(evaluation.EvaluationRound).where(evaluation.EvaluationRound.unit_id == unit.id))
    page = client.get(f"/evaluation/rounds/{row.id}")
    assert page.status_code == 200 and b'id="completion"' in page.data and b'id="remind"' in page.data
    bad = client.post("/evaluation/rounds", data={"period": "2026"})
    assert bad.status_code == 422
    headers = api_token("unit_admin")
    again = client.post("/api/v1/evaluation/rounds", json={"period": "2026-Q3"}, headers=headers)
    assert again.status_code == 200 and again.get_json()["created"] is False
    completion = client.get(f"/api/v1/evaluation/rounds/{row.id}/completion", headers=headers).get_json()
    assert completion["raters_done"] == 0 and completion["raters_total"] > 0
    staff = api_token("staff")
    assert client.get(f"/api/v1/evaluation/rounds/{row.id}/completion", headers=staff).status_code == 403
    assert client.get("/api/v1/evaluation/results/2026-Q3", headers=staff).status_code == 409
    assert client.post(f"/api/v1/evaluation/rounds/{row.id}/close", headers=headers).status_code == 200
    result = client.get("/api/v1/evaluation/results/2026-Q3", headers=staff).get_json()
    assert result["score"] is None and result["groups"] == []
    assert session.scalar(select(OrgUnit.id).where(OrgUnit.id == row.unit_id)) == unit.id
