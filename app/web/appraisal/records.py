"""Appraisal records: a person's results per period, and one record with scores, review, feedback, appeals."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import current_session, db
from app.models import HumanTask, TaskStatus
from app.models.base import utcnow
from app.services.appraisal import common, records
from app.web.appraisal import bp
from app.workflow import runtime


@bp.get("/records")
@login_required
def records_index() -> Any:
    actor = current_user.actor
    person_id = request.args.get("person_id", type=int) or actor.person_id
    year = request.args.get("year", type=int)
    person = common.person_of(current_session(), person_id)
    found = records.list_records(current_session(), actor, person.id, year)
    years = sorted(
        {int(r.period[:4]) for r in records.list_records(current_session(), actor, person.id, None)}, reverse=True
    )
    return render_template(
        "appraisal/records.html",
        person=person,
        records=found,
        year=year,
        years=years,
        appeal_last_day=common.last_local_day,
    )


@bp.get("/records/<int:record_id>")
@login_required
def record(record_id: int) -> Any:
    actor = current_user.actor
    found = records.get_record(current_session(), actor, record_id)
    waiting = db.session.scalars(
        select(HumanTask)
        .where(HumanTask.instance_id == found.instance_id, HumanTask.status == TaskStatus.ready)
        .order_by(HumanTask.id)
    ).all()
    mine = [t for t in waiting if runtime.is_candidate(current_session(), t, actor.person_id)]
    return render_template(
        "appraisal/record.html",
        record=found,
        formula=records.formula(found),
        waiting=waiting,
        mine=mine,
        now=utcnow(),
        # the deadline is stored as the instant the window closes; people are shown its last day
        appeal_last_day=common.last_local_day,
    )
