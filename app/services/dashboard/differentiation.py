"""How much a reviewer's scores tell people apart (the seed's 打满分赋均分: full marks or equal shares for all).

``reviewer_differentiation`` is a pure read: no actor, no access check (callers check who may
see the unit), no writes. It looks at the section heads' own scores (``AppraisalRecord.score``,
not the leader's adjustment: the question is how the *reviewer* scored) of one unit's people in
a period, grouped by who scored them. Two grouped queries, whatever the unit's size.

Figures per reviewer:
- ``full_share``: share of their scores at full marks (100, or every item at its weight: the
  item weights add up to 100, so both are a total of 100);
- ``stddev`` and ``spread`` (max − min): how far apart their scores are;
- ``equal_share``: share of their scores that another of their scores equals exactly.

``undifferentiated(row)`` applies the default thresholds; the flags of the unit dashboard and
the office's differentiation flags use it so the rule lives in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from app.models import AppraisalRecord, OrgUnit, Person
from app.services.dashboard.common import months_of

FULL_MARKS = Decimal(100)
# Defaults of ``undifferentiated``: at least this many scores before judging a reviewer at all.
MIN_SCORES = 3
MAX_FULL_SHARE = 0.5
MAX_EQUAL_SHARE = 0.8
MIN_STDDEV = 1.0


@dataclass(frozen=True)
class ReviewerDifferentiation:
    reviewer_id: int
    reviewer_name: str
    scored: int  # records scored
    full_marks: int
    equal_scores: int  # records whose score another of this reviewer's records shares
    mean: float
    stddev: float  # population standard deviation
    minimum: float
    maximum: float

    @property
    def full_share(self) -> float:
        return self.full_marks / self.scored if self.scored else 0.0

    @property
    def equal_share(self) -> float:
        return self.equal_scores / self.scored if self.scored else 0.0

    @property
    def spread(self) -> float:
        return round(self.maximum - self.minimum, 2)


def reviewer_differentiation(session: Session, unit_id: int, period: str) -> list[ReviewerDifferentiation]:
    """Per reviewer who scored people of ``unit_id`` in ``period`` (month, quarter or year), by name.

    Records not yet scored are left out; a record re-scored after an appeal counts once, with its
    current score and reviewer.
    """
    section = aliased(OrgUnit)
    reviewer = aliased(Person)
    base = (
        select(AppraisalRecord.scored_by_id, AppraisalRecord.score)
        .join(Person, AppraisalRecord.person_id == Person.id)
        .join(section, Person.section_id == section.id)
        .where(
            section.parent_id == unit_id,
            AppraisalRecord.period.in_(months_of(period)),
            AppraisalRecord.score.is_not(None),
            AppraisalRecord.scored_by_id.is_not(None),
        )
        .subquery()
    )
    score = base.c.score
    rows = session.execute(
        select(
            base.c.scored_by_id,
            reviewer.name,
            func.count(),
            func.sum(case((score >= FULL_MARKS, 1), else_=0)),
            func.avg(score),
            func.avg(score * score),
            func.min(score),
            func.max(score),
        )
        .join(reviewer, reviewer.id == base.c.scored_by_id)
        .group_by(base.c.scored_by_id, reviewer.name)
    ).all()
    ties = (
        select(base.c.scored_by_id.label("rid"), func.count().label("n"))
        .group_by(base.c.scored_by_id, score)
        .having(func.count() > 1)
        .subquery()
    )
    equal = {rid: n for rid, n in session.execute(select(ties.c.rid, func.sum(ties.c.n)).group_by(ties.c.rid))}
    out = []
    for rid, name, n, full, mean, mean_sq, lo, hi in rows:
        mean_f, sq_f = float(mean or 0), float(mean_sq or 0)
        out.append(
            ReviewerDifferentiation(
                reviewer_id=rid,
                reviewer_name=name,
                scored=int(n),
                full_marks=int(full or 0),
                equal_scores=int(equal.get(rid, 0) or 0),
                mean=round(mean_f, 2),
                stddev=round(math.sqrt(max(sq_f - mean_f * mean_f, 0.0)), 2),
                minimum=float(lo),
                maximum=float(hi),
            )
        )
    return sorted(out, key=lambda r: (r.reviewer_name, r.reviewer_id))


def undifferentiated(
    row: ReviewerDifferentiation,
    *,
    min_scores: int = MIN_SCORES,
    max_full_share: float = MAX_FULL_SHARE,
    max_equal_share: float = MAX_EQUAL_SHARE,
    min_stddev: float = MIN_STDDEV,
) -> bool:
    """True when a reviewer with enough scores gives mostly full marks, mostly equal scores, or no spread."""
    if row.scored < min_scores:
        return False
    return row.full_share > max_full_share or row.equal_share >= max_equal_share or row.stddev < min_stddev
