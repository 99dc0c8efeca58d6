"""The message centre: my notifications (unread first), mark read, my notification settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app.extensions import current_session, db
from app.models import Person
from app.services import notifications
from app.services.errors import Invalid
from app.web.localise import localise
from app.web.notifications.texts import message

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _link(item: Any) -> str | None:
    if item.link:
        return str(item.link)
    if item.instance_id:
        return url_for("inbox.instance", instance_id=item.instance_id)
    return None


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return None


@bp.get("/")
@login_required
def index() -> Any:
    page = notifications.list_for(
        current_session(),
        current_user.actor,
        request.args.get("page", 1, type=int),
        current_app.config["PAGE_SIZE"],
    )
    return render_template("notifications/index.html", page=page, message=message, link=_link, form=FlaskForm())


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> Any:
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
        return redirect(url_for("notifications.index"))
    notifications.mark_read(current_session(), current_user.actor, notification_id)
    return redirect(_safe_next(request.form.get("next")) or url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all() -> Any:
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; please try again."), "warning")
        return redirect(url_for("notifications.index"))
    n = notifications.mark_all_read(current_session(), current_user.actor)
    flash(_("%(n)d messages marked read.", n=n), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    actor = current_user.actor
    form = FlaskForm()
    person = db.session.get(Person, actor.person_id) if actor.person_id else None
    email = person.email if person else ""
    status = 200
    prefs = notifications.my_preferences(current_session(), actor)
    if request.method == "POST":
        choices = {
            kind: (request.form.get(f"in_app_{kind}") == "1", request.form.get(f"email_{kind}") == "1")
            for kind in notifications.KINDS
        }
        email = request.form.get("email", "").strip()
        if not form.validate_on_submit():
            status = 422
        else:
            try:
                notifications.set_preferences(current_session(), actor, choices, email)
            except Invalid as exc:
                flash(localise(exc.message), "danger")
                prefs, status = choices, 422
            else:
                flash(_("Your notification settings are saved."), "success")
                return redirect(url_for("notifications.preferences"))
    return render_template(
        "notifications/preferences.html",
        form=form,
        prefs=prefs,
        kinds=notifications.KINDS,
        email=email or "",
        email_on=bool(current_app.config.get("SMTP_HOST")),
    ), status
