"""Jixiao 全员绩效管理系统: the Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from config import load_settings


def create_app(config_overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from settings; no side effects (no schema change, no scheduler start)."""
    settings = load_settings(config_overrides)
    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.update(settings)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        TESTING=settings["ENV"] == "testing",
        MAX_CONTENT_LENGTH=settings["MAX_UPLOAD_MB"] * 1024 * 1024,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["SESSION_HOURS"]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["COOKIE_SECURE"],
        REMEMBER_COOKIE_HTTPONLY=True,
        BABEL_DEFAULT_LOCALE=settings["DEFAULT_LOCALE"],
        BABEL_DEFAULT_TIMEZONE=settings["TIMEZONE"],
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent / "translations"),
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    from app.models.sealed import derive_data_key, set_data_key

    set_data_key(derive_data_key(settings["SECRET_KEY"], settings["DATA_KEY"]))
    from app.db import engine_options

    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(settings["DATABASE_URL"]))

    from app.extensions import babel, csrf, db, login_manager, migrate
    from app.web.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    from app.db import configure_engine

    with app.app_context():
        configure_engine(db.engine)

    from app.services.analysis import flow as analysis_flow
    from app.services.appraisal import bonus_flow, evaluation_flow, publication_flow
    from app.services.appraisal import flow as appraisal_flow
    from app.services.indicators import flow as indicator_flow

    indicator_flow.register()
    appraisal_flow.register(app.config)
    bonus_flow.register()
    publication_flow.register()
    evaluation_flow.register()
    analysis_flow.register()
    from app.services.appraisal import results as appraisal_results

    appraisal_results.install_guard()  # confirmed results are frozen

    from app.web import register_web

    register_web(app)

    from app.cli import register_cli

    register_cli(app)
    return app
