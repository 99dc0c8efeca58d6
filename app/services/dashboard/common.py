"""What every dashboard shares: the panel shape, score bands, periods, scope checks and the Excel export.

A dashboard is a list of ``Panel``s. Each panel is computed by one function (one query set,
aggregated in SQL) and carries a ``Table`` — the figures, shown beside the chart for screen
readers and exported to Excel — and optionally a ``Chart``: which table columns to plot and
how. Adding a panel is one function appended to a dashboard's panel list; the templates render
any panel with the generic block, and a panel may bring its own block (``dashboard/_panels``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from app.models import AppraisalRecord, LogEntry, OrgKind, OrgUnit, Role, WeeklyLog
from app.services import xlsx
from app.services.actor import Actor
from app.services.appraisal import common as appraisal_common
from app.services.errors import T_, Forbidden, Invalid, NotFound, Text
from app.services.periods import period_kind

# Score bands of the distribution panels: (key, label, lower bound inclusive, upper bound exclusive).
BANDS: tuple[tuple[str, Text, Decimal, Decimal], ...] = (
    ("lt60", T_("below 60"), Decimal(0), Decimal(60)),
    ("60", T_("60–69"), Decimal(60), Decimal(70)),
    ("70", T_("70–79"), Decimal(70), Decimal(80)),
    ("80", T_("80–89"), Decimal(80), Decimal(90)),
    ("90", T_("90–99"), Decimal(90), Decimal(100)),
    ("100", T_("full marks"), Decimal(100), Decimal(1000)),
)


# Labels shared with the appraisal pages (same msgids, so they are translated once).
RECORD_STATUS = {
    "summary": T_("Summary to write"),
    "scoring": T_("Being scored"),
    "review": T_("In review"),
    "feedback": T_("Result sent"),
    "archived": T_("Archived"),
}
CATEGORY = {
    "key_work": T_("Key work"),
    "duties": T_("Functional duties"),
    "common": T_("Common indicators"),
    "temporary": T_("Temporary tasks"),
}


@dataclass(frozen=True)
class Column:
    key: str
    label: Text
    kind: str = "text"  # text | int | number | percent | link


@dataclass
class Table:
    columns: list[Column]
    rows: list[dict[str, Any]]

    def values(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.rows]


@dataclass(frozen=True)
class Chart:
    """``kind`` bar | stacked | line | hbar; ``x`` names the category column, ``series`` the value columns."""

    kind: str
    x: str
    series: tuple[str, ...]
    y_max: float | None = None


@dataclass
class Panel:
    key: str
    title: Text
    table: Table
    chart: Chart | None = None
    note: Text | None = None
    empty: Text = field(default_factory=lambda: T_("Nothing to show for this period yet."))

    def chart_spec(self, translate: Callable[[Any], str]) -> dict[str, Any] | None:
        """What dashboard.js needs to draw the chart: categories, named series, labels in the user's language."""
        if self.chart is None or not self.table.rows:
            return None
        labels = {c.key: translate(c.label) for c in self.table.columns}
        return {
            "kind": self.chart.kind,
            "categories": [str(translate(v)) for v in self.table.values(self.chart.x)],
            "series": [
                {"name": labels[k], "data": [_number(v) for v in self.table.values(k)]} for k in self.chart.series
            ],
            "yMax": self.chart.y_max,
            "title": translate(self.title),
        }


@dataclass
class Dashboard:
    kind: str  # staff | section | unit | office
    title: Text
    period: str
    panels: list[Panel]
    scope_id: int | None = None
    scope_name: str = ""
    links: list[tuple[Text, str, dict[str, Any]]] = field(default_factory=list)

    def panel(self, key: str) -> Panel:
        for p in self.panels:
            if p.key == key:
                return p
        raise NotFound(T_("There is no panel %(key)s on this dashboard.", key=key))


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value if isinstance(value, int | float) else None


# --- periods -----------------------------------------------------------------------------------


def check_dashboard_period(period: object, kinds: Sequence[str] = ("month", "quarter", "year")) -> str:
    key = period.strip() if isinstance(period, str) else ""
    if period_kind(key) not in kinds:
        raise Invalid(
            T_("Choose a period such as 2026-10 (month), 2026-Q3 (quarter) or 2026 (year)."),
            {"period": T_("Malformed period.")},
        )
    return key


def months_of(period: str) -> list[str]:
    """The month keys a month, quarter or year covers (appraisal records are monthly)."""
    first, last = appraisal_common.period_range(period)
    return [f"{first.year}-{m:02d}" for m in range(first.month, last.month + 1)]


def started_weeks(period: str, today: date) -> list[str]:
    """Weeks of the period that have begun by ``today``: those a log can be expected for."""
    return [w for w in appraisal_common.weeks_of_period(period) if appraisal_common.monday_of(w) <= today]


