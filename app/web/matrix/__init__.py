"""The responsibility matrix (责任矩阵表): unit tasks × people, task pages, progress, guidance."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.extensions import current_session, db
from app.models import UnitTask
from app.services import evidence
from app.services.errors import T_, Conflict, Forbidden, Invalid
from app.services.indicators import matrix as matrix_service
from app.services.indicators import unit_tasks
from app.web.localise import localise

bp = Blueprint("matrix", __name__, url_prefix="/matrix")

STATUS_LABELS = {
    "not_started": _l("Not started"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "overdue": _l("Overdue"),
}
STATUS_CLASSES = {"not_started": "secondary", "in_progress": "primary", "done": "success", "overdue": "danger"}
ROLE_LABELS = {"lead": _l("Lead"), "assist": _l("Assisting")}


@bp.app_template_global()
def matrix_status(key: str) -> str:
    return str(STATUS_LABELS.get(key, key))


@bp.app_template_global()
def matrix_role(key: str) -> str:
    return str(ROLE_LABELS.get(key, key))


class TaskForm(FlaskForm):
    title = StringField(_l("Task"), validators=[DataRequired(), Length(max=unit_tasks.TITLE_MAX)])
    unit_indicator = StringField(
        _l("Unit-level indicator it serves"), validators=[Optional(), Length(max=unit_tasks.INDICATOR_MAX)]
    )
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    deadline = DateField(_l("Deadline"), validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=unit_tasks.DESCRIPTION_MAX)])


class AssignForm(FlaskForm):
    person_id = SelectField(_l("Person"), coerce=int, validators=[InputRequired()])
    role = SelectField(
        _l("Role in the task"), choices=[SelectChoice("lead", _l("Lead")), SelectChoice("assist", _l("Assisting"))]
    )


class ProgressForm(FlaskForm):
    assignment_id = SelectField(_l("Reporting for"), coerce=int, validators=[InputRequired()])
    progress = IntegerField(_l("Progress (%)"), validators=[InputRequired(), NumberRange(0, 100)])
    note = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=unit_tasks.NOTE_MAX)])
    evidence = FileField(
        _l("Evidence (optional)"), description=_l("PDF, PNG, JPEG, Word (.docx), Excel (.xlsx) or plain text.")
    )


class CommentForm(FlaskForm):
    assignment_id = SelectField(_l("Comment on"), coerce=int, validators=[InputRequired()])
    text = TextAreaField(_l("Guidance or evaluation"), validators=[DataRequired(), Length(max=unit_tasks.COMMENT_MAX)])


def _today() -> Any:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def _store() -> Path:
    return Path(current_app.instance_path) / "evidence"


def _put_errors(form: FlaskForm, exc: Invalid) -> None:
    for name, message in exc.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, localise(message)]
    flash(localise(exc.message), "danger")


def _selection() -> tuple[Any, int, int | None, list[Any]]:
    actor = current_user.actor
    units = matrix_service.visible_units(current_session(), actor)
    unit_id = request.args.get("unit_id", type=int) or actor.unit_id or (units[0].id if units else None)
    if unit_id is None:
        return None, _today().year, None, units
    unit = unit_tasks.check_view(current_session(), actor, unit_id)
    return unit, request.args.get("year", _today().year, type=int), request.args.get("section_id", type=int), units


def _table_context() -> dict[str, Any]:
    unit, year, section_id, units = _selection()
    result = None
    if unit is not None:
        result = matrix_service.matrix(current_session(), current_user.actor, unit.id, year, section_id, on=_today())
    return {
        "m": result,
        "units": units,
        "unit": unit,
        "year": year,
        "section_id": section_id,
        "classes": STATUS_CLASSES,
        "statuses": unit_tasks.STATUSES,
        "can_manage": unit is not None and unit_tasks.can_manage(current_user.actor, unit.id),
        "now": datetime.now(ZoneInfo(current_app.config["TIMEZONE"])),
    }


@bp.get("/")
@login_required
def index() -> Any:
    return render_template("matrix/index.html", **_table_context())


@bp.get("/table")
def table() -> Any:
    """The matrix table alone, polled by htmx every 30 s."""
    if not current_user.is_authenticated:  # stop polling and send the browser to the login page
        return Response("", status=286, headers={"HX-Redirect": url_for("auth.login")})
    return render_template("matrix/_table.html", **_table_context())


def _task_form_page(task: UnitTask | None, unit_id: int) -> Any:
    actor = current_user.actor
    form = TaskForm(obj=task) if task is not None else TaskForm()
    if task is None and request.method == "GET":
        form.year.data = request.args.get("year", _today().year, type=int)
    status = 200
    if form.validate_on_submit():
        data = unit_tasks.TaskInput(
            title=form.title.data or "",
            description=form.description.data or "",
            unit_indicator=form.unit_indicator.data or "",
            deadline=form.deadline.data,
            year=form.year.data,
        )
        try:
            if task is None:
                task = unit_tasks.create_task(current_session(), actor, unit_id, data)
                flash(_("Task recorded; now assign the people responsible."), "success")
            else:
                unit_tasks.update_task(current_session(), actor, task.id, data)
                flash(_("Task saved."), "success")
            return redirect(url_for("matrix.task", task_id=task.id))
        except Invalid as exc:
            _put_errors(form, exc)
            status = 422
    elif request.method == "POST":
        status = 422
    unit = unit_tasks.check_view(current_session(), actor, unit_id)
    return render_template("matrix/task_form.html", form=form, task=task, unit=unit), status


@bp.route("/tasks/new", methods=["GET", "POST"])
@login_required
def new_task() -> Any:
    unit_id = request.args.get("unit_id", type=int) or current_user.actor.unit_id
    if unit_id is None:
        return render_template("error.html", status=400, message=_("Choose a unit first.")), 400
    unit_tasks.check_view(current_session(), current_user.actor, unit_id)
    unit_tasks.require_manage(current_user.actor, unit_id)
    return _task_form_page(None, unit_id)


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@login_required
def edit_task(task_id: int) -> Any:
    task = unit_tasks.get_task(current_session(), current_user.actor, task_id)
    unit_tasks.require_manage(current_user.actor, task.unit_id)
    return _task_form_page(task, task.unit_id)


@bp.post("/tasks/<int:task_id>/delete")
@login_required
def delete_task(task_id: int) -> Any:
    task = unit_tasks.get_task(current_session(), current_user.actor, task_id)
    unit_id, year = task.unit_id, task.year
    try:
        unit_tasks.delete_task(current_session(), current_user.actor, task_id)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
        return redirect(url_for("matrix.task", task_id=task_id))
    flash(_("Task deleted."), "success")
    return redirect(url_for("matrix.index", unit_id=unit_id, year=year))


def _forms(task: UnitTask, **bound: FlaskForm) -> dict[str, Any]:
    """The page's three forms; the one that was posted keeps its data, the others start empty."""
    actor = current_user.actor
    assign = bound.get("assign") or AssignForm(prefix="assign", formdata=None)
    progress = bound.get("progress") or ProgressForm(prefix="progress", formdata=None)
    comment = bound.get("comment") or CommentForm(prefix="comment", formdata=None)
    manage = unit_tasks.can_manage(actor, task.unit_id)
    if manage:
        assign.person_id.choices = [
            SelectChoice(p.id, f"{p.name} ({p.section.name if p.section else ''})")
            for p in unit_tasks.unit_people(current_session(), actor, task.unit_id)
        ]
    reportable = [a for a in task.assignments if unit_tasks.can_report(actor, a)]
    progress.assignment_id.choices = [SelectChoice(a.id, a.person.name) for a in reportable]
    if "progress" not in bound and reportable:  # start from where the (first) person stands
        progress.progress.data = reportable[0].progress
    commentable = [a for a in task.assignments if unit_tasks.can_comment(actor, task, a)]
    on_task = unit_tasks.can_comment(actor, task)
    comment.assignment_id.choices = ([SelectChoice(0, _("The task as a whole"))] if on_task else []) + [
        SelectChoice(a.id, a.person.name) for a in commentable
    ]
    return {
        "assign_form": assign,
        "progress_form": progress,
        "comment_form": comment,
        "can_manage": manage,
        "can_report": bool(reportable),
        "can_comment": bool(comment.assignment_id.choices),
    }


