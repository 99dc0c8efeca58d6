"""The navigation bar: which links a user sees depends on their roles."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from app.extensions import current_session
from app.models import Role


@dataclass(frozen=True)
class NavItem:
    key: str
    label: LazyString
    endpoint: str
    roles: frozenset[Role] | None = None  # None: everyone logged in

    @property
    def url(self) -> str:
        return url_for(self.endpoint)


ITEMS: tuple[NavItem, ...] = (
    NavItem("home", _l("Home"), "main.home"),
    NavItem("tasks", _l("My tasks"), "inbox.tasks"),
    NavItem("indicators", _l("My indicators"), "indicators.my_set"),
    NavItem(
        "indicators_overview",
        _l("Indicators overview"),
        "indicators.overview_page",
        frozenset({Role.section_head, Role.unit_leader, Role.unit_principal, Role.unit_admin, Role.perf_office}),
    ),
    NavItem("common_indicators", _l("Common indicators"), "indicators.common_library", frozenset({Role.perf_office})),
    NavItem("logs", _l("Weekly log"), "appraisal.my_logs", frozenset({Role.staff})),
    NavItem(
        "section_logs",
        _l("Section logs"),
        "appraisal.sections",
        frozenset({Role.section_head, Role.unit_leader, Role.unit_principal, Role.unit_admin}),
    ),
    NavItem("appraisals", _l("My appraisals"), "appraisal.records_index", frozenset({Role.staff})),
    NavItem(
        "matrix",
        _l("Responsibility matrix"),
        "matrix.index",
        frozenset(Role) - {Role.sys_admin, Role.sec_admin, Role.audit_admin},
    ),
    NavItem(
        "org",
        _l("Organisation"),
        "org.tree",
        frozenset({Role.unit_admin, Role.perf_office}),
    ),
    NavItem(
        "people",
        _l("People"),
        "org.people",
        frozenset({Role.unit_admin, Role.perf_office}),
    ),
    NavItem("cycles", _l("Cycles"), "cycles.office", frozenset({Role.perf_office})),
    NavItem("processes", _l("Processes"), "processes.index", frozenset({Role.perf_office})),
    NavItem("notifications", _l("Messages"), "notifications.index"),
    NavItem("audit", _l("Audit trail"), "audit.index", frozenset({Role.audit_admin})),
)


def navigation(user: object) -> list[NavItem]:
    actor = user.actor  # type: ignore[attr-defined]
    return [i for i in ITEMS if i.roles is None or any(actor.has(r) for r in i.roles)]


def badges(user: object) -> dict[str, int]:
    """Counts shown beside navigation items (tasks waiting for me, unread messages)."""
    from app.services.notifications import unread_count
    from app.workflow import inbox

    actor = user.actor  # type: ignore[attr-defined]
    counts = inbox.counts(current_session(), actor)
    return {
        "tasks": counts["mine"] + counts["claimable"],
        "notifications": unread_count(current_session(), actor.person_id),
    }
