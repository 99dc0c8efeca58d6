"""The audit viewer (审计日志) for the audit administrator only, and the request hooks the trail needs.

``writes_on_get`` marks a GET view that records an audit event (exports): its transaction must begin
as a writer (see ``app.db.READ_ONLY``) so the append is serialised like any other write.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, g, render_template, request, send_file
from flask_login import current_user, login_required

from app.extensions import current_session
from app.models import Role
from app.models.audit import RESULTS
from app.services import audit
from app.services.errors import T_, Forbidden

bp = Blueprint("audit", __name__, url_prefix="/audit")

F = TypeVar("F", bound=Callable[..., Any])
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTER_KEYS = ("start", "end", "actor", "action", "result", "object_type", "object_id")


def writes_on_get(view: F) -> F:
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def is_writing_get(app: Flask, endpoint: str | None) -> bool:
    return bool(getattr(app.view_functions.get(endpoint or ""), "writes_on_get", False))


@bp.before_app_request
def _remember_remote_addr() -> None:
    g.audit_addr_token = audit.REMOTE_ADDR.set(request.remote_addr)


@bp.teardown_app_request
def _forget_remote_addr(_exc: BaseException | None) -> None:
    token = g.pop("audit_addr_token", None)
    if token is not None:
        audit.REMOTE_ADDR.reset(token)


def _require_auditor() -> None:
    # Deliberately not ``actor.has``: no other role, however broad, reads the trail (三权分立).
    if Role.audit_admin not in current_user.actor.scopes:
        raise Forbidden(T_("Only the audit administrator may read the audit trail."))


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters() -> tuple[audit.AuditFilter, dict[str, str]]:
    """Dates are the district's calendar days; ``end`` is inclusive."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    start, end = _day("start"), _day("end")
    result = request.args.get("result", "")
    chosen = {k: (request.args.get(k) or "").strip()[:128] for k in FILTER_KEYS}
    chosen["start"], chosen["end"] = (start.isoformat() if start else ""), (end.isoformat() if end else "")
    chosen["result"] = result if result in RESULTS else ""
    filters = audit.AuditFilter(
        start=datetime.combine(start, datetime.min.time(), tz) if start else None,
        end=datetime.combine(end + timedelta(days=1), datetime.min.time(), tz) if end else None,
        actor=chosen["actor"],
        action=chosen["action"],
        result=chosen["result"],
        object_type=chosen["object_type"],
        object_id=chosen["object_id"],
    )
    return filters, {k: v for k, v in chosen.items() if v}


@bp.get("")
@login_required
def index() -> Any:
    _require_auditor()
    filters, chosen = _filters()
    page = audit.search(
        current_session(), filters, request.args.get("page", 1, type=int), current_app.config.get("PAGE_SIZE", 50)
    )
    return render_template(
        "audit/index.html",
        page=page,
        filters=chosen,
        actions=audit.actions(current_session()),
        results=RESULTS,
    )


@bp.get("/export.xlsx")
@writes_on_get
@login_required
def export() -> Any:
    _require_auditor()
    filters, chosen = _filters()
    data, count = audit.export_workbook(current_session(), filters)
    audit.record(
        current_session(), current_user.actor, "export.audit", "audit_event", None, "success", {**chosen, "rows": count}
    )
    response = send_file(
        io.BytesIO(data),
        mimetype=XLSX_MIME,
        as_attachment=True,
        download_name=f"audit-{date.today().isoformat()}.xlsx",
    )
    response.headers["Cache-Control"] = "no-store"
    return response
