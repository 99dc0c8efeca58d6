"""The scoring flags page (differentiation check) and the Excel export of results."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session
from app.services.appraisal import differentiation, results_xlsx
from app.services.appraisal.common import local_today
from app.services.errors import Forbidden
from app.services.periods import month_before, period_kind
from app.web.audit import writes_on_get
from app.web.results import bp
from app.web.results.labels import ANNUAL_GRADES, PERIOD_GRADES, STATUS


@bp.get("/flags")
@login_required
def flags() -> Any:
    period = request.args.get("period") or month_before(local_today())
    if period_kind(period) != "month":
        abort(404)
    unit_id = request.args.get("unit_id", type=int)
    limits = differentiation.Thresholds.from_config(current_app.config)
    try:
        found = differentiation.flags(current_session(), current_user.actor, period, limits, unit_id)
        units = differentiation.visible_units(current_session(), current_user.actor)
    except Forbidden:
        abort(403)
    return render_template(
        "results/flags.html", period=period, flags=found, limits=limits, units=units, unit_id=unit_id
    )


def export_labels() -> dict[str, str]:
    labels = {
        "staff_no": _("Staff number"),
        "name": _("Name"),
        "section": _("Section"),
        "indicator_score": _("Indicator score"),
        "evaluation_score": _("Evaluation score"),
        "bonus_points": _("Bonus"),
        "deduction_points": _("Deduction"),
        "total": _("Total score"),
        "computed_grade": _("Grade by threshold"),
        "grade": _("Grade"),
        "rule": _("Decided by"),
        "formula": _("Formula"),
        "status": _("Status"),
        "rule.threshold": _("Threshold"),
        "rule.quota_choice": _("Quota choice"),
        "rule.veto": _("Veto item"),
        "rule.excellent_requires": _("好 quarters required for 优秀"),
        "rule.excellent_forbids_low": _("No 一般/较差 quarter for 优秀"),
    }
    labels.update({f"grade.{k}": str(v) for k, v in {**PERIOD_GRADES, **ANNUAL_GRADES}.items()})
    labels.update({f"status.{k}": str(v[0]) for k, v in STATUS.items()})
    return labels


@bp.get("/unit/<int:unit_id>/export.xlsx")
@writes_on_get  # the export is audited
@login_required
def export(unit_id: int) -> Any:
    period = request.args.get("period", "")
    if period_kind(period) not in ("quarter", "year"):
        abort(404)
    body = results_xlsx.export_workbook(current_session(), current_user.actor, unit_id, period, export_labels())
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="results-{unit_id}-{period}.xlsx"'},
    )
