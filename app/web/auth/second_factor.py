"""One's own second factor: enrolment (secret, otpauth URI and QR code, confirmed with a code), switching an
optional one off, and the hook that keeps a person whose role requires a second factor on the enrolment page
until they have one."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.extensions import current_session
from app.services import accounts, security, totp
from app.services.errors import Invalid
from app.web.audit import writes_on_get
from app.web.auth import bp, policy
from app.web.localise import localise

# What a person who must enrol can still reach: the enrolment itself, a forced password change, logging out.
ENROLMENT_OPEN = {
    "auth.second_factor",
    "auth.second_factor_confirm",
    "auth.change_password",
    "auth.logout",
    "auth.set_language",
    "static",
}


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(), Length(max=16)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )


def _required() -> bool:
    rules = policy()
    return rules.totp_enabled and any(r in current_user.actor.scopes for r in rules.totp_required_roles)


@bp.before_app_request
def _require_enrolment() -> Any:
    """Send a person whose role requires a second factor to the enrolment page until they have one."""
    if request.endpoint in ENROLMENT_OPEN or not current_user.is_authenticated:
        return None
    rules = policy()
    if not totp.must_enrol(current_user.actor, current_user.account, rules.totp_enabled, rules.totp_required_roles):
        return None
    if request.path.startswith("/api/"):
        return None  # the API answers with its own refusal at token issuance
    return redirect(url_for("auth.second_factor"))


def _page(form: CodeForm, status: int = 200) -> Any:
    account = current_user.account
    context: dict[str, Any] = {"form": form, "account": account, "required": _required(), "policy": policy()}
    if not account.totp_enrolled:
        secret = totp.begin_enrolment(current_session(), account)
        uri = totp.provisioning_uri(secret, account.username, policy().totp_issuer)
        context.update(secret=totp.grouped(secret), uri=uri, qr=Markup(totp.qr_svg(uri)))  # noqa: S704 (our SVG)
    return render_template("auth/second_factor.html", **context), status


@bp.get("/account/second-factor")
@writes_on_get  # the first visit stores the pending secret
@login_required
def second_factor() -> Any:
    if not current_user.account.totp_enrolled and not policy().totp_enabled:
        flash(_("The second factor is not switched on in this system."), "info")
        return redirect(url_for("main.home"))
    if _required() and not current_user.account.totp_enrolled:
        flash(_("Your role requires a second factor: set it up before you go on."), "warning")
    return _page(CodeForm())


@bp.post("/account/second-factor/confirm")
@login_required
def second_factor_confirm() -> Any:
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        totp.confirm_enrolment(current_session(), current_user.account, form.code.data)
    except Invalid as exc:
        g.force_commit = True  # the refused attempt stays in the audit trail; the pending secret is unchanged
        form.code.errors = [localise(exc.fields["code"])]
        return _page(form, 422)
    flash(_("The second factor is on: from now on you log in with your password and a code."), "success")
    return redirect(url_for("main.home"))


@bp.post("/account/second-factor/disable")
@login_required
def second_factor_disable() -> Any:
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        totp.disable(current_session(), current_user.account, form.code.data, _required())
    except Invalid as exc:
        g.force_commit = True  # the wrong code counts towards the lockout (guessing with a stolen session)
        result = security.refuse_code(current_session(), current_user.account, request.remote_addr, policy())
        if result.outcome is security.LoginOutcome.locked:
            accounts.end_session(current_session(), session.get("sid"))  # not only until the lock runs out
            logout_user()
            session.clear()
            flash(localise(result.message), "danger")
            return redirect(url_for("auth.login"))
        form.code.errors = [localise(exc.fields["code"])]
        return _page(form, 422)
    flash(_("The second factor is off."), "success")
    return redirect(url_for("auth.second_factor"))
