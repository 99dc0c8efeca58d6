"""Indicator pages (指标制定): my set and its versions, printing and export, start and adjustment.

The drafting and review page is in ``drafting.py``; the section and unit overviews in ``oversight.py``;
the office's common indicators in ``library.py``.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.extensions import current_session, db
from app.models import IndicatorSet, IndicatorSetVersion, Person, VersionStatus
from app.services import audit
from app.services.errors import T_, NotFound, ServiceError
from app.services.indicators import excel, flow, overview, sets
from app.web.audit import writes_on_get
from app.web.localise import localise
from app.workflow import runtime

bp = Blueprint("indicators", __name__, url_prefix="/indicators")

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CATEGORY_NAMES = {
    "key_work": _l("Key work"),
    "duties": _l("Functional duties"),
    "common": _l("Common indicators"),
    "temporary": _l("Temporary tasks"),
}
STATUS_NAMES = {
    "not_started": _l("Not started"),
    "drafting": _l("Drafting"),
    "draft": _l("Draft"),
    "in_review": _l("In review"),
    "returned": _l("Returned"),
    "effective": _l("Effective"),
    "superseded": _l("Superseded"),
}
STATUS_COLOURS = {
    "not_started": "secondary",
    "drafting": "info",
    "draft": "info",
    "in_review": "warning",
    "returned": "danger",
    "effective": "success",
    "superseded": "light",
}
KIND_NAMES = {"initial": _l("Initial agreement"), "adjustment": _l("Adjustment")}
CRITERIA = (
    (_l("Importance (重要性)"), _l("It carries the unit's priorities and the post's main results.")),
    (_l("Fit (匹配性)"), _l("It matches the post and its duties (因事定岗、以岗定责、以责定标).")),
    (_l("Comparability (可比性)"), _l("It can be compared with colleagues in similar posts and with last year.")),
    (_l("Measurability (可考性)"), _l("Its standard says what counts as done and what evidence shows it.")),
)


@bp.context_processor
def _labels() -> dict[str, Any]:
    def category_name(key: object) -> str:
        value = str(getattr(key, "value", key))
        return str(CATEGORY_NAMES.get(value, value))

    def set_status(key: object) -> str:
        value = str(getattr(key, "value", key))
        return str(STATUS_NAMES.get(value, value))

    def status_colour(key: object) -> str:
        return STATUS_COLOURS.get(str(getattr(key, "value", key)), "secondary")

    def kind_name(key: object) -> str:
        return str(KIND_NAMES.get(str(key), key))

    return {
        "category_name": category_name,
        "set_status": set_status,
        "status_colour": status_colour,
        "kind_name": kind_name,
        "criteria": CRITERIA,
    }


class AdjustForm(FlaskForm):
    reason = TextAreaField(
        _l("Why must the indicators change?"),
        validators=[DataRequired(_l("Say why the indicators must change.")), Length(max=2000)],
    )


def this_year() -> int:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).year


def year_arg(source: Any = None) -> int:
    """``year`` from the query string (or a form), defaulting to the district's current year."""
    value = (source or request.args).get("year", type=int)
    return value if value is not None and 2000 <= value <= 2100 else this_year()


def xlsx_response(data: bytes, name: str) -> Any:
    response = send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


def _me() -> Person | None:
    pid = current_user.actor.person_id
    return db.session.get(Person, pid) if pid is not None else None


@bp.get("/")
@bp.get("/me")
@login_required
def my_set() -> Any:
    year = year_arg()
    person = _me()
    if person is None:
        flash(_("Your account is not linked to a person, so it has no indicators."), "info")
        return redirect(url_for("main.home"))
    actor = current_user.actor
    state = overview.person_year(current_session(), actor, person, year)
    is_mine_task = state.open_task is not None and runtime.is_candidate(
        current_session(), state.open_task, actor.person_id
    )
    return render_template(
        "indicators/me.html",
        state=state,
        year=year,
        can_adjust=state.effective is not None and state.open_version is None,
        task_is_mine=is_mine_task,
        form=AdjustForm(),
    )