def due_weeks(period: str, today: date) -> list[str]:
    """Weeks of the period whose deadline has passed: written, late or missing is settled."""
    return [w for w in appraisal_common.weeks_of_period(period) if appraisal_common.week_deadline(w) < today]


# --- SQL building blocks -----------------------------------------------------------------------


def final_score() -> ColumnElement[Any]:
    """The score that counts (``AppraisalRecord.final_score``) as a SQL expression."""
    return func.coalesce(AppraisalRecord.adjusted_score, AppraisalRecord.score)


def band_counts(score: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """One ``SUM(CASE ...)`` per score band, labelled with the band's key."""
    return [
        func.sum(case((and_(score >= lo, score < hi), 1), else_=0)).label(f"band_{key}") for key, _, lo, hi in BANDS
    ]


def log_written() -> ColumnElement[bool]:
    """A week counts as written when its log has an entry (``weeks.week_state``)."""
    return and_(
        WeeklyLog.first_written_at.is_not(None),
        select(LogEntry.id).where(LogEntry.log_id == WeeklyLog.id).exists(),
    )


def log_late(weeks: Sequence[str]) -> ColumnElement[int]:
    """1 for a written week whose first entry came after its deadline (the Monday after it), else 0."""
    whens = [
        (
            and_(
                WeeklyLog.week == w,
                WeeklyLog.first_written_at >= appraisal_common.end_of_local_day(appraisal_common.week_deadline(w)),
            ),
            1,
        )
        for w in weeks
    ]
    return case(*whens, else_=0) if whens else case((WeeklyLog.id.is_(None), 0), else_=0)


def pct(part: int | float, whole: int | float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


# --- who may see what --------------------------------------------------------------------------


def unit_node(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind is not OrgKind.unit:
        raise NotFound(T_("Unit %(id)s does not exist.", id=unit_id))
    return unit


def section_node(session: Session, section_id: int) -> OrgUnit:
    section = session.get(OrgUnit, section_id)
    if section is None or section.kind is not OrgKind.section:
        raise NotFound(T_("Section %(id)s does not exist.", id=section_id))
    return section


def unit_ids_overseen(session: Session, actor: Actor) -> set[int] | None:
    """Units whose dashboard the actor may open; ``None`` means every unit (the office)."""
    if actor.is_district_wide:
        return None
    units = set(actor.unit_ids_for(Role.unit_admin, Role.unit_principal))
    led = actor.scopes.get(Role.unit_leader, frozenset())
    if led:
        units |= set(session.scalars(select(OrgUnit.parent_id).where(OrgUnit.id.in_(led))).all()) - {None}  # type: ignore[arg-type]
    return units


def check_unit(session: Session, actor: Actor, unit_id: int) -> OrgUnit:
    unit = unit_node(session, unit_id)
    allowed = unit_ids_overseen(session, actor)
    if allowed is not None and unit.id not in allowed:
        raise Forbidden(T_("Only the unit's leaders and administrator, and the performance office, see this unit."))
    return unit


def check_section(session: Session, actor: Actor, section_id: int) -> OrgUnit:
    """The section, if the actor oversees it: its head and leader in charge (not the unit's other leaders),
    the unit's principal and administrator, the office."""
    section = section_node(session, section_id)
    if not appraisal_common.can_oversee_section(actor, section.id, section.parent_id):
        raise Forbidden(T_("Only the section's head and the unit's leaders see this section."))
    return section


# --- export ------------------------------------------------------------------------------------


def table_xlsx(panel: Panel, translate: Callable[[Any], str], heading: str) -> bytes:
    """One panel's table as a workbook: a heading row, the column labels, the rows as shown."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(translate(panel.title))[:31] or "Sheet")
    ws.append([xlsx.header_cell(ws, heading)])
    ws.append([xlsx.header_cell(ws, str(translate(c.label))) for c in panel.table.columns])
    for row in panel.table.rows:
        cells: list[Any] = []
        for c in panel.table.columns:
            value = row.get(c.key)
            if isinstance(value, Decimal):
                value = float(value)
            if isinstance(value, datetime):
                value = value.astimezone(appraisal_common.policy().tz).strftime("%Y-%m-%d %H:%M")
            if isinstance(value, tuple | list):
                value = "\n".join(str(translate(v)) for v in value)
            if value is None:
                cells.append(None)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                cells.append(value)
            else:
                cells.append(xlsx.text_cell(ws, str(translate(value))))
        ws.append(cells)
    return xlsx.to_bytes(wb)


def analytics_unit(actor: Actor, requested: int | None) -> int | None:
    """The unit process analytics are limited to: any or none for the office, the own unit for a unit admin."""
    if actor.is_district_wide:
        return requested
    units = actor.unit_ids_for(Role.unit_admin)
    if not units:
        raise Forbidden(T_("Process analytics are for the performance office and unit administrators."))
    if requested is None:
        return min(units)
    if requested not in units:
        raise Forbidden(T_("You see the process figures of your own unit only."))
    return requested
