"""The quarterly showcase page: everyone reads it; units post; the office curates."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session, db
from app.models import Role
from app.services import evidence
from app.services.analysis import showcase
from app.services.errors import Invalid
from app.services.periods import quarter_before
from app.web.analysis import PostForm, bp, local_today, max_upload_bytes, store
from app.web.analysis.reports import session_units
from app.web.localise import localise


def _quarter_arg() -> str:
    value = request.args.get("quarter") or quarter_before(local_today().date())
    try:
        return showcase.check_quarter(value)
    except Invalid:
        abort(404)


def _render(quarter: str, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Any:
    actor = current_user.actor
    return render_template(
        "analysis/showcase.html",
        quarter=quarter,
        posts=showcase.posts_for(current_session(), actor, quarter),
        admin_units=session_units(actor.unit_ids_for(Role.unit_admin)),
        office=actor.is_district_wide,
        form=PostForm(),
        values=values or {},
        errors=errors or {},
        max_pictures=showcase.MAX_PICTURES,
    )


@bp.get("/showcase")
@login_required
def showcase_page() -> Any:
    return _render(_quarter_arg())


@bp.post("/showcase")
@login_required
def showcase_post() -> Any:
    if not PostForm().validate_on_submit():
        abort(400)
    values = {k: request.form.get(k, "") for k in ("unit_id", "quarter", "title", "body")}
    uploads = [evidence.Upload(f.filename or "", f.read()) for f in request.files.getlist("pictures") if f.filename]
    try:
        post = showcase.create_post(
            current_session(),
            current_user.actor,
            showcase.NewPost(
                unit_id=request.form.get("unit_id", type=int) or 0,
                quarter=values["quarter"],
                title=values["title"],
                body=values["body"],
            ),
            uploads,
            store=store(),
            max_bytes=max_upload_bytes(),
        )
    except Invalid as exc:
        db.session.rollback()
        flash(localise(exc.message), "danger")
        quarter = values["quarter"] if values["quarter"] else quarter_before(local_today().date())
        try:
            quarter = showcase.check_quarter(quarter)
        except Invalid:
            quarter = quarter_before(local_today().date())
        return _render(quarter, values, {k: localise(v) for k, v in exc.fields.items()}), 422
    flash(_("The highlight is posted; the performance office publishes it after review."), "success")
    return redirect(url_for("analysis.showcase_page", quarter=post.quarter))


@bp.post("/showcase/<int:post_id>/curate")
@login_required
def showcase_curate(post_id: int) -> Any:
    if not PostForm().validate_on_submit():
        abort(400)
    post = showcase.curate(
        current_session(),
        current_user.actor,
        post_id,
        request.form.get("status", ""),
        request.form.get("position", type=int),
    )
    flash(_("The highlight is updated."), "success")
    return redirect(url_for("analysis.showcase_page", quarter=post.quarter))


@bp.post("/showcase/<int:post_id>/delete")
@login_required
def showcase_delete(post_id: int) -> Any:
    if not PostForm().validate_on_submit():
        abort(400)
    quarter = showcase.get_post(current_session(), current_user.actor, post_id).quarter
    showcase.delete_post(current_session(), current_user.actor, post_id, store())
    flash(_("The highlight is removed."), "success")
    return redirect(url_for("analysis.showcase_page", quarter=quarter))


@bp.get("/showcase/pictures/<int:picture_id>")
@login_required
def showcase_picture(picture_id: int) -> Any:
    path, name, mimetype = showcase.picture_file(current_session(), current_user.actor, picture_id, store())
    return send_file(path, mimetype=mimetype, as_attachment=False, download_name=name, max_age=0)
