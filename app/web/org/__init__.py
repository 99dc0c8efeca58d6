"""Organisation admin pages: the unit/section tree, people, role assignment."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField
from wtforms.validators import DataRequired

from app.extensions import current_session
from app.models import Role
from app.services import org as org_service
from app.services.errors import ServiceError
from app.web.labels import role_label
from app.web.localise import localise

bp = Blueprint("org", __name__, url_prefix="/org")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    org_unit_id = SelectField(_l("Applies to"), coerce=int, validators=[DataRequired()])


def _role_form() -> RoleForm:
    actor = current_user.actor
    form = RoleForm()
    grantable = org_service.grantable_roles(actor)
    form.role.choices = [SelectChoice(r.value, role_label(r)) for r in Role if r in grantable]
    nodes = org_service.assignable_nodes(current_session(), actor)
    form.org_unit_id.choices = [
        SelectChoice(n.id, n.name if n.kind.value != "section" else f"{n.parent.name if n.parent else ''} / {n.name}")
        for n in nodes
    ]
    return form


@bp.get("/")
@login_required
def tree() -> Any:
    units = org_service.visible_units(current_session(), current_user.actor)
    return render_template("org/tree.html", units=units)


@bp.get("/people")
@login_required
def people() -> Any:
    page = org_service.search_people(
        current_session(),
        current_user.actor,
        q=request.args.get("q", ""),
        unit_id=request.args.get("unit_id", type=int),
        section_id=request.args.get("section_id", type=int),
        include_left=request.args.get("include_left") == "1",
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
    )
    units = org_service.visible_units(current_session(), current_user.actor)
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("org/people.html", page=page, units=units, filters=filters)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@login_required
def person(person_id: int) -> Any:
    person = org_service.get_person(current_session(), current_user.actor, person_id)
    form = _role_form()
    status = 200
    if form.validate_on_submit():
        try:
            org_service.assign_role(
                current_session(), current_user.actor, person.id, Role(form.role.data), form.org_unit_id.data
            )
        except ServiceError as exc:
            flash(localise(exc.message), "danger")
            status = 422
        else:
            flash(_("Role granted."), "success")
            return redirect(url_for("org.person", person_id=person.id))
    elif request.method == "POST":
        status = 422
    return render_template("org/person.html", person=person, form=form), status


@bp.post("/roles/<int:assignment_id>/revoke")
@login_required
def revoke(assignment_id: int) -> Any:
    person_id = request.form.get("person_id", type=int)
    org_service.revoke_role(current_session(), current_user.actor, assignment_id)
    flash(_("Role revoked."), "success")
    return redirect(url_for("org.person", person_id=person_id) if person_id else url_for("org.people"))


from app.web.org import people_excel  # noqa: E402,F401  (registers the import/export routes)
