"""Simulation (a dry run for a real person) and migration of running instances (preview, then move)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from app.extensions import current_session, db
from app.models import Person, UserAccount
from app.services.errors import Invalid
from app.services.periods import check_period
from app.web.localise import localise
from app.web.processes import bp, office_required
from app.workflow import designer, migrate, repository
from app.workflow import simulate as sim


def _person(query: str) -> Person | None:
    """A person by username or staff number."""
    query = query.strip()
    if not query:
        return None
    person = db.session.scalar(select(Person).join(UserAccount).where(UserAccount.username == query))
    return person or db.session.scalar(select(Person).where(Person.staff_no == query))


def _default_period(key: str) -> str:
    today = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return str(today.year) if key == "indicator_setting" else f"{today.year}-{today.month:02d}"


def _decision_options(choices: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """Each decision, and "first X, then Y" to walk a return path once."""
    out = [(v, _(label)) for v, label in choices]
    for first, first_label in choices[1:]:
        for then, then_label in choices[:1]:
            out.append((f"{first},{then}", _("%(a)s once, then %(b)s", a=_(first_label), b=_(then_label))))
    return out


@bp.get("/<key>/versions/<int:definition_id>/simulate")
@office_required
def simulate(key: str, definition_id: int) -> Any:
    row = designer.get_version(current_session(), key, definition_id)
    loaded = repository.loaded(row)
    choices = sim.decision_choices(loaded)
    person_query = request.args.get("person", "")
    period = request.args.get("period") or _default_period(key)
    decisions = {step: [d for d in request.args.get(f"d_{step}", "").split(",") if d] for step in choices}
    result = None
    subject = None
    error = None
    if person_query:
        subject = _person(person_query)
        try:
            period = check_period(key, period)
        except Invalid as exc:
            error = localise(exc.message)
        if subject is None:
            error = _("Nobody has the username or staff number %(q)s.", q=person_query)
        elif error is None:
            result = sim.simulate(current_session(), loaded, row.bpmn_xml, subject, period, decisions)
    return render_template(
        "processes/simulate.html",
        key=key,
        row=row,
        steps=loaded.steps,
        options={step: _decision_options(c) for step, c in choices.items()},
        chosen={step: ",".join(d) for step, d in decisions.items()},
        person_query=person_query,
        period=period,
        subject=subject,
        result=result,
        error=error,
        max_steps=sim.MAX_STEPS,
    ), (422 if error else 200)


@bp.get("/<key>/versions/<int:definition_id>/migrate")
@office_required
def migration(key: str, definition_id: int) -> Any:
    target, candidates = migrate.preview(current_session(), key, definition_id)
    return render_template(
        "processes/migrate.html", key=key, target=target, candidates=candidates, form=FlaskForm(), report=None
    )


@bp.post("/<key>/versions/<int:definition_id>/migrate")
@office_required
def migrate_instances(key: str, definition_id: int) -> Any:
    if not FlaskForm().validate():
        flash(_("The form expired; try again."), "warning")
        return redirect(url_for("processes.migration", key=key, definition_id=definition_id))
    ids = [int(i) for i in request.form.getlist("instance") if i.isdigit()]
    if not ids:
        flash(_("Choose the instances to move."), "warning")
        return redirect(url_for("processes.migration", key=key, definition_id=definition_id))
    report = migrate.migrate(current_session(), current_user.actor, key, definition_id, ids)
    if report.moved:
        flash(_("%(n)d instance(s) moved to the new version.", n=len(report.moved)), "success")
    if report.refused:
        flash(_("%(n)d instance(s) could not move; see the reasons below.", n=len(report.refused)), "warning")
    target, candidates = migrate.preview(current_session(), key, definition_id)
    return render_template(
        "processes/migrate.html", key=key, target=target, candidates=candidates, form=FlaskForm(), report=report
    )
