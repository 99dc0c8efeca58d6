"""Process list, one process's versions and record, a version with its diff, upload, download, deploy, roll back."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from app.extensions import current_session, db
from app.models import DefinitionStatus, InstanceStatus, Person, ProcessDefinition, ProcessInstance
from app.services.errors import Conflict, Invalid, NotFound
from app.web.localise import localise
from app.web.processes import bp, office_required
from app.workflow import designer, diffing


def _scope(value: str | None) -> int | None:
    """The scope field of deploy and roll back forms: "district" or a unit id."""
    if not value or value == "district":
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid("Choose a unit, or the whole district.", {"scope": "Unknown scope."}) from None


def _unit_names() -> dict[int, str]:
    return {u.id: u.name for u in designer.units(current_session())}


@bp.get("/")
@office_required
def index() -> Any:
    keys = designer.known_keys(current_session())
    rows = []
    running = dict(
        db.session.execute(
            select(ProcessInstance.process_key, func.count())
            .where(ProcessInstance.status == InstanceStatus.running)
            .group_by(ProcessInstance.process_key)
        ).all()
    )
    for key in keys:
        versions = designer.versions(current_session(), key)
        active = designer.active_by_scope(current_session(), key)
        rows.append(
            {
                "key": key,
                "name": versions[0].name,
                "district": active.get(None),
                "variants": [v for u, v in active.items() if u is not None],
                "drafts": sum(1 for v in versions if v.status is DefinitionStatus.draft),
                "latest": versions[0],
                "running": running.get(key, 0),
            }
        )
    return render_template("processes/index.html", rows=rows, units=_unit_names())


def render_process(key: str, problems: list[designer.Problem] | None = None, status: int = 200) -> Any:
    versions = designer.versions(current_session(), key)
    running = dict(
        db.session.execute(
            select(ProcessInstance.definition_id, func.count())
            .where(ProcessInstance.process_key == key, ProcessInstance.status == InstanceStatus.running)
            .group_by(ProcessInstance.definition_id)
        ).all()
    )
    active = designer.active_by_scope(current_session(), key)
    creators = {v.created_by_id for v in versions if v.created_by_id}
    people = dict(db.session.execute(select(Person.id, Person.name).where(Person.id.in_(creators))).all())
    return render_template(
        "processes/process.html",
        key=key,
        versions=versions,
        people=people,
        active=active,
        rollback_to={u: designer.replaced_by(current_session(), v) for u, v in active.items()},
        events=designer.events(current_session(), key),
        units=_unit_names(),
        running=running,
        problems=problems or [],
        form=FlaskForm(),
        max_mb=current_app.config.get("MAX_UPLOAD_MB", 10),
    ), status


@bp.get("/<key>")
@office_required
def process(key: str) -> Any:
    return render_process(key)


def _default_base(row: ProcessDefinition) -> ProcessDefinition | None:
    """What a version is compared with by default: its scope's active version, else the district's,
    and for an active version, the one it replaced."""
    active = designer.active_by_scope(current_session(), row.key)
    base = active.get(row.unit_id) or active.get(None)
    if base is None or base.id == row.id:
        base = db.session.scalar(
            select(ProcessDefinition)
            .where(ProcessDefinition.key == row.key, ProcessDefinition.version < row.version)
            .order_by(ProcessDefinition.version.desc())
        )
    return base


@bp.get("/<key>/versions/<int:definition_id>")
@office_required
def version(key: str, definition_id: int) -> Any:
    row = designer.get_version(current_session(), key, definition_id)
    against = request.args.get("against", type=int)
    base = designer.get_version(current_session(), key, against) if against else _default_base(row)
    changes = diffing.diff(base.bpmn_xml, row.bpmn_xml) if base is not None else []
    return render_template(
        "processes/version.html",
        key=key,
        row=row,
        base=base,
        changes=changes,
        others=designer.versions(current_session(), key),
        units=_unit_names(),
        colours={
            "added": ",".join(c.element_id for c in changes if c.colour == "added"),
            "changed": ",".join(dict.fromkeys(c.element_id for c in changes if c.colour == "changed")),
            "removed": ",".join(c.element_id for c in changes if c.colour == "removed"),
        },
    )


@bp.get("/<key>/versions/<int:definition_id>/xml")
@office_required
def xml(key: str, definition_id: int) -> Any:
    row = designer.get_version(current_session(), key, definition_id)
    return Response(row.bpmn_xml, mimetype="application/xml")


@bp.get("/<key>/versions/<int:definition_id>/download")
@office_required
def download(key: str, definition_id: int) -> Any:
    row = designer.get_version(current_session(), key, definition_id)
    return Response(
        row.bpmn_xml,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{key}-v{row.version}.bpmn"'},
    )


@bp.post("/<key>/upload")
@office_required
def upload(key: str) -> Any:
    if not FlaskForm().validate():
        return render_process(key, [designer.Problem(None, _("The form expired; reload the page."))], 400)
    file = request.files.get("file")
    if file is None or not file.filename:
        return render_process(key, [designer.Problem(None, _("Choose a .bpmn file."))], 422)
    raw = file.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return render_process(key, [designer.Problem(None, _("The file is not UTF-8 text."))], 422)
    try:
        row = designer.save_draft(
            current_session(),
            current_user.actor,
            key,
            text,
            comment=request.form.get("comment") or _("uploaded %(file)s", file=file.filename),
            action="upload",
        )
    except designer.DesignRefused as exc:  # refused before anything was written; the 422 rolls back
        return render_process(key, exc.problems, 422)
    flash(_("Uploaded as draft version %(v)d. Nothing runs on it until it is deployed.", v=row.version), "success")
    return redirect(url_for("processes.version", key=key, definition_id=row.id))


@bp.post("/<key>/versions/<int:definition_id>/deploy")
@office_required
def deploy(key: str, definition_id: int) -> Any:
    if not FlaskForm().validate():
        flash(_("The form expired; try again."), "warning")
        return redirect(url_for("processes.process", key=key))
    unit_id = _scope(request.form.get("scope"))
    try:
        row = designer.deploy(current_session(), current_user.actor, key, definition_id, unit_id)
    except designer.DesignRefused as exc:  # refused before anything was written; the 422 rolls back
        return render_process(key, exc.problems, 422)
    where = _unit_names().get(unit_id, "") if unit_id else _("the whole district")
    text = _(
        "Version %(v)d is now active for %(where)s; running instances stay on their version.",
        v=row.version,
        where=where,
    )
    flash(text, "success")
    return redirect(url_for("processes.process", key=key))


@bp.post("/<key>/rollback")
@office_required
def rollback(key: str) -> Any:
    if not FlaskForm().validate():
        flash(_("The form expired; try again."), "warning")
        return redirect(url_for("processes.process", key=key))
    unit_id = _scope(request.form.get("scope"))
    try:
        previous = designer.rollback(current_session(), current_user.actor, key, unit_id)
    except (Conflict, NotFound) as exc:
        flash_error(exc)
        return redirect(url_for("processes.process", key=key))
    if previous is None:
        flash(_("The unit's variant is retired; the unit uses the district's version again."), "success")
    else:
        flash(_("Version %(v)d is active again.", v=previous.version), "success")
    return redirect(url_for("processes.process", key=key))


def flash_error(exc: Exception) -> None:
    flash(str(localise(getattr(exc, "message", str(exc)))), "danger")
