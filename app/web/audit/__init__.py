"""The audit viewer (审计日志) for the audit administrator only, and the request hooks the trail needs.

``writes_on_get`` marks a GET view that records an audit event (exports): its transaction must begin
as a writer (see ``app.db.READ_ONLY``) so the append is serialised like any other write.

Two events are recorded here for every route at once, so no blueprint can forget them: a refused
request (any 403, page or API, with its path) and a file download (any attachment answered 200 by a
view that does not audit its own export). The request's own transaction is finished first (a 403
rolls back, a download commits its reads), then the event is written and committed on its own.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, g, render_template, request, send_file
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from app.db import READ_ONLY
from app.extensions import current_session
from app.models.audit import RESULTS
from app.services import audit

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
    g.audit_export_token = audit.EXPORT_RECORDED.set(False)


@bp.teardown_app_request
def _forget_remote_addr(_exc: BaseException | None) -> None:
    token = g.pop("audit_addr_token", None)
    if token is not None:
        audit.REMOTE_ADDR.reset(token)
    export_token = g.pop("audit_export_token", None)
    if export_token is not None:
        audit.EXPORT_RECORDED.reset(export_token)


@bp.after_app_request
def _audit_denials_and_downloads(response: Response) -> Response:
    status = response.status_code
    disposition = response.headers.get("Content-Disposition", "")
    if status == 403:
        action, result = "access.denied", "denied"
    elif status == 200 and disposition.startswith("attachment") and not audit.EXPORT_RECORDED.get():
        action, result = "export.download", "success"  # a download whose view did not record its own export
    else:
        return response
    details: dict[str, Any] = {"method": request.method, "endpoint": request.endpoint}
    if request.query_string:
        details["query"] = request.query_string.decode("utf-8", "replace")[:500]
    if action == "export.download":
        details["file"] = response.headers.get("Content-Disposition", "")[:300]
    session = current_session()
    if status == 403 or g.get("rollback_only"):
        session.rollback()
    else:
        session.commit()
    token = READ_ONLY.set(False)  # the event is a write: on SQLite its transaction must begin IMMEDIATE
    try:
        actor = _request_actor()
        audit.record(session, actor, action, "url", request.path[:128], result, details)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        current_app.logger.exception("could not record %s for %s", action, request.path)
    finally:
        READ_ONLY.reset(token)
    return response


def _request_actor() -> Any:
    """The browser user's or the API token's actor, or ``None`` for an anonymous request."""
    if request.path.startswith("/api/"):
        return g.get("actor")
    return current_user.actor if current_user.is_authenticated else None


def _require_auditor() -> None:
    # Checked before the filters are parsed; the service checks again (it is the rule's home).
    audit.require_auditor(current_user.actor)


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
        current_session(),
        filters,
        request.args.get("page", 1, type=int),
        current_app.config.get("PAGE_SIZE", 50),
        actor=current_user.actor,
    )
    return render_template(
        "audit/index.html",
        page=page,
        filters=chosen,
        actions=audit.actions(current_session(), actor=current_user.actor),
        results=RESULTS,
    )


@bp.get("/export.xlsx")
@writes_on_get
@login_required
def export() -> Any:
    _require_auditor()
    filters, chosen = _filters()
    data, count = audit.export_workbook(current_session(), filters, actor=current_user.actor)
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
