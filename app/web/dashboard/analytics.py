"""Process analytics pages: step times and waiting work painted on the BPMN diagram as a heat map."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_login import current_user, login_required

from app.extensions import current_session
from app.models import OrgUnit, ProcessDefinition
from app.services.dashboard.common import analytics_unit
from app.services.errors import T_, NotFound
from app.workflow import analytics

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


def _definition(definition_id: int) -> ProcessDefinition:
    row = current_session().get(ProcessDefinition, definition_id)
    if row is None:
        raise NotFound(T_("Process version %(id)s does not exist.", id=definition_id))
    return row


@bp.get("/processes")
@login_required
def index() -> Any:
    unit_id = analytics_unit(current_user.actor, request.args.get("unit", type=int))
    rows = analytics.versions_with_work(current_session(), unit_id=unit_id)
    unit = current_session().get(OrgUnit, unit_id) if unit_id else None
    return render_template("analytics/index.html", rows=rows, unit=unit)


@bp.get("/processes/<int:definition_id>")
@login_required
def heatmap(definition_id: int) -> Any:
    unit_id = analytics_unit(current_user.actor, request.args.get("unit", type=int))
    row = _definition(definition_id)
    steps = analytics.step_figures(current_session(), row.id, unit_id=unit_id)
    overdue = analytics.overdue_by_unit(current_session(), row.id, unit_id=unit_id)
    unit = current_session().get(OrgUnit, unit_id) if unit_id else None
    return render_template(
        "analytics/heatmap.html",
        row=row,
        steps=steps,
        overdue=overdue,
        unit=unit,
        figures=[s.as_json() for s in steps],
    )


@bp.get("/processes/<int:definition_id>/diagram.bpmn")
@login_required
def diagram(definition_id: int) -> Any:
    analytics_unit(current_user.actor, request.args.get("unit", type=int))
    return Response(_definition(definition_id).bpmn_xml, mimetype="application/xml")
