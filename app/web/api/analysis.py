"""Monthly analysis reports over the API: a month's reports, one report, the office's overview, opening."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from app.extensions import current_session
from app.services.analysis import reports
from app.services.errors import Invalid
from app.web.api import bp, current_actor, json_body, token_required
from app.web.api.openapi import error_response, json_response, ref, register_paths
from app.web.params import is_id


@bp.get("/analysis-reports")
@token_required
def analysis_reports() -> Any:
    period = request.args.get("period", "")
    units = [int(v) for v in request.args.getlist("unit_id") if v.isdigit() and len(v) < 10]
    submitted = request.args.get("submitted_only", "true").lower() != "false"
    items = reports.reports_of(current_session(), current_actor(), period, units or None, submitted)
    return jsonify({"items": [reports.report_json(r, reports.shown_figures(current_session(), r)) for r in items]})


@bp.get("/analysis-reports/<int:report_id>")
@token_required
def analysis_report(report_id: int) -> Any:
    report = reports.get_report(current_session(), current_actor(), report_id)
    body = reports.report_json(report, reports.shown_figures(current_session(), report))
    body["snapshot_differences"] = {
        k: {"stored": a, "now": b}
        for k, (a, b) in reports.check_snapshot(current_session(), current_actor(), report).items()
    }
    return jsonify(body)


@bp.get("/analysis-reports/overview")
@token_required
def analysis_overview() -> Any:
    rows = reports.overview(current_session(), current_actor(), request.args.get("period", ""))
    return jsonify(
        {
            "items": [
                {
                    "unit": {"id": r.unit.id, "name": r.unit.name},
                    "state": r.state,
                    "report_id": r.report.id if r.report else None,
                    "submitted_at": r.report.submitted_at.isoformat() if r.report and r.report.submitted_at else None,
                }
                for r in rows
            ]
        }
    )


@bp.post("/analysis-reports")
@token_required
def analysis_open() -> Any:
    body = json_body()
    unit_id = body.get("unit_id")
    if not is_id(unit_id):
        raise Invalid("unit_id must be a unit id (integer).", {"unit_id": "Must be an integer."})
    report, created = reports.open_report(current_session(), current_actor(), unit_id, body.get("period", ""))
    return jsonify(reports.report_json(report, reports.shown_figures(current_session(), report))), (
        201 if created else 200
    )


_period = {"name": "period", "in": "query", "required": True, "schema": {"type": "string", "example": "2026-10"}}
_errors = {
    "401": error_response("Missing or invalid token"),
    "403": error_response("Not the unit's admin or principal, nor the office"),
    "422": error_response("Malformed period"),
}
_report_schema = {
    "type": "object",
    "required": ["id", "unit", "period", "status", "sections", "figures", "comments"],
    "properties": {
        "id": {"type": "integer"},
        "unit": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "period": {"type": "string"},
        "status": {"type": "string", "enum": ["drafting", "approving", "reviewing", "closed"]},
        "returned": {"type": "boolean"},
        "instance_id": {"type": "integer", "nullable": True},
        "sections": {"type": "object", "description": "overview, highlights, problems, plan"},
        "figures": {"type": "object", "description": "The snapshot once submitted, else the current figures"},
        "figures_at": {"type": "string", "format": "date-time", "nullable": True},
        "submitted_at": {"type": "string", "format": "date-time", "nullable": True},
        "approved_at": {"type": "string", "format": "date-time", "nullable": True},
        "reviewed_at": {"type": "string", "format": "date-time", "nullable": True},
        "review_comment": {"type": "string", "nullable": True},
        "comments": {"type": "array", "items": {"type": "object"}},
    },
}
register_paths(
    {
        "/analysis-reports": {
            "get": {
                "summary": "A month's monthly analysis reports the caller may read (月分析报告), filterable by unit",
                "tags": ["analysis"],
                "parameters": [
                    _period,
                    {"name": "unit_id", "in": "query", "schema": {"type": "integer"}, "description": "Repeatable"},
                    {"name": "submitted_only", "in": "query", "schema": {"type": "boolean", "default": True}},
                ],
                "responses": {
                    "200": json_response(
                        "The reports",
                        {"type": "object", "properties": {"items": {"type": "array", "items": ref("AnalysisReport")}}},
                    ),
                    **_errors,
                },
            },
            "post": {
                "summary": "Open a unit's report for a month (office, or the unit's admin); idempotent",
                "tags": ["analysis"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["unit_id", "period"],
                                "properties": {"unit_id": {"type": "integer"}, "period": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": json_response("The report was open already", ref("AnalysisReport")),
                    "201": json_response("The report is opened", ref("AnalysisReport")),
                    **_errors,
                    "404": error_response("No such unit"),
                },
            },
        },
        "/analysis-reports/{report_id}": {
            "get": {
                "summary": "One report with its figures, and how the snapshot differs from a recomputation",
                "tags": ["analysis"],
                "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {
                    "200": json_response("The report", ref("AnalysisReport")),
                    **_errors,
                    "404": error_response("No such report"),
                },
            }
        },
        "/analysis-reports/overview": {
            "get": {
                "summary": "The office's overview: each enabled unit's report state for a month",
                "tags": ["analysis"],
                "parameters": [_period],
                "responses": {"200": json_response("Per unit", {"type": "object"}), **_errors},
            }
        },
    },
    {"AnalysisReport": _report_schema},
)
