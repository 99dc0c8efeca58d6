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
}


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
