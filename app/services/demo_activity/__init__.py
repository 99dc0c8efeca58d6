"""A simulated quarter of activity for the demo district, driven through the real services and engine.

Why: dashboards, process analytics and the monthly analysis need history to show. The
simulation writes three months of weekly logs (some late, some missing) and runs three
monthly ``periodic_appraisal`` cycles end to end, leaving the last month part-way with overdue
tasks. It first takes each person's indicator set for the year through ``indicator_setting`` so
logs and scores link to indicators.

- ``clock`` — time travel: engine steps run now and are moved to the simulated moment;
  actions whose moment is still in the future are not taken, which leaves work waiting;
- ``indicators`` — the year's indicator sets; ``logs`` — weekly logs; ``months`` — the
  monthly appraisals; ``bonus`` — a few approved bonus and deduction items (when given an
  evidence store for their files).

Deterministic: one ``random.Random`` per unit and phase, seeded from ``seed`` and the unit's
code. Re-running skips weeks already written and months already worked on.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Person, PersonStatus
from app.models.base import utcnow
from app.services.appraisal import common
from app.services.demo import PILOT_UNITS
from app.services.demo_activity.bonus import approve_items
from app.services.demo_activity.clock import QuarterSummary, Run
from app.services.demo_activity.indicators import set_indicators
from app.services.demo_activity.logs import DILIGENCE, write_logs
from app.services.demo_activity.months import Section, run_month

__all__ = ["QuarterSummary", "quarter_months", "simulate_quarter"]


def quarter_months(today: date) -> list[str]:
    """The three whole months before ``today``'s month, oldest first."""
    first = today.replace(day=1)
    out = []
    for _ in range(3):
        first = (first - timedelta(days=1)).replace(day=1)
        out.append(f"{first.year}-{first.month:02d}")
    return out[::-1]


def _weeks(months: list[str], today: date, now: datetime) -> list[str]:
    """Weeks whose Thursday is in the quarter or later, up to a week before today."""
    first_day = date(int(months[0][:4]), int(months[0][5:]), 1)
    last_week_day = min(today, common.local_date(now)) - timedelta(days=7)
    weeks = []
    day = first_day + timedelta(days=(3 - first_day.weekday()) % 7)
    while day - timedelta(days=3) <= last_week_day:
        weeks.append(common.week_of(day))
        day += timedelta(days=7)
    return weeks


def simulate_quarter(
    session: Session,
    today: date,
    *,
    unit_codes: list[str] | None = None,
    seed: int = 2026,
    now: datetime | None = None,
    evidence_store: Path | None = None,
) -> QuarterSummary:
    """Simulate the three months before ``today``'s month for the demo's pilot units (or ``unit_codes``).

    Needs the demo district (``seed_demo``). Only flushes; the caller commits. ``now`` bounds what
    may have happened yet (default: the real time); actions after it are left waiting. With an
    ``evidence_store`` (where evidence files live), each unit also gets a few approved bonus and
    deduction items, whose evidence files are written there.
    """
    months = quarter_months(today)
    run = Run(session, now or utcnow(), QuarterSummary(months=months))
    codes = unit_codes or [u.code for u in PILOT_UNITS]
    weeks = _weeks(months, today, run.now)
    for code in codes:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == OrgKind.unit))
        if unit is None:
            continue
        run.summary.units.append(unit.name)
        rng = random.Random(f"{seed}:{code}")  # traits; each phase below has its own stream, so a rerun that
        # skips finished work draws the same numbers for what it still does
        people = session.scalars(
            select(Person)
            .join(OrgUnit, Person.section_id == OrgUnit.id)
            .where(OrgUnit.parent_id == unit.id, Person.status == PersonStatus.active)
            .order_by(Person.staff_no)
        ).all()
        traits = {p.id: rng.choices(list(DILIGENCE), weights=(6, 3, 1))[0] for p in people}
        ability = {p.id: rng.gauss(0.0, 0.04) for p in people}
        section_ids = sorted({p.section_id for p in people if p.section_id is not None})
        lenient = rng.choice(section_ids)
        backlog = rng.choice([s for s in section_ids if s != lenient] or section_ids)
        sections = {
            sid: Section("lenient" if sid == lenient else rng.choice(("normal", "normal", "strict")), sid == backlog)
            for sid in section_ids
        }
        for year in sorted({int(m[:4]) for m in months} | {today.year}):
            set_indicators(run, unit, year, random.Random(f"{seed}:{code}:{year}"))
        write_logs(run, list(people), weeks, traits, random.Random(f"{seed}:{code}:logs"))
        for n, month in enumerate(months):
            month_rng = random.Random(f"{seed}:{code}:{month}")
            run_month(run, unit, month, n == len(months) - 1, traits, ability, sections, month_rng)
        if evidence_store is not None:
            approve_items(run, unit, months, evidence_store, random.Random(f"{seed}:{code}:bonus"))
    session.flush()
    return run.summary
