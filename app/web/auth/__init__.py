"""Login (with the optional TOTP second step), logout, password change and language choice.

A password that is right for an account with a second factor does not log in: the signed Flask
session remembers only *which account* passed the first step and *when* (for ``OTP_STEP_MINUTES``);
no server-side session exists and ``current_user`` stays anonymous until the code is verified.
"""

from __future__ import annotations

import time
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
from app.models import UserAccount
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
    """``target`` when it is a path on this site, else the home page (no open redirect after login).

    Browsers read a backslash as a slash and drop tabs and newlines, so ``/\\evil.example``, or a tab
    between two slashes, would leave the site although it does not start with ``//``: such targets are refused.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("main.home")


OTP_STEP_MINUTES = 5  # how long a right password waits for its code


def policy() -> security.SecurityPolicy:
    """The security policy in force for this request (settings plus the security administrator's changes)."""
    if "security_policy" not in g:
        g.security_policy = security.SecurityPolicy.load(current_session(), current_app.config)
    rules: security.SecurityPolicy = g.security_policy
    return rules


def _fresh_session() -> None:
    lang = session.get("lang")
    session.clear()  # a new session id at each step: nothing from before carries over
    if lang:
        session["lang"] = lang


def _start(account: UserAccount, next_url: str | None) -> Any:
    _fresh_session()
    row = accounts.start_session(current_session(), account, current_app.config["SESSION_HOURS"], request.remote_addr)
    session["sid"] = row.id
    session.permanent = True
    login_user(CurrentUser(account, row.id))
    if account.must_change_password:
        flash(_("Please choose a new password before you go on."), "warning")
        return redirect(url_for("auth.change_password"))
    return redirect(_safe_next(next_url))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = security.login(
            current_session(), form.username.data or "", form.password.data or "", request.remote_addr, policy()
        )
        account = result.user
        if result.outcome is security.LoginOutcome.otp_required and account is not None:
            _fresh_session()
            session["otp_user"], session["otp_at"] = account.id, int(time.time())
            session["otp_next"] = _safe_next(request.args.get("next"))
            return redirect(url_for("auth.login_otp"))
        if account is None:
            g.force_commit = True  # the failed attempt and the lockout counter must outlive this 401
            flash(localise(result.message), "danger")
            return render_template("auth/login.html", form=form), 401
        return _start(account, request.args.get("next"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


class OtpForm(FlaskForm):
    code = StringField(_l("Verification code"), validators=[DataRequired(), Length(max=16)])


def _pending_account() -> UserAccount | None:
    """The account whose password was accepted a moment ago in this browser, if still waiting for its code."""
    user_id, at = session.get("otp_user"), session.get("otp_at")
    if not isinstance(user_id, int) or not isinstance(at, int) or time.time() - at > OTP_STEP_MINUTES * 60:
        return None
    account = current_session().get(UserAccount, user_id)
    return account if account is not None and account.active and account.totp_enrolled else None


@bp.route("/login/otp", methods=["GET", "POST"])
def login_otp() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    account = _pending_account()
    if account is None:
        _fresh_session()
        flash(_("Log in with your username and password first."), "warning")
        return redirect(url_for("auth.login"))
    form = OtpForm()
    if form.validate_on_submit():
        result = security.second_factor(current_session(), account, form.code.data, request.remote_addr, policy())
        if result.outcome is security.LoginOutcome.ok:
            return _start(account, session.get("otp_next"))
        g.force_commit = True  # the failure counts towards the lockout even though this answer is an error
        flash(localise(result.message), "danger")
        if result.outcome in (security.LoginOutcome.locked, security.LoginOutcome.address_blocked):
            _fresh_session()
            return redirect(url_for("auth.login"))
        return render_template("auth/otp.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("auth/otp.html", form=form), status


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), EqualTo("new")])


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = ChangePasswordForm()
    rules = policy()
    if form.validate_on_submit():
        try:
            security.change_password(
                current_session(), current_user.account, form.current.data or "", form.new.data or "", rules
            )
        except Invalid as exc:
            g.force_commit = True  # keep the audit event of the refused change; nothing else was written
            for name, message in exc.fields.items():
                form[name].errors = [*form[name].errors, message]
            return render_template("auth/password.html", form=form, policy=rules), 422
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("main.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, policy=rules), status


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


# The routes of these modules register on ``bp`` when imported.
from app.web.auth import admin, second_factor  # noqa: E402,F401
