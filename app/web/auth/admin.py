"""The separated admin duties' pages (三权分立): accounts for the system administrator (unlock, disable, enable),
second-factor reset and the security policy for the security administrator. Each check is in the service."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import InputRequired

from app.extensions import current_session
from app.models import Role
from app.models.base import utcnow
from app.services import accounts, security, totp
from app.services.errors import T_, Forbidden, Invalid
from app.web.auth import bp, policy
from app.web.localise import localise

LABELS = {
    "min_length": _l("Shortest password (characters)"),
    "min_classes": _l("Character classes required"),
    "history": _l("Earlier passwords that cannot be reused"),
    "max_age_days": _l("Force a password change after (days, 0 = never)"),
    "lockout_threshold": _l("Failed logins that lock an account"),
    "lockout_minutes": _l("Minutes an account stays locked"),
    "address_failure_limit": _l("Failed logins per address before it is refused"),
    "totp_enabled": _l("Second factor (TOTP) on; required for the roles configured"),
}


class PolicyForm(FlaskForm):
    min_length = IntegerField(LABELS["min_length"], validators=[InputRequired()])
    min_classes = IntegerField(LABELS["min_classes"], validators=[InputRequired()])
    history = IntegerField(LABELS["history"], validators=[InputRequired()])
    max_age_days = IntegerField(LABELS["max_age_days"], validators=[InputRequired()])
    lockout_threshold = IntegerField(LABELS["lockout_threshold"], validators=[InputRequired()])
    lockout_minutes = IntegerField(LABELS["lockout_minutes"], validators=[InputRequired()])
    address_failure_limit = IntegerField(LABELS["address_failure_limit"], validators=[InputRequired()])
    totp_enabled = BooleanField(LABELS["totp_enabled"])


def _bounds() -> dict[str, str]:
    return {f.name: f"{f.low}–{f.high}" for f in security.EDITABLE if f.kind is int}


@bp.route("/security/policy", methods=["GET", "POST"])
@login_required
def policy_page() -> Any:
    if Role.sec_admin not in current_user.actor.scopes:
        raise Forbidden(T_("Only the security administrator can change the security policy."))
    current = policy()
    form = PolicyForm(data={f.name: getattr(current, f.name) for f in security.EDITABLE})
    status = 200
    if form.validate_on_submit():
        values = {f.name: int(getattr(form, f.name).data or 0) for f in security.EDITABLE}
        try:
            changed = security.update_policy(current_session(), current_user.actor, current_app.config, values)
        except Invalid as exc:
            for name, message in exc.fields.items():
                getattr(form, name).errors = [localise(message)]
            status = 422
        else:
            flash(_("Security policy saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("auth.policy_page"))
    elif request.method == "POST":
        status = 422
    page = render_template("auth/policy.html", form=form, bounds=_bounds(), required=current.totp_required_roles)
    return page, status


@bp.get("/security/accounts")
@login_required
def accounts_page() -> Any:
    page = accounts.list_accounts(
        current_session(),
        current_user.actor,
        q=request.args.get("q", ""),
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
    )
    scopes = current_user.actor.scopes
    return render_template(
        "auth/accounts.html",
        page=page,
        q=request.args.get("q", ""),
        can_manage=Role.sys_admin in scopes,
        can_reset=Role.sec_admin in scopes,
        now=utcnow(),
    )


def _back() -> Any:
    return redirect(url_for("auth.accounts_page", q=request.form.get("q") or None))


@bp.post("/security/accounts/<int:user_id>/unlock")
@login_required
def account_unlock(user_id: int) -> Any:
    user = accounts.unlock(current_session(), current_user.actor, user_id)
    flash(_("%(name)s can log in again.", name=user.username), "success")
    return _back()


@bp.post("/security/accounts/<int:user_id>/disable")
@login_required
def account_disable(user_id: int) -> Any:
    user = accounts.set_active(current_session(), current_user.actor, user_id, False)
    flash(_("%(name)s is disabled; their sessions have ended.", name=user.username), "success")
    return _back()


@bp.post("/security/accounts/<int:user_id>/enable")
@login_required
def account_enable(user_id: int) -> Any:
    user = accounts.set_active(current_session(), current_user.actor, user_id, True)
    flash(_("%(name)s is enabled.", name=user.username), "success")
    return _back()


@bp.post("/security/accounts/<int:user_id>/reset-second-factor")
@login_required
def totp_reset(user_id: int) -> Any:
    user = totp.reset(current_session(), current_user.actor, user_id)
    flash(_("The second factor of %(name)s is reset; they set up a new one at their next login.", name=user.username))
    return _back()
