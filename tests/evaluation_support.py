"""Helpers of the evaluation tests: demo units, actors, a rater's whole submitted sheet."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models import OrgUnit, Person, Role, RoleAssignment, UserAccount
from app.services.actor import Actor, actor_for_user
from app.services.appraisal import evaluation_flow
from app.services.appraisal.scheme import DIMENSIONS
from tests.conftest import demo_account


def unit_by_code(session: Any, code: str) -> OrgUnit:
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code))


def actor_of(session: Any, role: str | None = None, unit_code: str = "ljjd", *, person_id: int | None = None) -> Actor:
    """The actor of a demo role holder, or of a person (with or without an account)."""
    if role is not None:
        return actor_for_user(session, demo_account(session, role, unit_code=unit_code))
    assert person_id is not None
    account = session.scalar(select(UserAccount).where(UserAccount.person_id == person_id))
    if account is not None:
        return actor_for_user(session, account)
    person = session.get(Person, person_id)
    scopes: dict[Role, frozenset[int]] = {}
    for r, org in session.execute(
        select(RoleAssignment.role, RoleAssignment.org_unit_id).where(RoleAssignment.person_id == person_id)
    ):
        scopes[r] = scopes.get(r, frozenset()) | {org}
    return Actor(None, person_id, person.name, person.name, person.section_id, None, scopes)


def rate_all(session: Any, rater_id: int, period: str, special: dict[int, dict[str, Any]], default: int = 75) -> None:
    """Submit the rater's whole sheet: ``special`` scores for some ratees, ``default`` for the others."""
    actor = actor_of(session, person_id=rater_id)
    sheet = evaluation_flow.rater_sheet(session, actor, rater_id, period)
    payload = {
        "ratings": [
            {"ratee_id": row.ratee_id, "scores": {d: special.get(row.ratee_id, {}).get(d, default) for d in DIMENSIONS}}
            for row in sheet.rows
        ]
    }
    evaluation_flow.save_ratings(session, actor, period, payload, submit=True)
