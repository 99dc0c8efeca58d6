"""The modeler page and its JSON endpoints: save a draft, validate, check an expression as it is typed.

The endpoints take JSON with the page's CSRF token in the ``X-CSRFToken`` header and answer JSON;
a refused save answers 422 with every problem, naming the element, and stores nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import current_session
from app.web.labels import role_label
from app.web.processes import bp, office_required
from app.workflow import designer
from app.workflow.definitions import LANE_ROLES, NS
from app.workflow.engine import parse_duration
from app.workflow.expressions import UnsafeExpression, check_expression
from forms import FORMS

NOTIFY_KINDS = ("reminder", "escalation")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.get("/<key>/versions/<int:definition_id>/edit")
@office_required
def edit(key: str, definition_id: int) -> Any:
    row = designer.get_version(current_session(), key, definition_id)
    roles = [{"key": r, "label": f"{role_label(r)} ({r})"} for r in LANE_ROLES]
    forms = [
        {"key": f.key, "label": f"{_(f.title)} ({f.key})" + (" · " + _("generic") if f.generic else "")}
        for f in sorted(FORMS.values(), key=lambda f: (not f.generic, f.key))
    ]
    return render_template(
        "processes/modeler.html",
        key=key,
        row=row,
        roles=roles,
        forms=forms,
        notify_kinds=NOTIFY_KINDS,
        modeler_config=json.dumps(
            {
                "xml": url_for("processes.xml", key=key, definition_id=row.id),
                "save": url_for("processes.save_draft", key=key),
                "validate": url_for("processes.validate"),
                "check": url_for("processes.check"),
                "key": key,
                "basedOn": row.id,
                "roles": list(LANE_ROLES),
                "namespace": NS["spiffworkflow"],
                "newStep": _("New approval step"),
                "reminder": _("Reminder"),
                "escalation": _("Escalation"),
            },
            ensure_ascii=False,
        ),
    )


def _links(row: Any) -> dict[str, str]:
    return {
        "view": url_for("processes.version", key=row.key, definition_id=row.id),
        "edit": url_for("processes.edit", key=row.key, definition_id=row.id),
        "simulate": url_for("processes.simulate", key=row.key, definition_id=row.id),
        "process": url_for("processes.process", key=row.key),
    }


@bp.post("/<key>/drafts")
@office_required
def save_draft(key: str) -> Any:
    body = _body()
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        return jsonify({"ok": False, "message": _("Send the diagram as XML."), "problems": []}), 422
    based_on = body.get("based_on") if isinstance(body.get("based_on"), int) else None
    try:
        row = designer.save_draft(
            current_session(),
            current_user.actor,
            key,
            xml,
            comment=str(body.get("comment") or ""),
            based_on_id=based_on,
        )
    except designer.DesignRefused as exc:
        return jsonify(
            {
                "ok": False,
                "message": _("Not saved: fix these problems first."),
                "problems": [p.as_json() for p in exc.problems],
            }
        ), 422
    return jsonify(
        {
            "ok": True,
            "id": row.id,
            "version": row.version,
            "message": _("Saved as draft version %(v)d. Running work is not affected.", v=row.version),
            "links": _links(row),
        }
    ), 201


@bp.post("/validate")
@office_required
def validate() -> Any:
    body = _body()
    xml = body.get("xml")
    if not isinstance(xml, str):
        return jsonify({"ok": False, "problems": [], "message": _("Send the diagram as XML.")}), 422
    key = body.get("key") if isinstance(body.get("key"), str) else None
    _loaded, problems = designer.validate(xml, key)
    message = _("No problems found.") if not problems else _("%(n)d problem(s) found.", n=len(problems))
    return jsonify({"ok": not problems, "problems": [p.as_json() for p in problems], "message": message})


@bp.post("/check-expression")
@office_required
def check() -> Any:
    """Check one value as it is typed: a flow condition, or a timer or due duration (ISO 8601)."""
    body = _body()
    kind = body.get("kind", "condition")
    text = str(body.get("expression") or "").strip()
    if not text:
        return jsonify({"ok": True, "message": ""})
    if kind in ("timer", "due"):
        try:
            parse_duration(text, datetime.now(UTC))
        except ValueError:
            return jsonify({"ok": False, "message": _("Write an ISO 8601 duration, e.g. P3D (3 days) or PT12H.")})
        return jsonify({"ok": True, "message": _("Accepted.")})
    try:
        check_expression(text)
    except UnsafeExpression as exc:
        return jsonify({"ok": False, "message": _("Refused: %(why)s", why=str(exc))})
    return jsonify({"ok": True, "message": _("Accepted by the restricted evaluator.")})