@bp.post("/start")
@login_required
def start() -> Any:
    year = year_arg(request.form)
    person = _me()
    if person is None:
        flash(_("Your account is not linked to a person, so it has no indicators."), "info")
        return redirect(url_for("main.home"))
    created = flow.start_for(current_session(), current_user.actor, person, year)
    if not created:
        flash(_("Your indicator setting for %(year)s was already started.", year=year), "info")
    s = sets.find_set(current_session(), person.id, year)
    version = sets.open_version(s) if s is not None else None
    task = overview.open_task(current_session(), version) if version is not None else None
    if task is not None and runtime.is_candidate(current_session(), task, person.id):
        return redirect(url_for("indicators.task", task_id=task.id))
    return redirect(url_for("indicators.my_set", year=year))


@bp.post("/sets/<int:set_id>/adjust")
@login_required
def adjust(set_id: int) -> Any:
    form = AdjustForm()
    s = sets.get_set(current_session(), current_user.actor, set_id)
    if not form.validate_on_submit():
        return _adjust_refused(s, form)
    try:
        version = flow.request_adjustment(current_session(), current_user.actor, set_id, form.reason.data or "")
    except ServiceError as exc:
        db.session.rollback()
        form.reason.errors = [*form.reason.errors, localise(exc.message)]
        return _adjust_refused(sets.get_set(current_session(), current_user.actor, set_id), form, exc.status)
    flash(_("Adjustment started: version %(n)s is a draft copied from the effective set.", n=version.number), "success")
    task = overview.open_task(current_session(), version)
    if task is not None and runtime.is_candidate(current_session(), task, current_user.actor.person_id):
        return redirect(url_for("indicators.task", task_id=task.id))
    return redirect(url_for("indicators.version", set_id=set_id, number=version.number))


def _adjust_refused(s: IndicatorSet, form: AdjustForm, status: int = 422) -> Any:
    state = overview.person_year(current_session(), current_user.actor, s.person, s.year)
    return render_template(
        "indicators/me.html",
        state=state,
        year=s.year,
        can_adjust=state.effective is not None and state.open_version is None,
        task_is_mine=False,
        form=form,
    ), status


def _version(s: IndicatorSet, number: int | None) -> IndicatorSetVersion:
    if number is None:
        return s.effective_version or sets.latest(s)
    found = next((v for v in s.versions if v.number == number), None)
    if found is None:
        raise NotFound(T_("Version %(n)s of this indicator set does not exist.", n=number))
    return found


def _baseline(s: IndicatorSet, version: IndicatorSetVersion) -> IndicatorSetVersion | None:
    """The version an adjustment changed: the newest earlier one that was in force."""
    if version.kind != "adjustment":
        return None
    earlier = [
        v
        for v in s.versions
        if v.number < version.number and v.status in (VersionStatus.effective, VersionStatus.superseded)
    ]
    return earlier[-1] if earlier else None


@bp.get("/sets/<int:set_id>")
@login_required
def set_view(set_id: int) -> Any:
    s = sets.get_set(current_session(), current_user.actor, set_id)
    return redirect(url_for("indicators.version", set_id=s.id, number=_version(s, None).number))


@bp.get("/sets/<int:set_id>/versions/<int:number>")
@login_required
def version(set_id: int, number: int) -> Any:
    s = sets.get_set(current_session(), current_user.actor, set_id)
    shown = _version(s, number)
    base = _baseline(s, shown)
    task = (
        overview.open_task(current_session(), shown)
        if shown.status.value in ("draft", "returned", "in_review")
        else None
    )
    return render_template(
        "indicators/version.html",
        s=s,
        version=shown,
        changes=sets.diff(base, shown) if base is not None else None,
        baseline=base,
        open_task=task,
    )


@bp.get("/sets/<int:set_id>/print")
@login_required
def print_set(set_id: int) -> Any:
    s = sets.get_set(current_session(), current_user.actor, set_id)
    shown = _version(s, request.args.get("version", type=int))
    return render_template("indicators/print.html", s=s, version=shown)


@bp.get("/sets/<int:set_id>/export.xlsx")
@writes_on_get
@login_required
def export_set(set_id: int) -> Any:
    data, name = excel.export_set(current_session(), current_user.actor, set_id, request.args.get("version", type=int))
    audit.record(
        current_session(), current_user.actor, "export.indicators", "indicator_set", set_id, "success", {"file": name}
    )
    return xlsx_response(data, name)


@bp.get("/import-template.xlsx")
@login_required
def import_template() -> Any:
    return xlsx_response(excel.template_workbook(), "indicators_template.xlsx")


from app.web.indicators import drafting, library, oversight  # noqa: E402,F401  (registers their routes)
