"""Period keys (DOMAIN.md): ``2026`` year, ``2026-Q4`` quarter, ``2026-11`` month, ``2026-W47`` ISO week."""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.services.errors import T_, Invalid

_PATTERNS = {
    "year": re.compile(r"^(\d{4})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "week": re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$"),
}

# Which period kinds each shipped process accepts; other processes accept any.
PROCESS_PERIODS = {
    "indicator_setting": {"year"},
    "periodic_appraisal": {"week", "month", "quarter"},
    "monthly_analysis": {"month"},
    "evaluation_rating": {"quarter", "year"},
}

# Whom an instance of each process is about: a person (the default) or a unit (``subject_unit_id``).
# A unit-subject process opens one instance per unit, not per person; cycles, status and the
# designer's instance migration read this. Declared here, next to the periods, because it is as
# much a fixed property of the shipped process as its period kind — the domain code behind it
# (the report row of ``monthly_analysis``) is written for that subject, so the BPMN cannot change it.
PROCESS_SUBJECTS = {
    "monthly_analysis": "unit",
    "publication": "unit",
    "bonus_distribution": "unit",
}

# Processes that only their own domain service starts, because the instance belongs to a domain row
# created with it (a bonus item, an evaluation round's rater, a publication snapshot, a distribution).
# The generic starts — the inbox's "start a process", POST /api/v1/processes/<key>/start and cycle
# opening — refuse them, pointing to the page that starts them.
DOMAIN_STARTED = {
    "bonus_deduction": T_("Propose bonus points or a deduction on the Bonus and deduction page."),
    "evaluation_rating": T_("Rating sheets come from an evaluation round: open it on the Evaluation rounds page."),
    "publication": T_("Prepare the publication on the Published results page."),
    "bonus_distribution": T_("Create the distribution on the Bonus distribution page."),
}


def check_generic_start(process_key: str) -> None:
    """Refuse a generic start of a process its domain starts itself (see ``DOMAIN_STARTED``)."""
    where = DOMAIN_STARTED.get(process_key)
    if where is not None:
        raise Invalid(
            T_("This process is not started directly. %(where)s", where=where), {"process": T_("Not started here.")}
        )


def generic_start_keys(names: dict[str, str]) -> dict[str, str]:
    """The processes a person may start for themself from the inbox: person-subject, not domain-started."""
    return {k: v for k, v in names.items() if k not in DOMAIN_STARTED and subject_kind(k) == "person"}


def subject_kind(process_key: str) -> str:
    """``"unit"`` if an instance of ``process_key`` is about a unit, else ``"person"``."""
    return PROCESS_SUBJECTS.get(process_key, "person")


def period_kind(key: str) -> str | None:
    for kind, pattern in _PATTERNS.items():
        if pattern.match(key):
            if kind == "week":
                year, week = int(key[:4]), int(key[6:])
                if week > date(year, 12, 28).isocalendar()[1]:
                    return None
            return kind
    return None


def check_period(process_key: str, key: object) -> str:
    """Return ``key`` if it is a well-formed period the process accepts, else raise ``Invalid``."""
    if not isinstance(key, str) or (kind := period_kind(key.strip())) is None:
        raise Invalid(
            T_("The period must look like 2026 (year), 2026-Q4 (quarter), 2026-11 (month) or 2026-W47 (ISO week)."),
            {"period": T_("Malformed period.")},
        )
    allowed = PROCESS_PERIODS.get(process_key)
    if allowed is not None and kind not in allowed:
        raise Invalid(
            f"The process {process_key} runs per {' or '.join(sorted(allowed))}, not per {kind}.",
            {"period": f"Use a {' or '.join(sorted(allowed))} period."},
        )
    return key.strip()


def month_before(day: date) -> str:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def iso_week(day: date) -> str:
    """The ISO week ``day`` falls in, e.g. ``2026-W47``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def quarter_before(day: date) -> str:
    """The quarter that ended before the quarter of ``day``: on 2027-01-01 that is ``2026-Q4``."""
    quarter = (day.month - 1) // 3 + 1
    return f"{day.year - 1}-Q4" if quarter == 1 else f"{day.year}-Q{quarter - 1}"