def _task_page(task: UnitTask, status: int = 200, **bound: FlaskForm) -> Any:
    actor = current_user.actor
    updates = sorted((u for a in task.assignments for u in a.updates), key=lambda u: u.at, reverse=True)
    names = {a.id: a.person.name for a in task.assignments}
    return render_template(
        "matrix/task.html",
        task=task,
        updates=updates,
        names=names,
        evidence_ok={a.id for a in task.assignments if unit_tasks.can_see_evidence(actor, a)},
        classes=STATUS_CLASSES,
        today=_today(),
        overall=unit_tasks.status_of(unit_tasks.overall_progress(task), task.deadline, _today()),
        status_of=unit_tasks.status_of,
        **_forms(task, **bound),
    ), status


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int) -> Any:
    return _task_page(unit_tasks.get_task(current_session(), current_user.actor, task_id))


_ALLOWED = {"assign": "can_manage", "progress": "can_report", "comment": "can_comment"}


def _post(task_id: int, key: str, form_class: type[FlaskForm], action: Any, done: str) -> Any:
    """Validate the posted form, run ``action(form)``; on refusal re-render the page with what was typed."""
    task = unit_tasks.get_task(current_session(), current_user.actor, task_id)
    form = form_class(prefix=key)
    if not _forms(task, **{key: form})[_ALLOWED[key]]:  # also fills the select choices so they validate
        raise Forbidden(T_("You cannot do this on this task."))
    if form.validate_on_submit():
        try:
            action(form)
        except Invalid as exc:
            db.session.rollback()
            _put_errors(form, exc)
        else:
            flash(done, "success")
            return redirect(url_for("matrix.task", task_id=task_id))
    db.session.rollback()
    return _task_page(unit_tasks.get_task(current_session(), current_user.actor, task_id), 422, **{key: form})


