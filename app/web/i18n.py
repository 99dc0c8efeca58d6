"""Locale and time-zone selection for Flask-Babel."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user

LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LOCALES:
        return str(chosen)
    if current_user and getattr(current_user, "is_authenticated", False):
        user_locale = getattr(current_user.account, "locale", None)
        if user_locale in LOCALES:
            return str(user_locale)
    if request and request.accept_languages:
        best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
        if best == "en" and current_app.config["DEFAULT_LOCALE"] != "zh_CN":
            return "en"
    return str(current_app.config["DEFAULT_LOCALE"])


def select_timezone() -> str:
    return str(current_app.config["TIMEZONE"])
