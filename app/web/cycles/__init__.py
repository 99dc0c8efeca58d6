"""The performance office's scheduler page: jobs (schedule, last and next run, run now) and cycle status per unit."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app import scheduler
from app.extensions import current_session, db
from app.models import Role
from app.services import cycles
from app.services.errors import T_, Forbidden, Invalid, NotFound
from app.services.periods import month_before, subject_kind
from app.web.localise import localise

bp = Blueprint("cycles", __name__, url_prefix="/office")

PROCESSES = ("periodic_appraisal", "monthly_analysis")  # the second is about units: one row, one instance each
RUN_NOW_WAIT = 20.0  # seconds the page waits for a "run now" before it says the job goes on in the background

JOB_STATUS = {
    "running": _l("Running"),
    "succeeded": _l("Succeeded"),
    "failed": _l("Failed"),
    "skipped": _l("Skipped"),
}
JOB_TRIGGER = {"schedule": _l("on schedule"), "catch_up": _l("caught up"), "manual": _l("run now")}


@bp.app_template_global()
def job_status(value: object) -> str:
    key = str(getattr(value, "value", value))
    return str(JOB_STATUS.get(key, key))


@bp.app_template_global()
def job_trigger(value: object) -> str:
    key = str(getattr(value, "value", value))
    return str(JOB_TRIGGER.get(key, key))


def _require_office() -> None:
    if not current_user.actor.has(Role.perf_office):
        raise Forbidden(T_("Only the performance office manages the scheduler and cycles."))


def _default_period() -> str:
    today = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return month_before(today)


def _selection() -> tuple[str, str]:
    process = request.values.get("process") or PROCESSES[0]
    if process not in PROCESSES:
        process = PROCESSES[0]
    return process, (request.values.get("period") or _default_period()).strip()


def _counts_text(counts: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (counts or {}).items())


@bp.get("/scheduler")
@login_required
def office() -> Any:
    _require_office()
    process, period = _selection()
    status = 200
    try:
        rows = cycles.cycle_status(current_session(), period, process)
    except Invalid as exc:
        flash(localise(exc.message), "danger")
        rows, status = [], 422
    return render_template(
        "cycles/office.html",
        jobs=scheduler.overview(current_session(), current_app.config),
        rows=rows,
        period=period,
        process=process,
        processes=PROCESSES,
        unit_subject=subject_kind(process) == "unit",
        form=FlaskForm(),
        counts_text=_counts_text,
    ), status


@bp.post("/scheduler/jobs/<name>/run")
@login_required
def run_job(name: str) -> Any:
    _require_office()
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
        return redirect(url_for("cycles.office"))
    scheduler.register_default_jobs()
    if name not in scheduler.JOBS:
        raise NotFound(T_("There is no job called %(name)s.", name=name))
    if not scheduler.JOBS[name].enabled(current_app.config):
        flash(_("The job %(name)s is switched off in the settings.", name=name), "warning")
        return redirect(url_for("cycles.office"))
    db.session.commit()  # the job is its own unit of work; hold no lock of this request meanwhile
    outcome = _run_in_background(name)
    if outcome is None:
        flash(_("The job %(name)s is still running; reload this page to see its result.", name=name), "info")
    elif not outcome.claimed:
        flash(_("The job %(name)s is already running.", name=name), "warning")
    elif outcome.error:
        flash(_("The job %(name)s failed: %(error)s", name=name, error=outcome.error), "danger")
    else:
        flash(_("The job %(name)s ran: %(counts)s", name=name, counts=_counts_text(outcome.counts)), "success")
    return redirect(url_for("cycles.office"))


def _run_in_background(name: str) -> scheduler.RunOutcome | None:
    """Run the job in its own thread (a long run outlives no request timeout); wait a little for its result."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    box: list[scheduler.RunOutcome] = []
    thread = threading.Thread(target=lambda: box.append(scheduler.run_now(app, name)), name=f"run-now-{name}")
    thread.start()
    thread.join(timeout=RUN_NOW_WAIT)
    return box[0] if box else None


@bp.post("/scheduler/units/<int:unit_id>/open")
@login_required
def open_unit(unit_id: int) -> Any:
    """Open the selected period for one unit, enabled or not (the explicit back-fill)."""
    _require_office()
    process, period = _selection()
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
        return redirect(url_for("cycles.office", process=process, period=period))
    try:
        summary = cycles.open_cycle(current_session(), current_user.actor, process, period, unit_id)
    except Invalid as exc:
        db.session.rollback()
        flash(localise(exc.message), "danger")
        return redirect(url_for("cycles.office", process=process, period=period))
    flash(
        _(
            "%(period)s: %(opened)d opened, %(already)d already open, %(skipped)d skipped.",
            period=period,
            opened=summary.opened,
            already=summary.already_open,
            skipped=sum(summary.skipped.values()),
        ),
        "success",
    )
    return redirect(url_for("cycles.office", process=process, period=period))


@bp.post("/scheduler/units/<int:unit_id>/enabled")
@login_required
def set_enabled(unit_id: int) -> Any:
    _require_office()
    process, period = _selection()
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
        return redirect(url_for("cycles.office", process=process, period=period))
    enabled = request.form.get("enabled") == "1"
    unit = cycles.set_unit_enabled(current_session(), current_user.actor, unit_id, enabled)
    if enabled:
        flash(
            _(
                "%(unit)s is enabled: cycles open for it from the next run. Use “Open” to back-fill a period.",
                unit=unit.name,
            ),
            "success",
        )
    else:
        flash(_("%(unit)s is no longer enabled: no new cycles open for it.", unit=unit.name), "info")
    return redirect(url_for("cycles.office", process=process, period=period))
