"""Publication pages (每季公布, 绩效公开) and bonus distribution (奖金分配).

``pages.py``: a unit's publications, preparing one, a publication with its rows and objections.
``distributions.py``: a unit's bonus distributions, computing, the formula, the payroll export.
This module holds the blueprint, the forms and what both share.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.extensions import current_session
from app.models import HumanTask, OrgKind, OrgUnit, Role, TaskStatus
from app.services.actor import Actor
from app.services.appraisal import publication
from app.services.errors import Invalid
from app.web.localise import localise
from app.workflow import runtime

bp = Blueprint("publication", __name__, url_prefix="/publication")

GRADES = {
    "good": _l("Good"),
    "fairly_good": _l("Fairly good"),
    "average": _l("Average"),
    "poor": _l("Poor"),
}
PUBLICATION_STATUS = {
    "draft": (_l("Awaiting approval"), "warning"),
    "published": (_l("Published"), "success"),
    "superseded": (_l("Superseded by a correction"), "secondary"),
    "withdrawn": (_l("Withdrawn"), "secondary"),
}
DISTRIBUTION_STATUS = {
    "draft": (_l("Draft"), "info"),
    "submitted": (_l("Awaiting confirmation"), "warning"),
    "confirmed": (_l("Confirmed"), "success"),
    "withdrawn": (_l("Withdrawn"), "secondary"),
}
METHODS = {
    "score": _l("Coefficient = total score"),
    "score_x_grade": _l("Coefficient = total score × coefficient of the grade"),
}


class PrepareForm(FlaskForm):
    period = StringField(_l("Quarter"), validators=[InputRequired()], description=_l("For example 2026-Q4."))
    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[Length(max=2000)],
        description=_l("Only for a quarter already published: what is corrected and why."),
    )


class ObjectionForm(FlaskForm):
    text = TextAreaField(_l("Your objection"), validators=[InputRequired(), Length(max=2000)])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[InputRequired(), Length(max=2000)])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for withdrawing"),
        validators=[InputRequired(), Length(max=2000)],
        description=_l("Kept in the history of the approval."),
    )


class DistributionForm(FlaskForm):
    period = StringField(_l("Quarter"), validators=[InputRequired()], description=_l("For example 2026-Q4."))
    pool = StringField(_l("Bonus pool (yuan)"), validators=[InputRequired()], description=_l("For example 10000.00."))
    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[Length(max=2000)],
        description=_l("Only when the quarter's distribution is already confirmed."),
    )


class PoolForm(FlaskForm):
    pool = StringField(_l("Bonus pool (yuan)"), validators=[InputRequired()])


def apply_errors(form: FlaskForm, exc: Invalid) -> None:
    """Show a service's per-field messages on the form's fields."""
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*list(field.errors), localise(message)]


def chosen_unit(actor: Actor) -> int | None:
    """The unit a page is about: ``?unit_id=`` (the office, or a unit one manages), else one's own."""
    wanted = request.args.get("unit_id", type=int)
    if wanted is not None:
        return wanted
    managed = sorted(actor.unit_ids_for(Role.unit_admin, Role.unit_principal))
    return managed[0] if managed else actor.unit_id


def units() -> list[OrgUnit]:
    return list(current_session().scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.code)))


def may_prepare(actor: Actor, unit_id: int) -> bool:
    """Whether the actor prepares (and may withdraw) the unit's publications and distributions."""
    return actor.is_district_wide or unit_id in actor.unit_ids_for(*publication.PREPARERS)


def my_task(actor: Actor, instance_id: int | None) -> HumanTask | None:
    """The waiting step of a process that is the actor's to do, if any."""
    if instance_id is None:
        return None
    waiting = current_session().scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.ready)
    )
    return next((t for t in waiting if runtime.is_candidate(current_session(), t, actor.person_id)), None)


@bp.context_processor
def _labels() -> dict[str, Any]:
    def grade_label(key: str | None) -> str:
        return str(GRADES.get(key or "", key or "—"))

    def status_of(table: dict[str, tuple[Any, str]], key: object) -> tuple[str, str]:
        value = str(getattr(key, "value", key))
        label, colour = table.get(value, (value, "secondary"))
        return str(label), colour

    return {
        "grade_label": grade_label,
        "publication_status": lambda k: status_of(PUBLICATION_STATUS, k),
        "distribution_status": lambda k: status_of(DISTRIBUTION_STATUS, k),
        "method_label": lambda k: str(METHODS.get(k, k)),
        "objections_until": publication.last_day,
    }


for _module in ("pages", "distributions"):  # their routes register on ``bp`` when imported
    import_module(f"app.web.publication.{_module}")