@bp.post("/tasks/<int:task_id>/assign")
@login_required
def assign(task_id: int) -> Any:
    def run(form: Any) -> None:
        unit_tasks.assign(current_session(), current_user.actor, task_id, form.person_id.data, form.role.data)

    return _post(task_id, "assign", AssignForm, run, _("Assignment saved."))


@bp.post("/assignments/<int:assignment_id>/remove")
@login_required
def unassign(assignment_id: int) -> Any:
    task_id = request.form.get("task_id", type=int)
    try:
        unit_tasks.unassign(current_session(), current_user.actor, assignment_id)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
    else:
        flash(_("Taken off the task."), "success")
    return redirect(url_for("matrix.task", task_id=task_id) if task_id else url_for("matrix.index"))


@bp.post("/tasks/<int:task_id>/progress")
@login_required
def progress(task_id: int) -> Any:
    def run(form: Any) -> None:
        file = form.evidence.data
        upload = evidence.Upload(file.filename or "", file.read()) if file and file.filename else None
        unit_tasks.record_progress(
            current_session(),
            current_user.actor,
            form.assignment_id.data,
            form.progress.data,
            form.note.data,
            upload,
            store=_store(),
            max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
        )

    return _post(task_id, "progress", ProgressForm, run, _("Progress recorded."))


@bp.post("/tasks/<int:task_id>/comments")
@login_required
def comment(task_id: int) -> Any:
    def run(form: Any) -> None:
        target = form.assignment_id.data or None
        unit_tasks.add_comment(current_session(), current_user.actor, task_id, form.text.data, target)

    return _post(task_id, "comment", CommentForm, run, _("Comment added."))


@bp.get("/evidence/<int:progress_id>")
@login_required
def evidence_download(progress_id: int) -> Any:
    path, name, mimetype = unit_tasks.evidence_file(current_session(), current_user.actor, progress_id, _store())
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
