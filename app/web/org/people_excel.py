"""Excel import and export of people: the template, the checked upload, the export."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, make_response, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from app.extensions import current_session
from app.services import audit, people_io, people_xlsx
from app.web.audit import writes_on_get
from app.web.org import bp

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

OUTCOME_LABELS = {
    "create": _l("Create"),
    "update": _l("Update"),
    "unchanged": _l("Unchanged"),
    "error": _l("Error"),
}
CHANGE_LABELS = {
    "name": _l("Name"),
    "section": _l("Section"),
    "post": _l("Post"),
    "status": _l("Status"),
    "username": _l("New account"),
}


class ImportForm(FlaskForm):
    file = FileField(
        _l("Excel file (.xlsx)"),
        validators=[
            FileRequired(_l("Choose the Excel file to import.")),
            FileAllowed(["xlsx"], _l("Only Excel workbooks (.xlsx) can be imported.")),
        ],
    )


def translate(message: people_io.Message) -> str:
    """A service message in the user's language (its parameters filled in)."""
    return _(message.msgid, **message.params)


def _today() -> str:
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y%m%d")


def _xlsx(data: bytes, name: str) -> Any:
    response = send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/people/import", methods=["GET", "POST"])
@login_required
def import_people() -> Any:
    actor = current_user.actor
    people_io.require_importer(actor)
    form = ImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        report = people_io.import_people(current_session(), actor, upload.read(), upload.filename or "")
        if report.ok:
            n = report.counts
            msg = _("Import finished: %(create)d created, %(update)d updated, %(unchanged)d unchanged.", **n)
            flash(msg, "success")
        else:
            status = 422  # nothing is written: the request's transaction rolls back
    elif request.method == "POST":
        status = 422
    html = render_template(
        "org/import.html",
        form=form,
        report=report,
        translate=translate,
        outcome_labels=OUTCOME_LABELS,
        change_labels=CHANGE_LABELS,
        max_rows=people_io.MAX_ROWS,
    )
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"  # generated passwords are shown once
    return response


@bp.get("/people/import/template")
@login_required
def people_template() -> Any:
    data = people_xlsx.template_workbook(current_session(), current_user.actor)
    return _xlsx(data, "人员信息导入模板.xlsx")


@bp.get("/people/export")
@writes_on_get
@login_required
def export_people() -> Any:
    data = people_xlsx.export_people(
        current_session(),
        current_user.actor,
        q=request.args.get("q", ""),
        unit_id=request.args.get("unit_id", type=int),
        section_id=request.args.get("section_id", type=int),
        include_left=request.args.get("include_left") == "1",
    )
    audit.record(current_session(), current_user.actor, "export.people", "person", None, "success", dict(request.args))
    return _xlsx(data, f"人员信息-{_today()}.xlsx")
