"""Web layer: blueprints, login loading, error pages and the per-request unit of work."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from app.db import READ_ONLY
from app.extensions import current_session, db, login_manager
from app.services import accounts
from app.services.errors import ServiceError
from app.web.current import CurrentUser


def register_web(app: Flask) -> None:
    from app.web import params

    params.install(app)  # bounded integers in URLs, queries and forms: must precede the blueprints
    from app.web.api import bp as api_bp
    from app.web.auth import bp as auth_bp
    from app.web.inbox import bp as inbox_bp
    from app.web.main import bp as main_bp
    from app.web.org import bp as org_bp

    for bp in (auth_bp, main_bp, inbox_bp, org_bp, api_bp):
        app.register_blueprint(bp)
    from app.web.appraisal import bp as appraisal_bp

    app.register_blueprint(appraisal_bp)
    from app.web.cycles import bp as cycles_bp
    from app.web.notifications import bp as notifications_bp

    app.register_blueprint(cycles_bp)
    app.register_blueprint(notifications_bp)
    from app.web.matrix import bp as matrix_bp

    app.register_blueprint(matrix_bp)
    from app.web.indicators import bp as indicators_bp

    app.register_blueprint(indicators_bp)
    from app.web.processes import bp as processes_bp

    app.register_blueprint(processes_bp)
    from app.web.analysis import bp as analysis_bp

    app.register_blueprint(analysis_bp)
    from app.web.audit import bp as audit_bp
    from app.web.audit import is_writing_get

    app.register_blueprint(audit_bp)
    from app.web.publication import bp as publication_bp

    app.register_blueprint(publication_bp)
    from app.web.bonus import bp as bonus_bp

    app.register_blueprint(bonus_bp)
    from app.web.results import bp as results_bp
    from app.web.scheme import bp as scheme_bp

    app.register_blueprint(results_bp)
    app.register_blueprint(scheme_bp)
    from app.web.evaluation import bp as evaluation_bp

    app.register_blueprint(evaluation_bp)
    from app.web.dashboard import bp as dashboard_bp
    from app.web.dashboard.analytics import bp as analytics_bp

    app.register_blueprint(dashboard_bp)
    app.register_blueprint(analytics_bp)

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def _load_user(_user_id: str) -> CurrentUser | None:
        sid = session.get("sid")
        account = accounts.session_user(current_session(), sid, app.config["SESSION_IDLE_MINUTES"])
        if account is None or str(account.id) != _user_id:
            return None
        return CurrentUser(account, sid)

    @app.before_request
    def _mark_read_only() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS") and not is_writing_get(app, request.endpoint):
            g.read_only_token = READ_ONLY.set(True)

    @app.teardown_request
    def _unmark_read_only(_exc: BaseException | None) -> None:
        token = g.pop("read_only_token", None)
        if token is not None:
            READ_ONLY.reset(token)

    @app.after_request
    def _finish_unit_of_work(response: Response) -> Response:
        # One transaction per request: success commits, any error status rolls back, so
        # a rejected form (422) or refused action never leaves half a change behind.
        if (response.status_code < 400 and not g.get("rollback_only")) or g.get("force_commit"):
            db.session.commit()
        else:
            db.session.rollback()
        return response

    from flask_babel import get_locale

    from app.web import labels
    from app.web.localise import localise

    app.jinja_env.filters["localise"] = localise
    app.jinja_env.globals.update(
        get_locale=get_locale,
        localise=localise,
        role_label=labels.role_label,
        unit_type_label=labels.unit_type_label,
        task_status=labels.task_status,
        instance_status=labels.instance_status,
        decision_label=labels.decision_label,
        notification_kind=labels.notification_kind,
        assignment_warning=labels.assignment_warning,
    )

    @app.before_request
    def _require_password_change() -> Any:
        allowed = {"auth.change_password", "auth.logout", "static", "auth.set_language"}
        if (
            current_user.is_authenticated
            and current_user.account.must_change_password
            and request.endpoint not in allowed
            and not request.path.startswith("/api/")
        ):
            return redirect(url_for("auth.change_password"))
        return None

    from app.web.security import add_security_headers

    app.after_request(add_security_headers)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        from app.web.nav import badges, navigation

        if not current_user.is_authenticated:
            return {"nav_items": [], "nav_badges": {}}
        return {"nav_items": navigation(current_user), "nav_badges": badges(current_user)}

    from app.web.localise import localise

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Any:
        db.session.rollback()
        if request.path.startswith("/api/"):
            body: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if fields := getattr(exc, "fields", None):
                body["fields"] = fields
            if details := getattr(exc, "details", None):
                body.update(details)
            return jsonify({"error": body}), exc.status
        return render_template("error.html", status=exc.status, message=localise(exc.message)), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        db.session.rollback()
        if request.path.startswith("/api/"):
            code = (exc.name or "error").lower().replace(" ", "_")
            return jsonify({"error": {"code": code, "message": exc.description}}), exc.code
        return render_template("error.html", status=exc.code, message=exc.description), exc.code
