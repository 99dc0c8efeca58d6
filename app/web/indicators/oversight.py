"""Overview pages: the units and sections one oversees, a section's people, opening a unit's year."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import current_session
from app.services import audit
from app.services.indicators import excel, flow, overview
from app.web.audit import writes_on_get
from app.web.indicators import bp, xlsx_response, year_arg


@bp.get("/overview")
@login_required
def overview_page() -> Any:
    year = year_arg()
    units = overview.overview(current_session(), current_user.actor, year)
    return render_template("indicators/overview.html", units=units, year=year)


@bp.get("/units/<int:unit_id>")
@login_required
def unit(unit_id: int) -> Any:
    year = year_arg()
    found = overview.unit_overview(current_session(), current_user.actor, unit_id, year)
    return render_template("indicators/unit.html", u=found, year=year)


@bp.post("/units/<int:unit_id>/open")
@login_required
def open_unit(unit_id: int) -> Any:
    year = year_arg(request.form)
    summary = flow.open_for_unit(current_session(), current_user.actor, unit_id, year)
    skipped = sum(summary.skipped.values())
    flash(
        _(
            "Indicator setting for %(year)s: opened for %(opened)d people, %(already)d already had it, "
            "%(skipped)d skipped (no longer active).",
            year=year,
            opened=summary.opened,
            already=summary.already_open,
            skipped=skipped,
        ),
        "success",
    )
    return redirect(url_for("indicators.unit", unit_id=unit_id, year=year))


@bp.get("/units/<int:unit_id>/export.xlsx")
@writes_on_get
@login_required
def export_unit(unit_id: int) -> Any:
    data, name = excel.export_unit(current_session(), current_user.actor, unit_id, year_arg())
    audit.record(
        current_session(), current_user.actor, "export.indicators", "org_unit", unit_id, "success", {"file": name}
    )
    return xlsx_response(data, name)


@bp.get("/sections/<int:section_id>")
@login_required
def section(section_id: int) -> Any:
    year = year_arg()
    found = overview.section_sets(current_session(), current_user.actor, section_id, year)
    return render_template("indicators/section.html", sec=found, year=year)
