"""A unit's publications, preparing one (or a correction), one publication with its rows and objections."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session, db
from app.models import OrgUnit, PublicationObjection, PublicationRow, PublicationStatus, Role
from app.models.base import utcnow
from app.services.appraisal import objections, publication, publication_views, withdrawal
from app.services.errors import Conflict, Invalid
from app.web.localise import localise
from app.web.publication import (
    AnswerForm,
    ObjectionForm,
    PrepareForm,
    WithdrawForm,
    apply_errors,
    bp,
    chosen_unit,
    may_prepare,
    my_task,
    units,
)


def _index(unit_id: int | None, form: PrepareForm | None = None, status: int = 200) -> Any:
    actor = current_user.actor
    if unit_id is None:
        if actor.is_district_wide:
            return render_template("publication/pick_unit.html", units=units(), endpoint="publication.index")
        return render_template("publication/index.html", unit=None, publications=[], form=None, manage=False)
    unit = current_session().get(OrgUnit, unit_id)
    if unit is None:
        abort(404)
    found = publication_views.list_publications(current_session(), actor, unit_id)
    manage = publication.may_manage(actor, unit_id)
    preparer = manage and may_prepare(actor, unit_id)
    return render_template(
        "publication/index.html",
        unit=unit,
        publications=found,
        manage=manage,
        form=(form or PrepareForm()) if preparer else None,
        open_objections=publication_open_objections(unit_id) if manage else 0,
    ), status


def publication_open_objections(unit_id: int) -> int:
    return objections.open_objections(current_session(), unit_id)


@bp.get("/")
@login_required
def index() -> Any:
    return _index(chosen_unit(current_user.actor))


@bp.post("/prepare")
@login_required
def prepare() -> Any:
    actor = current_user.actor
    unit_id = chosen_unit(actor)
    form = PrepareForm()
    if unit_id is None:
        abort(404)
    if not form.validate_on_submit():
        return _index(unit_id, form, 422)
    try:
        found = publication.prepare_publication(current_session(), actor, unit_id, form.period.data, form.reason.data)
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc)
        flash(localise(exc.message), "danger")
        return _index(unit_id, form, 422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return _index(unit_id, form, 409)
    flash(_("The publication of %(period)s went to the principal for approval.", period=found.period), "success")
    return redirect(url_for("publication.detail", publication_id=found.id))


def _detail(
    publication_id: int,
    objection_form: ObjectionForm | None = None,
    answer_forms: dict[int, AnswerForm] | None = None,
    withdraw_form: WithdrawForm | None = None,
    status: int = 200,
) -> Any:
    actor = current_user.actor
    view = publication_views.get_publication(current_session(), actor, publication_id)
    pub = view.publication
    pending = [o for r in view.rows for o in r.objections if o.answered_at is None] if view.manage else []
    answer_forms = answer_forms or {}
    for o in pending:
        answer_forms.setdefault(o.id, AnswerForm(prefix=f"a{o.id}"))
    may_answer = actor.is_district_wide or pub.unit_id in actor.unit_ids_for(Role.unit_admin)
    return render_template(
        "publication/detail.html",
        view=view,
        pub=pub,
        task=my_task(actor, pub.instance_id),
        objection_form=objection_form or ObjectionForm(),
        answer_forms=answer_forms,
        may_answer=may_answer,
        window_open=publication.window_open(pub, utcnow()),
        last_day=publication.last_day(pub),
        corrections=publication_views.revisions(current_session(), pub),
        withdraw_form=(withdraw_form or WithdrawForm())
        if pub.status is PublicationStatus.draft and may_prepare(actor, pub.unit_id)
        else None,
    ), status


@bp.get("/<int:publication_id>")
@login_required
def detail(publication_id: int) -> Any:
    return _detail(publication_id)


@bp.post("/rows/<int:row_id>/objections")
@login_required
def file_objection(row_id: int) -> Any:
    row = current_session().get(PublicationRow, row_id)
    if row is None:
        abort(404)
    publication_id = row.publication_id
    form = ObjectionForm()
    if not form.validate_on_submit():
        return _detail(publication_id, objection_form=form, status=422)
    try:
        found = objections.file_objection(current_session(), current_user.actor, row_id, form.text.data)
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _detail(publication_id, objection_form=form, status=422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("publication.detail", publication_id=publication_id))
    flash(_("Your objection was filed; the unit's performance administrator will answer it."), "success")
    return redirect(url_for("publication.detail", publication_id=publication_id, _anchor=f"objection-{found.id}"))


@bp.post("/objections/<int:objection_id>/answer")
@login_required
def answer_objection(objection_id: int) -> Any:
    item = current_session().get(PublicationObjection, objection_id)
    if item is None:
        abort(404)
    publication_id = item.row.publication_id
    form = AnswerForm(prefix=f"a{objection_id}")
    if not form.validate_on_submit():
        return _detail(publication_id, answer_forms={objection_id: form}, status=422)
    try:
        objections.answer_objection(current_session(), current_user.actor, objection_id, form.answer.data)
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _detail(publication_id, answer_forms={objection_id: form}, status=422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("publication.detail", publication_id=publication_id))
    flash(_("The answer was saved and sent to the person."), "success")
    return redirect(url_for("publication.detail", publication_id=publication_id, _anchor=f"objection-{objection_id}"))


@bp.post("/<int:publication_id>/withdraw")
@login_required
def withdraw(publication_id: int) -> Any:
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _detail(publication_id, withdraw_form=form, status=422)
    try:
        found = withdrawal.withdraw_publication(current_session(), current_user.actor, publication_id, form.reason.data)
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _detail(publication_id, withdraw_form=form, status=422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("publication.detail", publication_id=publication_id))
    flash(_("The publication of %(period)s was withdrawn; you can prepare it again.", period=found.period), "success")
    return redirect(url_for("publication.index", unit_id=found.unit_id))


@bp.get("/mine")
@login_required
def mine() -> Any:
    """The publication in force of one's own unit for ``?period=`` (default: the latest one)."""
    actor = current_user.actor
    if actor.unit_id is None:
        abort(404)
    period = request.args.get("period")
    found = publication_views.list_publications(current_session(), actor, actor.unit_id)
    wanted = [p for p in found if p.status is PublicationStatus.published and (not period or p.period == period)]
    if not wanted:
        flash(_("No published results yet."), "info")
        return redirect(url_for("publication.index"))
    return redirect(url_for("publication.detail", publication_id=wanted[0].id))
