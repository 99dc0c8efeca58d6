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
    NavItem("bonus", _l("Bonus and deduction"), "bonus.mine", frozenset({Role.staff})),
    NavItem("evaluation", _l("My evaluation"), "evaluation.mine", frozenset({Role.staff})),
    NavItem(
        "evaluation_rounds",
        _l("Evaluation rounds"),
        "evaluation.rounds",
        frozenset({Role.unit_admin, Role.perf_office}),
    ),
    NavItem(
        "publication",
        _l("Published results"),
        "publication.index",
        frozenset(Role) - {Role.sys_admin, Role.sec_admin, Role.audit_admin},
    ),
    NavItem(
        "results",
        _l("Results and grades"),
        "results.index",
        frozenset({Role.unit_principal, Role.unit_admin, Role.perf_office}),
    ),
    NavItem("my_results", _l("My results"), "results.mine", frozenset({Role.staff})),
    NavItem("scheme", _l("Scoring scheme"), "scheme.index", frozenset({Role.unit_admin, Role.perf_office})),
    NavItem(
        "distribution",
        _l("Bonus distribution"),
        "publication.distributions",
        frozenset({Role.unit_admin, Role.unit_principal, Role.perf_office}),
    ),
    NavItem(
        "bonus_items",
        _l("Bonus and deduction items"),
        "bonus.items",
        frozenset({Role.section_head, Role.unit_leader, Role.unit_principal, Role.unit_admin, Role.perf_office}),
    ),
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
        frozenset({Role.unit_admin, Role.perf_office, Role.sec_admin}),
    ),
    NavItem("accounts", _l("Accounts"), "auth.accounts_page", frozenset({Role.sys_admin, Role.sec_admin})),
    NavItem("security_policy", _l("Security policy"), "auth.policy_page", frozenset({Role.sec_admin})),
    NavItem("cycles", _l("Cycles"), "cycles.office", frozenset({Role.perf_office})),
    NavItem("processes", _l("Processes"), "processes.index", frozenset({Role.perf_office})),
    NavItem(
        "analysis_reports",
        _l("Monthly analysis"),
        "analysis.index",
        frozenset({Role.unit_admin, Role.unit_principal}),
    ),
    NavItem("analysis_office", _l("Unit reports"), "analysis.office", frozenset({Role.perf_office})),
    NavItem("showcase", _l("Showcase"), "analysis.showcase_page"),
    NavItem("notifications", _l("Messages"), "notifications.index"),
    NavItem("audit", _l("Audit trail"), "audit.index", frozenset({Role.audit_admin})),
)


@dataclass(frozen=True)
class NavGroup:
    """A drop-down of the navigation bar; shown only when the user sees one of its items."""

    key: str
    label: LazyString
    items: tuple[NavItem, ...]

    def active(self, endpoint: str | None) -> bool:
        return any(i.endpoint == endpoint for i in self.items)


# The bar: direct links for what everyone uses daily, drop-downs by purpose for the rest, so an
# office account with twenty destinations still gets a bar that fits on one line.
_BY_KEY = {i.key: i for i in ITEMS}
LAYOUT: tuple[str | tuple[str, LazyString, tuple[str, ...]], ...] = (
    "home",
    "tasks",
    (
        "work",
        _l("My performance"),
        ("indicators", "logs", "appraisals", "my_results", "evaluation", "bonus", "publication"),
    ),
    (
        "manage",
        _l("Appraisal"),
        (
            "indicators_overview",
            "section_logs",
            "matrix",
            "bonus_items",
            "evaluation_rounds",
            "results",
            "distribution",
            "analysis_reports",
            "showcase",
        ),
    ),
    ("office", _l("Performance office"), ("cycles", "processes", "common_indicators", "scheme", "analysis_office")),
    ("admin", _l("Administration"), ("org", "people", "accounts", "security_policy", "audit")),
    "notifications",
)


def placed_keys() -> list[str]:
    """Every item key LAYOUT places, in order (a test checks each item is placed exactly once)."""
    return [k for entry in LAYOUT for k in ((entry,) if isinstance(entry, str) else entry[2])]


def _visible(item: NavItem, actor: object) -> bool:
    return item.roles is None or any(actor.has(r) for r in item.roles)  # type: ignore[attr-defined]


def navigation(user: object) -> list[NavItem | NavGroup]:
    """The bar for this user: a group with a single visible item collapses into a direct link."""
    actor = user.actor  # type: ignore[attr-defined]
    out: list[NavItem | NavGroup] = []
    for entry in LAYOUT:
        if isinstance(entry, str):
            if _visible(_BY_KEY[entry], actor):
                out.append(_BY_KEY[entry])
            continue
        key, label, keys = entry
        items = tuple(_BY_KEY[k] for k in keys if _visible(_BY_KEY[k], actor))
        if len(items) == 1:
            out.append(items[0])
        elif items:
            out.append(NavGroup(key, label, items))
    return out


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
