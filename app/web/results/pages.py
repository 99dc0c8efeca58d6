"""Quarter and annual results of a unit, grading within the quota, veto items, and one's own results."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice

from app.extensions import current_session, db
from app.models import OrgKind, OrgUnit, Role
from app.services.appraisal import annual, grading, results
from app.services.appraisal.common import local_today
from app.services.appraisal.scheme import scheme_for
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.periods import period_kind, quarter_before
from app.web.localise import localise
from app.web.results import VetoForm, WithdrawForm, bp


def _unit(unit_id: int) -> OrgUnit:
    unit = current_session().get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        abort(404)
    if not results.may_read_unit(current_user.actor, unit_id):
        abort(403)
    return unit


def _quarter() -> str:
    period = request.args.get("period") or quarter_before(local_today())
    if period_kind(period) != "quarter":
        abort(404)
    return period


def _year() -> int:
    year = request.args.get("year", type=int) or local_today().year
    if not 2000 <= year <= 2100:
        abort(404)
    return year


@bp.get("/")
@login_required
def index() -> Any:
    actor = current_user.actor
    if actor.is_district_wide:
        units = current_session().scalars(select(OrgUnit).where(OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.code))
        return render_template("results/pick_unit.html", units=list(units))
    managed = sorted(actor.unit_ids_for(*results.READERS))
    if managed:
        return redirect(url_for("results.quarter", unit_id=managed[0]))
    return redirect(url_for("results.mine"))


def _quarter_page(unit: OrgUnit, period: str, kept: set[int] | None = None, status: int = 200) -> Any:
    """The quarter page; ``kept`` are the ticks of a refused confirmation, shown instead of the suggested ones."""
    session = current_session()
    actor = current_user.actor
    rows = results.period_results(session, unit.id, period)
    q, found = grading.grading_state(session, unit.id, period)
    return render_template(
        "results/quarter.html",
        unit=unit,
        period=period,
        rows=rows,
        quota=q,
        candidates=found,
        kept=kept,
        missing=results.missing_people(session, unit.id, period),
        confirmed=any(r.status.value == "confirmed" for r in rows),
        may_compute=actor.is_district_wide or unit.id in actor.unit_ids_for(Role.unit_admin),
        may_confirm=actor.is_district_wide or unit.id in actor.unit_ids_for(*results.MANAGERS),
        form=FlaskForm(),
        sources=results.sources,
        details=results.detail,
    ), status


@bp.get("/unit/<int:unit_id>")
@login_required
def quarter(unit_id: int) -> Any:
    return _quarter_page(_unit(unit_id), _quarter())


def _flash_error(exc: Exception) -> None:
    db.session.rollback()
    message = localise(getattr(exc, "message", str(exc)))
    if isinstance(exc, Invalid) and exc.fields:
        message = f"{message} " + " ".join(str(localise(m)) for m in exc.fields.values())
    flash(message, "warning" if isinstance(exc, Conflict) else "danger")


@bp.post("/unit/<int:unit_id>/compute")
@login_required
def compute(unit_id: int) -> Any:
    unit = _unit(unit_id)
    period = _quarter()
    if FlaskForm().validate_on_submit():
        try:
            out = results.compute_period_results(current_session(), current_user.actor, unit.id, period)
            flash(_("Computed the results of %(n)s people.", n=len(out)), "success")
        except (Conflict, Forbidden, Invalid) as exc:
            _flash_error(exc)
    return redirect(url_for("results.quarter", unit_id=unit.id, period=period))


def _ticked() -> set[int] | None:
    """The candidates ticked in the chooser, or None when the form carried no chooser."""
    if not request.form.get("choose"):
        return None
    return {int(v) for v in request.form.getlist("keep") if v.isdigit()}


def _confirm(unit: OrgUnit, period: str, keep: set[int] | None) -> Exception | None:
    """Confirm with the candidates ticked in the chooser (``keep``); the refusal, if any, flashed."""
    session = current_session()
    choices: dict[int, str] | None = None
    if keep is not None:
        q, found = grading.grading_state(session, unit.id, period)
        choices = {c.person_id: (q.top_grade if c.person_id in keep else q.next_grade) for c in found}
    try:
        grading.confirm_grades(session, current_user.actor, unit.id, period, choices)
    except (Conflict, Forbidden, Invalid) as exc:
        _flash_error(exc)
        return exc
    flash(_("The grades of %(period)s are confirmed.", period=period), "success")
    return None


def _correctable(exc: Exception | None) -> bool:
    """A refusal the user can correct on the page (the quota, a bad choice): re-render with the ticks kept."""
    return isinstance(exc, (Conflict, Invalid))


@bp.post("/unit/<int:unit_id>/confirm")
@login_required
def confirm(unit_id: int) -> Any:
    unit = _unit(unit_id)
    period = _quarter()
    if FlaskForm().validate_on_submit():
        keep = _ticked()
        if _correctable(refusal := _confirm(unit, period, keep)):
            return _quarter_page(unit, period, keep, 409 if isinstance(refusal, Conflict) else 422)
    return redirect(url_for("results.quarter", unit_id=unit.id, period=period))


# --- the year -----------------------------------------------------------------------------------


def _veto_form(unit: OrgUnit, year: int, form: VetoForm | None = None) -> VetoForm:
    form = form or VetoForm()
    people = results.unit_people(current_session(), unit.id)
    form.person_id.choices = [SelectChoice(p.id, f"{p.name} · {p.staff_no}") for p in people]
    form.item.choices = [SelectChoice(k, v) for k, v in scheme_for(current_session(), unit.id, year).veto_items]
    return form


def _year_page(
    unit: OrgUnit, year: int, veto_form: VetoForm | None = None, status: int = 200, kept: set[int] | None = None
) -> Any:
    session = current_session()
    actor = current_user.actor
    key = str(year)
    rows = results.period_results(session, unit.id, key)
    q, found = grading.grading_state(session, unit.id, key)
    may_compute = actor.is_district_wide or unit.id in actor.unit_ids_for(Role.unit_admin)
    return render_template(
        "results/year.html",
        unit=unit,
        year=year,
        rows=rows,
        quota=q,
        candidates=found,
        kept=kept,
        confirmed=any(r.status.value == "confirmed" for r in rows),
        may_compute=may_compute,
        may_confirm=actor.is_district_wide or unit.id in actor.unit_ids_for(*results.MANAGERS),
        vetoes=annual.list_vetoes(session, actor, unit.id, year),
        veto_form=_veto_form(unit, year, veto_form) if may_compute else None,
        withdraw_form=WithdrawForm(),
        form=FlaskForm(),
        sources=results.sources,
        details=results.detail,
        scheme=scheme_for(session, unit.id, year),
    ), status


@bp.get("/unit/<int:unit_id>/year")
@login_required
def year_page(unit_id: int) -> Any:
    return _year_page(_unit(unit_id), _year())


@bp.post("/unit/<int:unit_id>/year/compute")
@login_required
def compute_year(unit_id: int) -> Any:
    unit = _unit(unit_id)
    year = _year()
    if FlaskForm().validate_on_submit():
        try:
            out = annual.compute_annual_results(current_session(), current_user.actor, unit.id, year)
            flash(_("Computed the results of %(n)s people.", n=len(out)), "success")
        except (Conflict, Forbidden, Invalid) as exc:
            _flash_error(exc)
    return redirect(url_for("results.year_page", unit_id=unit.id, year=year))


@bp.post("/unit/<int:unit_id>/year/confirm")
@login_required
def confirm_year(unit_id: int) -> Any:
    unit = _unit(unit_id)
    year = _year()
    if FlaskForm().validate_on_submit():
        keep = _ticked()
        if _correctable(refusal := _confirm(unit, str(year), keep)):
            return _year_page(unit, year, status=409 if isinstance(refusal, Conflict) else 422, kept=keep)
    return redirect(url_for("results.year_page", unit_id=unit.id, year=year))


@bp.post("/unit/<int:unit_id>/veto")
@login_required
def add_veto(unit_id: int) -> Any:
    unit = _unit(unit_id)
    year = _year()
    form = _veto_form(unit, year)
    if not form.validate_on_submit():
        return _year_page(unit, year, form, 422)
    try:
        annual.record_veto(
            current_session(),
            current_user.actor,
            form.person_id.data,
            year,
            form.item.data,
            form.reason.data,
            form.occurred_on.data,
        )
    except Invalid as exc:
        db.session.rollback()
        for name, message in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*list(field.errors), localise(message)]
        flash(localise(exc.message), "danger")
        return _year_page(unit, year, form, 422)
    except (Conflict, Forbidden) as exc:
        _flash_error(exc)
    else:
        flash(_("The veto item was recorded."), "success")
    return redirect(url_for("results.year_page", unit_id=unit.id, year=year))


@bp.post("/unit/<int:unit_id>/veto/withdraw")
@login_required
def withdraw_veto(unit_id: int) -> Any:
    from app.models import VetoRecord

    unit = _unit(unit_id)
    raw = request.form.get("veto_id", "")
    row = current_session().get(VetoRecord, int(raw)) if raw.isdigit() else None
    if row is None or row.unit_id != unit.id:
        abort(404)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("Say why the veto item is withdrawn."), "danger")
    else:
        try:
            annual.withdraw_veto(current_session(), current_user.actor, row.id, form.reason.data)
            flash(_("The veto item was withdrawn."), "success")
        except (Conflict, Forbidden, Invalid) as exc:
            _flash_error(exc)
    return redirect(url_for("results.year_page", unit_id=unit.id, year=row.year))


@bp.get("/mine")
@login_required
def mine() -> Any:
    actor = current_user.actor
    if actor.person_id is None:
        abort(404)
    rows = results.results_of_person(current_session(), actor.person_id)
    return render_template("results/mine.html", rows=rows, sources=results.sources, details=results.detail)
