"""The performance office's common indicators (共性指标) per year and unit type."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from app.extensions import current_session, db
from app.models import CommonIndicator
from app.services.errors import Conflict, Invalid, ServiceError
from app.services.indicators import common
from app.web.indicators import bp, year_arg
from app.web.localise import localise


class CommonForm(FlaskForm):
    name = StringField(_l("Indicator"), validators=[DataRequired(_l("Name the indicator."))])
    standard = TextAreaField(_l("Standard (考核标准)"), validators=[DataRequired(_l("Write the standard."))])
    weight = StringField(_l("Weight"), validators=[DataRequired(_l("Give the weight."))])
    method = TextAreaField(_l("Evaluation method"))
    unit_type = SelectField(
        _l("Applies to"),
        choices=[
            SelectChoice("", _l("All units")),
            SelectChoice("township", _l("Townships and street offices (乡镇/街道)")),
            SelectChoice("department", _l("District departments (区直单位)")),
        ],
        default="",
    )
    sort_order = IntegerField(_l("Order"), default=0, validators=[Optional()])
    active = BooleanField(_l("Active (new sets receive it)"), default=True)

    def to_input(self) -> common.CommonInput:
        return common.CommonInput(
            name=self.name.data or "",
            standard=self.standard.data or "",
            weight=self.weight.data or "",
            method=self.method.data or "",
            unit_type=self.unit_type.data or "",
            sort_order=self.sort_order.data or 0,
            active=bool(self.active.data),
        )

    def show_errors(self, exc: ServiceError) -> None:
        for name, message in getattr(exc, "fields", {}).items():
            if name in self:
                self[name].errors = [*self[name].errors, localise(message)]


def _edit_form(item: CommonIndicator) -> CommonForm:
    form = CommonForm()
    if request.method == "GET":
        form.name.data, form.standard.data, form.method.data = item.name, item.standard, item.method
        form.weight.data = f"{item.weight.normalize():f}"
        form.unit_type.data = item.unit_type.value if item.unit_type else ""
        form.sort_order.data, form.active.data = item.sort_order, item.active
    return form


def _page(year: int, form: CommonForm, status: int = 200, message: str | None = None) -> Any:
    actor = current_user.actor
    items = common.list_items(current_session(), actor, year)
    used = {i.id for i in items if common.is_used(current_session(), i.id)}
    return render_template(
        "indicators/common.html", items=items, used=used, year=year, form=form, message=message
    ), status


@bp.route("/common", methods=["GET", "POST"])
@login_required
def common_library() -> Any:
    common.require_office(current_user.actor)
    year = year_arg(request.form if request.method == "POST" else None)
    form = CommonForm()
    if request.method == "GET":
        return _page(year, form)
    if not form.validate_on_submit():
        return _page(year, form, 422)
    try:
        item = common.create_item(current_session(), current_user.actor, year, form.to_input())
    except Invalid as exc:
        db.session.rollback()
        form.show_errors(exc)
        return _page(year, form, 422, localise(exc.message))
    flash(_("Added “%(name)s” to the common indicators of %(year)s.", name=item.name, year=year), "success")
    return redirect(url_for("indicators.common_library", year=year))


@bp.route("/common/<int:item_id>", methods=["GET", "POST"])
@login_required
def common_edit(item_id: int) -> Any:
    item = common.get_item(current_session(), current_user.actor, item_id)
    form = _edit_form(item)
    status, message = 200, None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                common.update_item(current_session(), current_user.actor, item_id, form.to_input())
            except Invalid as exc:
                db.session.rollback()
                form.show_errors(exc)
                status, message = 422, localise(exc.message)
            else:
                flash(_("Saved “%(name)s”.", name=item.name), "success")
                return redirect(url_for("indicators.common_library", year=item.year))
        else:
            status = 422
        item = common.get_item(current_session(), current_user.actor, item_id)
    used = common.is_used(current_session(), item.id)
    return render_template("indicators/common_edit.html", item=item, form=form, used=used, message=message), status


@bp.post("/common/<int:item_id>/delete")
@login_required
def common_delete(item_id: int) -> Any:
    item = common.get_item(current_session(), current_user.actor, item_id)
    year, name = item.year, item.name
    try:
        common.delete_item(current_session(), current_user.actor, item_id)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
    else:
        flash(_("Deleted “%(name)s”.", name=name), "success")
    return redirect(url_for("indicators.common_library", year=year))


@bp.post("/common/copy")
@login_required
def common_copy() -> Any:
    year = year_arg(request.form)
    try:
        n = common.copy_year(current_session(), current_user.actor, year - 1, year)
    except Conflict as exc:
        db.session.rollback()
        flash(localise(exc.message), "warning")
    else:
        message = _("Copied %(n)d common indicators of %(source)s into %(year)s.", n=n, source=year - 1, year=year)
        flash(message, "success")
    return redirect(url_for("indicators.common_library", year=year))
