"""The demo's monthly appraisals: one ``periodic_appraisal`` cycle of a unit, person by person, on a timeline.

Summaries, the section heads' scores (one head per unit gives everyone full marks, so the
differentiation check has something to find), leader reviews with the odd adjustment or return,
acknowledgements and a few appeals. The last month is left part-way, with overdue tasks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models import AppraisalRecord, OrgUnit, Person, ProcessInstance
from app.services.demo_activity.clock import APPRAISAL, Run, local, start_instances, worked_on

# How a section head scores: mean share of the weight, spread, days to score.
REVIEWERS = {"lenient": (1.0, 0.0, (0.5, 3.0)), "normal": (0.86, 0.05, (0.5, 4.0)), "strict": (0.8, 0.07, (1.0, 6.0))}
# Days a person takes to write the month's summary, by diligence.
SUMMARY_DAYS = {"diligent": (0.2, 3.0), "average": (1.0, 5.0), "sloppy": (3.0, 9.0)}
# Days the leader in charge takes to review a score (a sign-off, quicker than scoring), and the person
# to acknowledge the result: steps of different lengths, as in the units, so the heat map has contrast.
REVIEW_DAYS = (0.1, 1.2)
FEEDBACK_DAYS = (0.2, 2.5)


@dataclass(frozen=True)
class Section:
    """How a section's head scores, and how quickly; ``backlog`` heads leave the last month unscored."""

    style: str
    backlog: bool


def score_payload(
    run: Run, record: AppraisalRecord, style: str, ability: float, rng: random.Random, bump: Decimal = Decimal(0)
) -> dict[str, Any]:
    """The section head's scoring form: item scores around the reviewer's habit and the person's ability."""
    from app.services.appraisal.scoring import basis, threshold

    mean, spread, _ = REVIEWERS[style]
    version = basis(run.session, record)
    comment = "工作完成情况良好，记实材料完整" if style != "strict" else "完成主要任务，部分指标进度偏慢"
    if version is None:
        ratio = 1.0 if style == "lenient" else min(0.99, max(0.62, rng.gauss(mean + ability, spread)))
        total = min(Decimal(100), (Decimal(str(ratio)) * 100).quantize(Decimal("0.5")) + bump)
        payload: dict[str, Any] = {"score": str(total), "score_comment": comment}
        if total == 100 or total < threshold(Decimal(100)):
            payload["justification"] = "全面完成本月各项工作，成效突出"
        return payload
    rows, full, low = [], True, False
    for n, item in enumerate(version.items):
        if style == "lenient":
            score = item.weight
        else:
            ratio = min(1.0, max(0.62, rng.gauss(mean + ability, spread)))
            score = min(
                item.weight, (item.weight * Decimal(str(ratio))).quantize(Decimal("0.5")) + (bump if n == 0 else 0)
            )
        full &= score == item.weight
        low |= score < threshold(item.weight)
        rows.append({"item_id": item.id, "score": str(score)})
    payload = {"item_scores": rows, "score_comment": comment}
    if full or low:
        payload["justification"] = "各项指标均按期高质量完成，记实与佐证充分"
    return payload


def run_month(
    run: Run,
    unit: OrgUnit,
    month: str,
    last: bool,
    traits: dict[int, str],
    ability: dict[int, float],
    sections: dict[int, Section],
    rng: random.Random,
) -> None:
    """One monthly appraisal of a unit, person by person along a simulated timeline."""
    from app.services.appraisal.records import find_for_instance

    year, mon = int(month[:4]), int(month[5:])
    start = local(date(year + (mon == 12), mon % 12 + 1, 1), 9)
    ids = start_instances(run, APPRAISAL, month, unit, start)
    if worked_on(run.session, ids):
        run.summary.skipped_months += 1
        return
    for instance in run.session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))).all():
        person = run.session.get(Person, instance.subject_id)
        assert person is not None and person.section_id is not None
        section = sections[person.section_id]
        run.summary.appraisals += 1
        when = start + timedelta(days=rng.uniform(*SUMMARY_DAYS[traits[person.id]]))
        if last and rng.random() < 0.07:
            continue  # the summary is still not written
        done = run.act(
            instance, {"summary": "本月围绕年度指标推进各项工作，详见周记实。", "plan": "下月继续推进重点工作。"}, when
        )
        if done is None:
            continue
        record = find_for_instance(run.session, instance.id)
        assert record is not None
        rounds, bump = 0, Decimal(0)
        while rounds < 3:
            rounds += 1
            when += timedelta(days=rng.uniform(*REVIEWERS[section.style][2]))
            if last and section.backlog and rng.random() < 0.7:
                break
            payload = score_payload(run, record, section.style, ability[person.id], rng, bump)
            if run.act(instance, payload, when) is None:
                break
            when += timedelta(days=rng.uniform(*REVIEW_DAYS))
            if last and rng.random() < 0.1:
                break  # the leader has not reviewed yet
            roll = rng.random()
            if roll < 0.03 and rounds == 1:
                review = {"decision": "return", "comment": "评分依据不足，请结合周记实重新评分"}
                run.summary.returns += 1
            elif roll < 0.08 and section.style != "lenient":
                score = find_for_instance(run.session, instance.id)
                assert score is not None and score.score is not None
                adjusted = max(Decimal(60), min(Decimal(99), score.score + rng.choice((-2, -1, 1, 2))))
                review = {"decision": "approve", "adjusted_score": str(adjusted), "adjust_reason": "结合日常表现调整"}
                run.summary.adjustments += 1
            else:
                review = {"decision": "approve", "comment": "同意"}
            appeal = not last and rounds == 1 and review["decision"] == "approve" and rng.random() < 0.08
            if run.act(instance, review, when, window=not appeal) is None:
                break
            if review["decision"] == "return":
                continue
            when += timedelta(days=rng.uniform(*FEEDBACK_DAYS))
            if last and rng.random() < 0.2:
                break  # not acknowledged yet
            if appeal:
                answer = {"decision": "appeal", "appeal_reason": "本月承担的临时任务未充分体现在评分中"}
                if run.act(instance, answer, when) is not None:
                    run.summary.appeals += 1
                    bump = Decimal(rng.choice((1, 2, 3)))
                continue
            run.act(instance, {"decision": "acknowledge"}, when)
            break
