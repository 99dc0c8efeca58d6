"""Differentiation flags (打满分赋均分): thresholds, the numbers given, who sees them, one notification each."""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.models import Notification
from app.services import notifications
from app.services.actor import actor_for_user
from app.services.appraisal import differentiation
from app.services.errors import Forbidden
from app.web.notifications import texts
from tests.conftest import demo_account
from tests.results_support import OFFICE, month_record, unit_of

LIMITS = differentiation.Thresholds(min_scores=3, full_marks_share=0.8, min_spread=3.0, equal_share=0.8)


def _scores(session: Any, make_person: Any, reviewer: Any, section: str, *scores: str) -> None:
    for score in scores:
        month_record(session, make_person(section), "2026-10", score, scored_by=reviewer)


def test_a_reviewer_giving_full_marks_to_everyone_is_flagged_with_the_numbers(session: Any, make_person: Any) -> None:
    lazy, careful = make_person("ljjd-1", name="满分股长"), make_person("ljjd-2", name="认真股长")
    _scores(session, make_person, lazy, "ljjd-1", "100", "100", "100", "100")
    _scores(session, make_person, careful, "ljjd-2", "78", "86", "93", "100")
    found = differentiation.flags(session, OFFICE, "2026-10", LIMITS, unit_of(session).id)
    assert [f.reviewer_id for f in found] == [lazy.id]
    reasons = [str(r) for r in found[0].reasons]
    assert reasons == [
        "4 of 4 scores at full marks (100 per cent; the limit is 80 per cent).",
        "Scores lie within 0.0 points (100.0 to 100.0; at least 3.0 expected).",
        "4 of 4 scores equal another one (100 per cent; the limit is 80 per cent).",
    ]


def test_equal_shares_below_full_marks_are_flagged_and_few_scores_are_not_judged(
    session: Any, make_person: Any
) -> None:
    equal, few = make_person("ljjd-1"), make_person("ljjd-3")
    _scores(session, make_person, equal, "ljjd-1", "90", "90", "90", "91")
    _scores(session, make_person, few, "ljjd-3", "100", "100")
    found = {f.reviewer_id: f for f in differentiation.flags(session, OFFICE, "2026-10", LIMITS, unit_of(session).id)}
    assert set(found) == {equal.id}
    assert [r.msgid for r in found[equal.id].reasons] == [
        "Scores lie within %(spread)s points (%(low)s to %(high)s; at least %(limit)s expected).",
    ]  # 3 of 4 equal is 75 per cent: under the equal-share limit


def test_notifications_go_to_the_unit_admin_and_office_once_per_reviewer_and_period(
    app: Any, session: Any, make_person: Any
) -> None:
    lazy = make_person("ljjd-1")
    _scores(session, make_person, lazy, "ljjd-1", "100", "100", "100")
    first = differentiation.notify_flags(session, "2026-10", LIMITS)
    again = differentiation.notify_flags(session, "2026-10", LIMITS)
    assert first["flagged"] >= 1 and first["notified"] >= 2 and again["notified"] == 0
    rows = session.scalars(select(Notification).where(Notification.kind == differentiation.KIND)).all()
    mine = [n for n in rows if n.data["reviewer_id"] == lazy.id]
    admin = demo_account(session, "unit_admin").person_id
    office = demo_account(session, "perf_office").person_id
    assert {n.recipient_id for n in mine} >= {admin, office}
    assert len(mine) == len({n.recipient_id for n in mine})
    # worded in the reader's language from the stored facts, naming the reviewer
    with app.test_request_context():
        with force_locale("en"):
            assert lazy.name in texts.message(mine[0]) and "do not differentiate" in texts.message(mine[0])
        assert differentiation.KIND in notifications.KINDS  # people can choose how to receive it


def test_unit_admins_see_their_unit_only(session: Any) -> None:
    admin = actor_for_user(session, demo_account(session, "unit_admin"))
    assert [u.code for u in differentiation.visible_units(session, admin)] == ["ljjd"]
    with pytest.raises(Forbidden):
        differentiation.flags(session, admin, "2026-10", LIMITS, unit_of(session, "lcz").id)
    staff = actor_for_user(session, demo_account(session, "staff"))
    with pytest.raises(Forbidden):
        differentiation.flags(session, staff, "2026-10", LIMITS)


def test_flags_page_shows_the_reviewer_for_the_office(
    client: Any, login_as: Any, session: Any, make_person: Any
) -> None:
    lazy = make_person("ljjd-1", name="满分股长")
    _scores(session, make_person, lazy, "ljjd-1", "100", "100", "100")
    session.commit()
    login_as("perf_office")
    html = client.get(f"/results/flags?period=2026-10&unit_id={unit_of(session).id}").get_data(as_text=True)
    assert f'data-reviewer="{lazy.id}"' in html


def test_flags_page_is_not_for_staff(client: Any, login_as: Any) -> None:
    login_as("staff")
    assert client.get("/results/flags?period=2026-10").status_code == 403
