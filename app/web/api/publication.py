"""Publication and bonus-distribution endpoints of /api/v1.

The approval steps (submit, approve/return) are tasks: complete them through
``/tasks/<id>/complete`` like any other step.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from flask import Response, jsonify, request

from app.extensions import current_session
from app.models import BonusDistribution, Publication, PublicationObjection, PublicationRow
from app.services.appraisal import (
    distribution,
    distribution_export,
    objections,
    publication,
    publication_views,
    withdrawal,
)
from app.services.errors import Invalid
from app.web.api import bp, current_actor, json_body, token_required
from app.web.params import is_id
from app.web.publication.distributions import export_labels


def _at(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def objection_json(o: PublicationObjection) -> dict[str, Any]:
    return {
        "id": o.id,
        "row_id": o.row_id,
        "person": {"id": o.person_id, "name": o.person.name},
        "text": o.text,
        "filed_at": _at(o.filed_at),
        "answer": o.answer,
        "answered_by": o.answered_by.name if o.answered_by else None,
        "answered_at": _at(o.answered_at),
    }


def row_json(row: PublicationRow, detail: bool, objections_too: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "position": row.position,
        "person": {"id": row.person_id, "name": row.person_name},
        "section": row.section_name,
        "total": str(row.total),
        "grade": row.grade,
    }
    if detail:
        out["components"] = row.components
    if objections_too:
        out["objections"] = [objection_json(o) for o in row.objections]
    return out


def publication_json(pub: Publication) -> dict[str, Any]:
    return {
        "id": pub.id,
        "unit": {"id": pub.unit_id, "name": pub.unit.name},
        "period": pub.period,
        "revision": pub.revision,
        "status": pub.status.value,
        "reason": pub.reason,
        "supersedes_id": pub.supersedes_id,
        "publish_scope": pub.publish_scope,
        "publicity_days": pub.publicity_days,
        "instance_id": pub.instance_id,
        "published_at": _at(pub.published_at),
        "window_ends_at": _at(pub.window_ends_at),
        "objections_until": publication.last_day(pub) or None,
    }


def _view_json(view: publication_views.View) -> dict[str, Any]:
    me = view.own.id if view.own else None
    return {
        **publication_json(view.publication),
        "rows": [row_json(r, view.manage or r.id == me, view.manage or r.id == me) for r in view.rows],
        "own_row_id": me,
    }


def distribution_json(dist: BonusDistribution) -> dict[str, Any]:
    return {
        "id": dist.id,
        "unit": {"id": dist.unit_id, "name": dist.unit.name},
        "period": dist.period,
        "revision": dist.revision,
        "status": dist.status.value,
        "pool": f"{dist.pool:.2f}",
        "method": dist.method,
        "grade_coefficients": dist.grade_coefficients,
        "coefficient_sum": distribution.num(distribution.sum_coefficients(dist)),
        "formula": distribution.formula(dist),
        "reason": dist.reason,
        "instance_id": dist.instance_id,
        "computed_at": dist.computed_at.isoformat() if dist.computed_at else None,
        "confirmed_at": dist.confirmed_at.isoformat() if dist.confirmed_at else None,
        "shares": [
            {
                "person": {"id": s.person_id, "name": s.person_name, "staff_no": s.staff_no},
                "section": s.section_name,
                "total": str(s.total),
                "grade": s.grade,
                "grade_coefficient": None if s.grade_coefficient is None else str(s.grade_coefficient),
                "coefficient": str(s.coefficient),
                "amount": f"{s.amount:.2f}",
                "extra_fen": s.extra_fen,
                "formula": distribution.share_formula(dist, s),
            }
            for s in dist.shares
        ],
    }


def _unit_id(body: dict[str, Any], default: int | None) -> int:
    unit_id = body.get("unit_id", default)
    if not is_id(unit_id):
        raise Invalid("Send unit_id as a positive integer.", {"unit_id": "Required, an id."})
    return unit_id


@bp.get("/publications")
@token_required
def list_publications() -> Any:
    found = publication_views.list_publications(
        current_session(), current_actor(), request.args.get("unit_id", type=int)
    )
    return jsonify({"items": [publication_json(p) for p in found], "total": len(found)})


@bp.post("/publications")
@token_required
def create_publication() -> Any:
    body = json_body()
    actor = current_actor()
    unit_id = _unit_id(body, actor.unit_id)
    found = publication.prepare_publication(current_session(), actor, unit_id, body.get("period"), body.get("reason"))
    return jsonify(_view_json(publication_views.get_publication(current_session(), actor, found.id))), 201


@bp.get("/publications/<int:publication_id>")
@token_required
def get_publication(publication_id: int) -> Any:
    return jsonify(_view_json(publication_views.get_publication(current_session(), current_actor(), publication_id)))


@bp.get("/publications/mine")
@token_required
def my_publication_row() -> Any:
    row = publication_views.my_row(current_session(), current_actor(), request.args.get("period"))
    if row is None:
        return jsonify({"row": None})
    return jsonify({"publication": publication_json(row.publication), "row": row_json(row, True, True)})


@bp.post("/publications/rows/<int:row_id>/objections")
@token_required
def file_objection(row_id: int) -> Any:
    body = json_body()
    found = objections.file_objection(current_session(), current_actor(), row_id, body.get("text"))
    return jsonify(objection_json(found)), 201


@bp.post("/publications/objections/<int:objection_id>/answer")
@token_required
def answer_objection(objection_id: int) -> Any:
    body = json_body()
    found = objections.answer_objection(current_session(), current_actor(), objection_id, body.get("answer"))
    return jsonify(objection_json(found))


@bp.get("/distributions")
@token_required
def list_distributions() -> Any:
    actor = current_actor()
    unit_id = request.args.get("unit_id", type=int) or actor.unit_id
    if unit_id is None:
        raise Invalid("Pass unit_id.", {"unit_id": "Required."})
    found = distribution.list_distributions(current_session(), actor, unit_id)
    return jsonify({"items": [distribution_json(d) for d in found], "total": len(found)})


@bp.post("/distributions")
@token_required
def create_distribution() -> Any:
    body = json_body()
    actor = current_actor()
    unit_id = _unit_id(body, actor.unit_id)
    found = distribution.create_distribution(
        current_session(), actor, unit_id, body.get("period"), body.get("pool"), body.get("reason")
    )
    return jsonify(distribution_json(found)), 201


@bp.get("/distributions/<int:distribution_id>")
@token_required
def get_distribution(distribution_id: int) -> Any:
    return jsonify(
        distribution_json(distribution.get_distribution(current_session(), current_actor(), distribution_id))
    )


@bp.post("/distributions/<int:distribution_id>/compute")
@token_required
def compute_distribution(distribution_id: int) -> Any:
    body = json_body()
    found = distribution.recompute(current_session(), current_actor(), distribution_id, body.get("pool"))
    return jsonify(distribution_json(found))


@bp.get("/distributions/<int:distribution_id>/export.xlsx")
@token_required
def export_distribution(distribution_id: int) -> Any:
    body = distribution_export.export_workbook(current_session(), current_actor(), distribution_id, export_labels())
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="bonus-{distribution_id}.xlsx"'},
    )


@bp.post("/publications/<int:publication_id>/withdraw")
@token_required
def withdraw_publication(publication_id: int) -> Any:
    body = json_body()
    actor = current_actor()
    withdrawal.withdraw_publication(current_session(), actor, publication_id, body.get("reason"))
    return jsonify(_view_json(publication_views.get_publication(current_session(), actor, publication_id)))


@bp.post("/distributions/<int:distribution_id>/withdraw")
@token_required
def withdraw_distribution(distribution_id: int) -> Any:
    body = json_body()
    found = withdrawal.withdraw_distribution(current_session(), current_actor(), distribution_id, body.get("reason"))
    return jsonify(distribution_json(found))


import_module("app.web.api.publication_openapi")  # the OpenAPI description of these paths
