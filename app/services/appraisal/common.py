"""What the appraisal services share: the policy, period and week arithmetic, who may read and comment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import IndicatorSet, IndicatorSetVersion, Person, Role
from app.services.actor import Actor
from app.services.errors import T_, Invalid, NotFound
from app.services.periods import period_kind

PROCESS = "periodic_appraisal"
DISTRICT_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Policy:
    """Rules that come from settings; ``configure`` sets them from the app's config at start."""

    appeal_days: int = 5
    tz: ZoneInfo = DISTRICT_TZ
    # An item scored below this share of its weight needs a written justification.
    low_share: Decimal = Decimal("0.6")
    max_entries: int = 30
    max_evidence: int = 5
    text_max: int = 2000


_POLICY = Policy()


def policy() -> Policy:
    return _POLICY


def configure(config: Mapping[str, Any] | None = None, **changes: Any) -> Policy:
    """Take APPEAL_DAYS and TIMEZONE from a config mapping (and any explicit changes, for tests)."""
    global _POLICY
    values: dict[str, Any] = {}
    if config is not None:
        if "APPEAL_DAYS" in config:
            values["appeal_days"] = int(config["APPEAL_DAYS"])
        if config.get("TIMEZONE"):
            values["tz"] = ZoneInfo(str(config["TIMEZONE"]))
    values.update(changes)
    _POLICY = replace(_POLICY, **values)
    return _POLICY


def local_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(policy().tz).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(policy().tz).date()


def end_of_local_day(day: date) -> datetime:
    """The first instant after ``day`` in the district's time zone, as UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=policy().tz).astimezone(UTC)


def last_local_day(end: datetime | None) -> date | None:
    """The last local day of a window whose ``end`` is exclusive (as stored by ``end_of_local_day``).

    Deadlines are kept as the first instant after the window (2026-12-01 00:00), which compares
    simply with ``now``; people are shown the last day they may still act (2026-11-30).
    """
    if end is None:
        return None
    return local_date(end - timedelta(microseconds=1))


# --- weeks and periods -------------------------------------------------------------------------


def check_week(key: object) -> str:
    if not isinstance(key, str) or period_kind(key.strip()) != "week":
        raise Invalid(T_("Give the week as an ISO week key, e.g. 2026-W47."), {"week": T_("Malformed week.")})
    return key.strip()


def monday_of(week: str) -> date:
    return date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def week_of(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def week_deadline(week: str) -> date:
    """The Monday after the week: a log first written after that day is late."""
    return monday_of(week) + timedelta(days=7)


def week_year(week: str) -> int:
    """The year a week counts for: that of its Thursday (the ISO year)."""
    return int(week[:4])


def period_range(period: str) -> tuple[date, date]:
    """First and last day of a period key (year, quarter, month or ISO week)."""
    kind = period_kind(period)
    year = int(period[:4])
    if kind == "year":
        return date(year, 1, 1), date(year, 12, 31)
    if kind == "quarter":
        q = int(period[-1])
        first = date(year, 3 * q - 2, 1)
        last = date(year + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
        return first, last
    if kind == "month":
        month = int(period[5:7])
        first = date(year, month, 1)
        last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        return first, last
    if kind == "week":
        monday = monday_of(period)
        return monday, monday + timedelta(days=6)
    raise Invalid(T_("Unknown period %(period)s.", period=period), {"period": T_("Malformed period.")})


def weeks_of_period(period: str) -> list[str]:
    """The ISO weeks that belong to a period: those whose Thursday falls inside it (ISO rule)."""
    if period_kind(period) == "week":
        return [period]
    first, last = period_range(period)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    out = []
    while thursday <= last:
        out.append(week_of(thursday))
        thursday += timedelta(days=7)
    return out


def recent_weeks(count: int, today: date) -> list[str]:
    """The ``count`` weeks up to and including the current one, oldest first."""
    count = max(1, min(count, 26))
    monday = today - timedelta(days=today.weekday())
    return [week_of(monday - timedelta(days=7 * i)) for i in range(count - 1, -1, -1)]


def person_of(session: Session, person_id: int | None) -> Person:
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        raise NotFound(T_("Person %(id)s does not exist.", id=person_id))
    return person


# --- indicator sets ----------------------------------------------------------------------------


def effective_version(session: Session, person_id: int, year: int) -> IndicatorSetVersion | None:
    """The person's effective indicator set version for ``year``, if the set has one."""
    found = session.scalar(select(IndicatorSet).where(IndicatorSet.person_id == person_id, IndicatorSet.year == year))
    return found.effective_version if found is not None else None


# --- who may do what ---------------------------------------------------------------------------


def leads_section(actor: Actor, section_id: int | None) -> bool:
    """The section head or the leader in charge of the section."""
    if section_id is None:
        return False
    return section_id in actor.scopes.get(Role.section_head, ()) or section_id in actor.scopes.get(Role.unit_leader, ())


def can_read(actor: Actor, person: Person) -> bool:
    """The person, the section's head and leader in charge, the unit's principal and administrator, the office."""
    if actor.is_district_wide or actor.person_id == person.id:
        return True
    if leads_section(actor, person.section_id):
        return True
    unit_id = person.section.parent_id if person.section else None
    return unit_id is not None and unit_id in actor.unit_ids_for(Role.unit_principal, Role.unit_admin)


def can_comment(actor: Actor, person: Person) -> bool:
    """Leaders of the person's section comment on logs (not on their own)."""
    return actor.person_id != person.id and leads_section(actor, person.section_id)


def can_oversee_section(actor: Actor, section_id: int, unit_id: int | None) -> bool:
    """Who sees a section's log overview: its head and leader in charge, the unit's principal and admin, the office."""
    if actor.is_district_wide or leads_section(actor, section_id):
        return True
    return unit_id is not None and unit_id in actor.unit_ids_for(Role.unit_principal, Role.unit_admin)


# --- small parsers -----------------------------------------------------------------------------


def clean_text(value: object, max_length: int | None = None) -> str | None:
    """Stripped text, ``None`` when blank; raises ``ValueError`` if not a string or too long."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not text")
    text = value.strip()
    if max_length is not None and len(text) > max_length:
        raise ValueError("too long")
    return text or None


def fmt(value: Decimal | float | int | None) -> str:
    """A score as people write it: 45, 27.5 (no trailing zeros)."""
    if value is None:
        return ""
    d = Decimal(str(value)).quantize(Decimal("0.01"))
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
