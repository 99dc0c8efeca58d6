"""The evaluation pages: rounds (open, close, completion, reminders), the rating sheet, my result."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Optional, Regexp

from app.extensions import current_session, db
from app.models import HumanTask, Role, TaskStatus
from app.models.base import utcnow
from app.services import org
from app.services.appraisal import evaluation, evaluation_flow, evaluation_views
from app.services.appraisal.scheme import DIMENSIONS, scheme_for
from app.services.errors import Conflict, Forbidden, Invalid
from app.web.evaluation import bp
from app.web.localise import localise
from app.workflow import runtime, views
from forms import FORMS

PAGE = "evaluation.task"


class OpenRoundForm(FlaskForm):
    period = StringField(
        _l("Period"),
        validators=[
            DataRequired(_l("Enter the period, e.g. 2026-Q4 or 2026.")),
            Regexp(r"^\d{4}(-Q[1-4])?$", message=_l("Use a quarter like 2026-Q4 or a year like 2026.")),
        ],
    )
    closes_on = DateField(_l("Ratings close on"), validators=[Optional()])


def _is_manager() -> bool:
    actor = current_user.actor
    return actor.is_district_wide or bool(actor.unit_ids_for(Role.unit_admin))


@bp.get("/")
@login_required
def index() -> Any:
    return redirect(url_for("evaluation.rounds" if _is_manager() else "evaluation.mine"))


@bp.route("/rounds", methods=["GET", "POST"])
@login_required
def rounds() -> Any:
    actor = current_user.actor
    if not _is_manager():
        raise Forbidden(
            _("Only the unit's performance administrator or the performance office manages evaluation rounds.")
        )
    units = org.visible_units(current_session(), actor)
    unit_id = request.args.get("unit_id", type=int) or (
        actor.unit_id if actor.unit_id in {u.id for u in units} else None
    )
    unit_id = unit_id or (units[0].id if units else None)
    if unit_id is None:
        abort(404)
    form = OpenRoundForm()
    status = 200
    if form.validate_on_submit():
        try:
            outcome = evaluation.open_round(
                current_session(),
                actor,
                unit_id,
                form.period.data.strip(),
                form.closes_on.data,
                max_peers=int(current_app.config["EVALUATION_MAX_PEERS"]),
            )
        except Invalid as exc:
            db.session.rollback()
            for name, message in exc.fields.items():
                if name in form:
                    form[name].errors = [localise(message)]
            flash(localise(exc.message), "danger")
            status = 422
        else:
            db.session.commit()
            if outcome.created:
                flash(
                    _(
                        "Round %(period)s opened: %(raters)s raters received a rating task.",
                        period=outcome.round.period,
                        raters=outcome.raters,
                    ),
                    "success",
                )
            else:
                flash(
                    _("The round %(period)s was already open; nothing was created twice.", period=outcome.round.period),
                    "info",
                )
            return redirect(url_for("evaluation.round_page", round_id=outcome.round.id))
    elif request.method == "POST":
        status = 422
    found = evaluation.rounds_for(current_session(), actor, unit_id)
    scheme = scheme_for(current_session(), unit_id, utcnow().year)
    return (
        render_template("evaluation/rounds.html", units=units, unit_id=unit_id, rounds=found, form=form, scheme=scheme),
        status,
    )


@bp.get("/rounds/<int:round_id>")
@login_required
def round_page(round_id: int) -> Any:
    state = evaluation_views.completion(current_session(), current_user.actor, round_id)
    return render_template("evaluation/round.html", state=state)


@bp.post("/rounds/<int:round_id>/remind")
@login_required
def remind(round_id: int) -> Any:
    try:
        sent = evaluation_views.remind_pending(
            current_session(), current_user.actor, round_id, link=url_for("inbox.tasks")
        )
    except Conflict as exc:
        flash(localise(exc.message), "warning")
    else:
        db.session.commit()
        flash(_("%(count)s raters were reminded (at most once a day each).", count=sent), "success")
    return redirect(url_for("evaluation.round_page", round_id=round_id))


@bp.post("/rounds/<int:round_id>/close")
@login_required
def close(round_id: int) -> Any:
    try:
        row = evaluation.close_round(current_session(), current_user.actor, round_id)
    except Conflict as exc:
        flash(localise(exc.message), "warning")
    else:
        db.session.commit()
        flash(_("Round %(period)s closed; its results are final.", period=row.period), "success")
    return redirect(url_for("evaluation.round_page", round_id=round_id))


# --- the rating sheet (task page) -----------------------------------------------------------------------


def _can_act(task: HumanTask) -> bool:
    actor = current_user.actor
    return task.status is TaskStatus.ready and runtime.is_candidate(current_session(), task, actor.person_id)


def _payload(sheet: evaluation_flow.Sheet) -> dict[str, Any]:
    """The API's payload from the table's fields ``score-<ratee>-<dim>`` and ``comment-<ratee>-<dim>``."""
    form = request.form
    return {
        "ratings": [
            {
                "ratee_id": row.ratee_id,
                "scores": {d: form.get(f"score-{row.ratee_id}-{d}", "") for d in DIMENSIONS},
                "comments": {d: form.get(f"comment-{row.ratee_id}-{d}", "") for d in DIMENSIONS},
            }
            for row in sheet.rows
        ]
    }


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    actor = current_user.actor
    current = runtime.get_task_for(current_session(), actor, task_id)
    if FORMS[current.form_key].page != PAGE:
        return redirect(url_for("inbox.task", task_id=task_id))
    if current.subject_id != actor.person_id:
        # overseers may open the task, but a sheet is only ever shown to its rater
        return render_template("evaluation/task.html", task=current, sheet=None, now=utcnow(), can_act=False)
    sheet = evaluation_flow.rater_sheet(current_session(), actor, actor.person_id, current.period)
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not _can_act(current):
            flash(_("This task is not waiting for you."), "warning")
            return redirect(url_for(PAGE, task_id=task_id))
        payload = _payload(sheet)
        submit = request.form.get("action") == "submit"
        try:
            if submit:
                runtime.complete_task(current_session(), actor, current.id, payload)
            else:
                evaluation_flow.save_ratings(current_session(), actor, current.period, payload, submit=False)
        except Invalid as exc:
            db.session.rollback()
            errors = {k: localise(v) for k, v in exc.fields.items()}
            flash(localise(exc.message), "danger")
            typed = dict(request.form)
            current = runtime.get_task_for(current_session(), actor, task_id)
            sheet = evaluation_flow.rater_sheet(current_session(), actor, actor.person_id, current.period)
            status = 422
        except (Conflict, Forbidden) as exc:
            db.session.rollback()
            flash(localise(exc.message), "warning")
            return redirect(url_for(PAGE, task_id=task_id))
        else:
            db.session.commit()
            if submit:
                flash(_("Your ratings for %(period)s were submitted. Thank you.", period=current.period), "success")
                return redirect(url_for("inbox.tasks"))
            flash(_("Draft saved; nobody else sees it. Submit when every score is filled in."), "success")
            return redirect(url_for(PAGE, task_id=task_id))
    return (
        render_template(
            "evaluation/task.html",
            task=current,
            sheet=sheet,
            typed=typed,
            errors=errors,
            can_act=_can_act(current) and sheet.editable,
            documentation=views.step_documentation(current.instance, current.step_id),
            dimensions=DIMENSIONS,
            now=utcnow(),
        ),
        status,
    )


# --- my result -------------------------------------------------------------------------------------------


@bp.get("/mine")
@login_required
def mine() -> Any:
    found = evaluation_views.my_rounds(current_session(), current_user.actor)
    return render_template("evaluation/mine.html", rounds=found)


@bp.get("/mine/<period>")
@login_required
def my_result(period: str) -> Any:
    try:
        view = evaluation_views.my_result(current_session(), current_user.actor, period)
    except Conflict as exc:
        flash(localise(exc.message), "info")
        return redirect(url_for("evaluation.mine"))
    return render_template("evaluation/result.html", view=view, dimensions=DIMENSIONS)
