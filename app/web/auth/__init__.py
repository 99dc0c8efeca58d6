"""Login, logout and language choice."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.extensions import db
from app.services import accounts
from app.web.current import CurrentUser
from app.web.i18n import LOCALES

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        account = accounts.authenticate(db.session, form.username.data or "", form.password.data or "")
        if account is None:
            flash(_("Wrong username or password, or the account is disabled."), "danger")
            return render_template("auth/login.html", form=form), 401
        lang = session.get("lang")
        session.clear()  # a new session id at login: nothing from before carries over
        if lang:
            session["lang"] = lang
        row = accounts.start_session(db.session, account, current_app.config["SESSION_HOURS"], request.remote_addr)
        session["sid"] = row.id
        session.permanent = True
        login_user(CurrentUser(account, row.id))
        return redirect(_safe_next(request.args.get("next")))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    accounts.end_session(db.session, session.get("sid"))
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str) -> Any:
    if code in LOCALES:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.account.locale = code
    return redirect(_safe_next(request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)))
