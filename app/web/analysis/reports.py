"""Report pages: list, one report, the task page, the office's overview and side-by-side reading."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import current_session, db
from app.models import OrgKind, OrgUnit, Role
from app.services.analysis import reports
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.periods import check_period, month_before
from app.web.analysis import PostForm, bp, local_today
from app.web.localise import localise
from app.workflow import runtime
from forms import FORMS
from forms.builder import form_class

PAGE = "analysis.task"


def _period_arg() -> str:
    value = request.args.get("period") or month_before(local_today().date())
    try:
        return check_period(reports.PROCESS, value)
    except Invalid:
        abort(404)


@bp.get("/reports")
@login_required
def index() -> Any:
    actor = current_user.actor
    if reports.readable_unit_ids(actor) == set():
        raise Forbidden(_("Monthly analysis reports are read by unit administrators, principals and the office."))
    units = session_units(actor.unit_ids_for(Role.unit_admin))
    return render_template(
        "analysis/index.html",
        items=reports.recent_reports(current_session(), actor),
        admin_units=units,
        default_period=month_before(local_today().date()),
        form=PostForm(),
    )


def session_units(ids: set[int]) -> list[OrgUnit]:
    if not ids:
        return []
    stmt = select(OrgUnit).where(OrgUnit.id.in_(ids), OrgUnit.kind == OrgKind.unit).order_by(OrgUnit.id)
    return list(current_session().scalars(stmt))


@bp.post("/reports/open")
@login_required
def open_report() -> Any:
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    unit_id = request.form.get("unit_id", type=int)
    try:
        if unit_id is None:
            counts = reports.open_month(current_session(), current_user.actor, request.form.get("period", ""))
            message = _("Opened %(n)d reports; %(m)d were open already.", n=counts.opened, m=counts.already_open)
            flash(message, "success")
            return redirect(url_for("analysis.office", period=counts.period))
        report, created = reports.open_report(
            current_session(), current_user.actor, unit_id, request.form.get("period", "")
        )
    except Invalid as exc:
        db.session.rollback()
        flash(localise(exc.message), "danger")
        return redirect(request.referrer or url_for("analysis.index"))
    flash(_("The report is opened.") if created else _("The report was open already."), "success")
    return redirect(url_for("analysis.report", report_id=report.id))


@bp.get("/reports/<int:report_id>")
@login_required
def report(report_id: int) -> Any:
    actor = current_user.actor
    item = reports.get_report(current_session(), actor, report_id)
    check = reports.check_snapshot(current_session(), actor, item) if request.args.get("check") else None
    return render_template(
        "analysis/report.html",
        report=item,
        figures=reports.shown_figures(current_session(), item),
        check=check,
        my_task=reports.waiting_task(current_session(), actor, item),
    )


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> Any:
    actor = current_user.actor
    session = current_session()
    item = runtime.get_task_for(session, actor, task_id)
    spec = FORMS[item.form_key]
    if spec.page != PAGE:
        return redirect(url_for("inbox.task", task_id=task_id))
    report_row = reports.for_instance(session, item.instance)
    reports.get_report(session, actor, report_row.id)
    can_act = item.status.value == "ready" and runtime.is_candidate(session, item, actor.person_id)
    form = form_class(item.form_key, PostForm, _)()
    status = 200
    if request.method == "POST" and can_act:
        payload = {f.name: request.form.get(f.name, "") for f in spec.fields}
        try:
            if request.form.get("action") == "save" and item.form_key == "analysis_draft":
                reports.save_draft(session, actor, report_row, payload)
                flash(_("The draft is saved; it is not submitted yet."), "success")
                return redirect(url_for(PAGE, task_id=task_id))
            runtime.complete_task(session, actor, item.id, payload)
        except Invalid as exc:
            db.session.rollback()
            for name, message in exc.fields.items():
                if name in form:
                    form[name].errors = [localise(message)]
            flash(localise(exc.message), "danger")
            status = 422
        except (Conflict, Forbidden) as exc:
            db.session.rollback()
            flash(localise(exc.message), "warning")
            return redirect(url_for(PAGE, task_id=task_id))
        else:
            flash(_("Done: %(step)s for %(name)s.", step=item.step_name, name=item.subject_name), "success")
            return redirect(url_for("inbox.tasks"))
        item = runtime.get_task_for(session, actor, task_id)
        report_row = reports.for_instance(session, item.instance)
    elif request.method == "GET" and item.form_key == "analysis_draft":
        for name in reports.SECTIONS:
            form[name].data = getattr(report_row, name) or ""
    figures = reports.shown_figures(session, report_row)
    if item.form_key == "analysis_draft" and not form["overview"].data:
        form["overview"].data = render_template("analysis/_overview_prefill.txt", f=figures).strip()
    return (
        render_template(
            "analysis/task.html", task=item, spec=spec, form=form, report=report_row, figures=figures, can_act=can_act
        ),
        status,
    )


@bp.get("/office")
@login_required
def office() -> Any:
    period = _period_arg()
    rows = reports.overview(current_session(), current_user.actor, period)
    return render_template("analysis/office.html", rows=rows, period=period, form=PostForm())


@bp.get("/office/compare")
@login_required
def compare() -> Any:
    actor = current_user.actor
    period = _period_arg()
    chosen = [int(v) for v in request.args.getlist("unit") if v.isdigit()]
    items = reports.reports_of(current_session(), actor, period, chosen or None)
    shown = {r.id: reports.shown_figures(current_session(), r) for r in items}
    office = actor.is_district_wide
    all_units = [row.unit for row in reports.overview(current_session(), actor, period)] if office else []
    layout = "columns" if request.args.get("layout") != "stacked" else "stacked"
    return render_template(
        "analysis/compare.html",
        items=items,
        shown=shown,
        period=period,
        units=all_units,
        chosen=set(chosen),
        layout=layout,
    )
