"""Dashboards (no Flask): one module per audience, one function per panel, figures aggregated in SQL.

- ``staff.staff_dashboard`` — my tasks, my scores and weeks over the year, my indicator progress;
- ``section.section_dashboard`` — a section's log completion, review backlog, scores, who is late;
- ``unit.unit_dashboard`` — cycle progress, overdue work, ranking by section, differentiation;
- ``office.office_dashboard`` — every unit side by side (drill-down to unit and section);
- ``differentiation.reviewer_differentiation`` — the reviewer figures other features reuse;
- ``registration.registration_form`` — the printable annual appraisal registration form (考核登记表).
"""

from __future__ import annotations

from app.models import Role
from app.services.actor import Actor


def home_kind(actor: Actor) -> str | None:
    """Which dashboard is the actor's home page: the widest scope they hold (``None``: no dashboard)."""
    if actor.is_district_wide:
        return "office"
    if actor.unit_ids_for(Role.unit_admin, Role.unit_principal, Role.unit_leader):
        return "unit"
    if actor.scopes.get(Role.section_head):
        return "section"
    if actor.person_id is not None and actor.section_id is not None:
        return "staff"
    return None
