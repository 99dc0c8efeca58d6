"""Weekly log pages: my week (entries editor, evidence), a person's week for leaders, the section overview."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import current_session, db
from app.models import OrgKind, OrgUnit, Role, WeeklyLog
from app.services import evidence
from app.services.appraisal import common, logs, weeks
from app.services.errors import Conflict, Forbidden, Invalid
from app.web.appraisal import bp, max_upload_bytes, store, today
from app.web.localise import localise

RECENT = 8


def _week_arg(value: str | None) -> str:
    if value:
        try:
            return common.check_week(value)
        except Invalid:
            flash(_("Give the week as an ISO week key, e.g. 2026-W47."), "warning")
    return common.week_of(today())


def _neighbours(week: str) -> tuple[str, str]:
    monday = common.monday_of(week)
    return common.week_of(monday - timedelta(days=7)), common.week_of(monday + timedelta(days=7))


def _rows_from_log(log: WeeklyLog | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"id": e.id, "item_id": e.indicator_item_id, "content": e.content, "progress": e.progress, "errors": {}}
        for e in (log.entries if log is not None else [])
    ]
    return rows or [_blank()]


def _blank() -> dict[str, Any]:
    return {"id": None, "item_id": None, "content": "", "progress": None, "errors": {}}


def _int_or_raw(value: str | None) -> Any:
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


def _rows_from_form() -> list[dict[str, Any]]:
    rows = []
    for i in range(min(request.form.get("row_count", 0, type=int), 100)):
        rows.append(
            {
                "id": request.form.get(f"entries-{i}-id", type=int),
                "item_id": _int_or_raw(request.form.get(f"entries-{i}-item")),
                "content": request.form.get(f"entries-{i}-content", ""),
                "progress": _int_or_raw(request.form.get(f"entries-{i}-progress")),
                "remove": bool(request.form.get(f"entries-{i}-remove")),
                "errors": {},
            }
        )
    return rows


def _render_mine(week: str, rows: list[dict[str, Any]], status: int = 200) -> Any:
    actor = current_user.actor
    person, log = logs.read_week(current_session(), actor, actor.person_id, week)
    recent = common.recent_weeks(RECENT, today())
    states = weeks.person_weeks(current_session(), person.id, recent, today())
    state = weeks.person_weeks(current_session(), person.id, [week], today())[0]
    previous, following = _neighbours(week)
    return render_template(
        "appraisal/my_logs.html",
        person=person,
        week=week,
        log=log,
        rows=rows,
        items=logs.linkable_items(current_session(), person.id, week),
        state=state,
        states=list(reversed(states)),
        previous=previous,
        following=following if common.monday_of(following) <= today() else None,
        frozen=logs.archived_record_for_week(current_session(), person.id, week),
        max_mb=max_upload_bytes() // (1024 * 1024),
    ), status


@bp.get("/")
@login_required
def index() -> Any:
    return redirect(url_for("appraisal.my_logs"))


@bp.route("/logs", methods=["GET", "POST"])
@login_required
def my_logs() -> Any:
    actor = current_user.actor
    if actor.person_id is None:
        flash(_("Your account is not linked to a person, so it keeps no logs."), "info")
        return redirect(url_for("main.home"))
    week = _week_arg(request.values.get("week"))
    if request.method == "GET":
        _person, log = logs.read_week(current_session(), actor, actor.person_id, week)
        return _render_mine(week, _rows_from_log(log))
    rows = _rows_from_form()
    if request.form.get("action") == "add":
        return _render_mine(week, [r for r in rows if not r["remove"]] + [_blank()])
    sent = [r for r in rows if not r["remove"] and (r["id"] or str(r["content"]).strip())]
    payload = [{k: r[k] for k in ("id", "item_id", "content", "progress")} for r in sent]
    try:
        logs.save_week(current_session(), actor, week, payload)
    except Invalid as exc:
        db.session.rollback()
        for key, message in exc.fields.items():
            if key.startswith("entries[") and "]" in key:
                index, _sep, name = key[8:].partition("]")
                if index.isdigit() and int(index) < len(sent):
                    sent[int(index)]["errors"][name.lstrip(".") or "content"] = localise(message)
        flash(localise(exc.message), "danger")
        return _render_mine(week, sent or [_blank()], 422)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("appraisal.my_logs", week=week))
    flash(_("The log of %(week)s is saved.", week=week), "success")
    return redirect(url_for("appraisal.my_logs", week=week))


@bp.post("/logs/entries/<int:entry_id>/evidence")
@login_required
def upload_evidence(entry_id: int) -> Any:
    file = request.files.get("evidence")
    week = request.form.get("week") or None
    if file is None or not file.filename:
        flash(_("Choose a file to attach."), "warning")
        return redirect(url_for("appraisal.my_logs", week=week))
    upload = evidence.Upload(file.filename, file.read())
    try:
        logs.add_evidence(
            current_session(), current_user.actor, entry_id, upload, store=store(), max_bytes=max_upload_bytes()
        )
    except (Invalid, Conflict) as exc:
        db.session.rollback()
        message = localise(exc.message)
        detail = getattr(exc, "fields", {}).get("evidence")
        flash(f"{message} {localise(detail)}" if detail else message, "danger")
    else:
        flash(_("The file is attached."), "success")
    return redirect(url_for("appraisal.my_logs", week=week))


@bp.post("/logs/evidence/<int:evidence_id>/remove")
@login_required
def remove_evidence(evidence_id: int) -> Any:
    try:
        entry = logs.remove_evidence(current_session(), current_user.actor, evidence_id)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("appraisal.my_logs", week=request.form.get("week") or None))
    flash(_("The file is removed."), "success")
    return redirect(url_for("appraisal.my_logs", week=entry.log.week))


@bp.get("/logs/evidence/<int:evidence_id>")
@login_required
def evidence_download(evidence_id: int) -> Any:
    path, name, mimetype = logs.evidence_file(current_session(), current_user.actor, evidence_id, store())
    inline = mimetype.startswith(("image/", "application/pdf"))
    return send_file(path, mimetype=mimetype, as_attachment=not inline, download_name=name)


@bp.get("/people/<int:person_id>/logs")
@login_required
def person_logs(person_id: int) -> Any:
    actor = current_user.actor
    if person_id == actor.person_id:
        return redirect(url_for("appraisal.my_logs", week=request.args.get("week")))
    week = _week_arg(request.args.get("week"))
    person, log = logs.read_week(current_session(), actor, person_id, week)
    recent = common.recent_weeks(RECENT, today())
    previous, following = _neighbours(week)
    return render_template(
        "appraisal/person_logs.html",
        person=person,
        week=week,
        log=log,
        state=weeks.person_weeks(current_session(), person.id, [week], today())[0],
        states=list(reversed(weeks.person_weeks(current_session(), person.id, recent, today()))),
        previous=previous,
        following=following if common.monday_of(following) <= today() else None,
        can_comment=common.can_comment(actor, person),
    )


@bp.post("/people/<int:person_id>/logs/comments")
@login_required
def comment(person_id: int) -> Any:
    week = _week_arg(request.form.get("week"))
    entry_id = request.form.get("entry_id", type=int)
    try:
        logs.add_comment(current_session(), current_user.actor, person_id, week, request.form.get("text"), entry_id)
    except Invalid as exc:
        db.session.rollback()
        flash(localise(exc.message), "danger")
    else:
        flash(_("Comment added."), "success")
    return redirect(url_for("appraisal.person_logs", person_id=person_id, week=week))


def _overseen_sections() -> list[OrgUnit]:
    actor = current_user.actor
    led = weeks.sections_led(current_session(), actor)
    stmt = select(OrgUnit).where(OrgUnit.kind == OrgKind.section)
    if not actor.is_district_wide:
        units = actor.unit_ids_for(Role.unit_principal, Role.unit_admin)
        if not units:
            return led
        stmt = stmt.where(OrgUnit.parent_id.in_(units))
    others = [s for s in db.session.scalars(stmt.order_by(OrgUnit.parent_id, OrgUnit.sort_order, OrgUnit.id))]
    return led + [s for s in others if s not in led]


@bp.get("/sections")
@login_required
def sections() -> Any:
    found = _overseen_sections()
    if len(found) == 1:
        return redirect(url_for("appraisal.section_logs", section_id=found[0].id))
    if not found:
        raise Forbidden(_("Only section heads and leaders in charge (or the unit's leadership) see section logs."))
    return render_template("appraisal/sections.html", sections=found)


@bp.get("/sections/<int:section_id>/logs")
@login_required
def section_logs(section_id: int) -> Any:
    count = request.args.get("weeks", 4, type=int)
    overview = weeks.section_overview(current_session(), current_user.actor, section_id, count, today())
    return render_template("appraisal/section_logs.html", overview=overview, count=count, others=_overseen_sections())
