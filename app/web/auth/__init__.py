"""Login, logout and language choice."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.extensions import current_session
from app.services import accounts, audit, security
from app.services.errors import Invalid
from app.web.current import CurrentUser
from app.web.i18n import LOCALES
from app.web.localise import localise

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
        result = security.login(
            current_session(),
            form.username.data or "",
            form.password.data or "",
            request.remote_addr,
            security.SecurityPolicy.from_config(current_app.config),
        )
        account = result.user
        if account is None:
            g.force_commit = True  # the failed attempt and the lockout counter must outlive this 401
            flash(localise(result.message), "danger")
            return render_template("auth/login.html", form=form), 401
        lang = session.get("lang")
        session.clear()  # a new session id at login: nothing from before carries over
        if lang:
            session["lang"] = lang
        row = accounts.start_session(
            current_session(), account, current_app.config["SESSION_HOURS"], request.remote_addr
        )
        session["sid"] = row.id
        session.permanent = True
        login_user(CurrentUser(account, row.id))
        if account.must_change_password:
            flash(_("Please choose a new password before you go on."), "warning")
            return redirect(url_for("auth.change_password"))
        return redirect(_safe_next(request.args.get("next")))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), EqualTo("new")])


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = ChangePasswordForm()
    policy = security.SecurityPolicy.from_config(current_app.config)
    if form.validate_on_submit():
        try:
            security.change_password(
                current_session(), current_user.account, form.current.data or "", form.new.data or "", policy
            )
        except Invalid as exc:
            for name, message in exc.fields.items():
                form[name].errors = [*form[name].errors, message]
            return render_template("auth/password.html", form=form, policy=policy), 422
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("main.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, policy=policy), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    audit.record(current_session(), current_user.actor, "logout", "user_account", current_user.account.id)
    accounts.end_session(current_session(), session.get("sid"))
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
