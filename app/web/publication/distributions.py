"""A unit's bonus distributions: create and compute, the formula with its numbers, the payroll export."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session, db
from app.models import DistributionStatus, OrgUnit
from app.services.appraisal import distribution as service
from app.services.appraisal import distribution_export, withdrawal
from app.services.errors import Conflict, Invalid
from app.web.audit import writes_on_get
from app.web.localise import localise
from app.web.publication import (
    GRADES,
    DistributionForm,
    PoolForm,
    WithdrawForm,
    apply_errors,
    bp,
    chosen_unit,
    may_prepare,
    my_task,
    units,
)


def _list(unit_id: int | None, form: DistributionForm | None = None, status: int = 200) -> Any:
    actor = current_user.actor
    if unit_id is None:
        if actor.is_district_wide:
            return render_template("publication/pick_unit.html", units=units(), endpoint="publication.distributions")
        abort(404)
    unit = current_session().get(OrgUnit, unit_id)
    if unit is None:
        abort(404)
    found = service.list_distributions(current_session(), actor, unit_id)
    return render_template(
        "publication/distributions.html",
        unit=unit,
        distributions=found,
        form=(form or DistributionForm()) if may_prepare(actor, unit_id) else None,
    ), status


@bp.get("/distributions")
@login_required
def distributions() -> Any:
    return _list(chosen_unit(current_user.actor))


@bp.post("/distributions")
@login_required
def create_distribution() -> Any:
    actor = current_user.actor
    unit_id = chosen_unit(actor)
    if unit_id is None:
        abort(404)
    form = DistributionForm()
    if not form.validate_on_submit():
        return _list(unit_id, form, 422)
    try:
        found = service.create_distribution(
            current_session(), actor, unit_id, form.period.data, form.pool.data, form.reason.data
        )
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc)
        flash(localise(exc.message), "danger")
        return _list(unit_id, form, 422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return _list(unit_id, form, 409)
    flash(_("Computed. Check the amounts, then submit them to the principal from your tasks."), "success")
    return redirect(url_for("publication.distribution", distribution_id=found.id))


def _detail(
    distribution_id: int,
    form: PoolForm | None = None,
    status: int = 200,
    withdraw_form: WithdrawForm | None = None,
) -> Any:
    actor = current_user.actor
    dist = service.get_distribution(current_session(), actor, distribution_id)
    preparer = may_prepare(actor, dist.unit_id)
    open_ = dist.status in (DistributionStatus.draft, DistributionStatus.submitted)
    if form is None:
        form = PoolForm(data={"pool": f"{dist.pool:.2f}"})
    return render_template(
        "publication/distribution.html",
        dist=dist,
        shares=[(s, service.share_formula(dist, s)) for s in dist.shares],
        formula=service.formula(dist),
        coefficient_sum=service.num(service.sum_coefficients(dist)),
        amount_sum=sum((s.amount for s in dist.shares), Decimal(0)),
        num=service.num,
        form=form if preparer and dist.status is DistributionStatus.draft else None,
        withdraw_form=(withdraw_form or WithdrawForm()) if preparer and open_ else None,
        task=my_task(actor, dist.instance_id),
    ), status


@bp.get("/distributions/<int:distribution_id>")
@login_required
def distribution(distribution_id: int) -> Any:
    return _detail(distribution_id)


@bp.post("/distributions/<int:distribution_id>/compute")
@login_required
def compute(distribution_id: int) -> Any:
    form = PoolForm()
    if not form.validate_on_submit():
        return _detail(distribution_id, form, 422)
    try:
        service.recompute(current_session(), current_user.actor, distribution_id, form.pool.data)
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _detail(distribution_id, form, 422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("publication.distribution", distribution_id=distribution_id))
    flash(_("Computed again."), "success")
    return redirect(url_for("publication.distribution", distribution_id=distribution_id))


@bp.post("/distributions/<int:distribution_id>/withdraw")
@login_required
def withdraw_distribution(distribution_id: int) -> Any:
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _detail(distribution_id, status=422, withdraw_form=form)
    try:
        found = withdrawal.withdraw_distribution(
            current_session(), current_user.actor, distribution_id, form.reason.data
        )
    except Invalid as exc:
        db.session.rollback()
        apply_errors(form, exc)
        return _detail(distribution_id, status=422, withdraw_form=form)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("publication.distribution", distribution_id=distribution_id))
    flash(_("The bonus distribution of %(period)s was withdrawn.", period=found.period), "success")
    return redirect(url_for("publication.distributions", unit_id=found.unit_id))


def export_labels() -> dict[str, str]:
    labels = {
        "staff_no": _("Staff number"),
        "name": _("Name"),
        "section": _("Section"),
        "total": _("Total score"),
        "grade": _("Grade"),
        "coefficient": _("Coefficient"),
        "amount": _("Amount (yuan)"),
        "total_row": _("Total"),
    }
    labels.update({f"grade.{k}": str(v) for k, v in GRADES.items()})
    return labels


@bp.get("/distributions/<int:distribution_id>/export.xlsx")
@writes_on_get  # the export is audited
@login_required
def export(distribution_id: int) -> Any:
    dist = service.get_distribution(current_session(), current_user.actor, distribution_id)
    body = distribution_export.export_workbook(current_session(), current_user.actor, distribution_id, export_labels())
    name = f"bonus-{dist.period}-r{dist.revision}.xlsx"
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
