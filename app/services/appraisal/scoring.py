"""Scoring (股室负责人评分) and review (分管领导审核评鉴) of an appraisal record.

- With an effective indicator set for the period's year, the section head scores every item
  from 0 up to its weight; the total is the sum. Without one, one overall score 0–100.
- 打满分赋均分 guard: full marks on every item, or any item below ``low_share`` of its weight,
  needs a written justification (overall: 100, or below ``low_share`` × 100).
- The leader in charge approves or returns; approving may adjust the total with a reason.
  Both the head's score and the adjusted one are kept; the adjusted one counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from app.models import AppraisalItemScore, AppraisalRecord, IndicatorItem, IndicatorSetVersion
from app.services import audit
from app.services.actor import Actor
from app.services.appraisal import common, records
from app.services.errors import T_, Conflict, Invalid, Text
from forms.builder import validate_json

SCORE_FIELDS = {"score", "score_comment", "item_scores", "justification"}
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def basis(session: Session, record: AppraisalRecord) -> IndicatorSetVersion | None:
    """What the record is scored against: the person's effective set for the period's year (or nothing)."""
    version = common.effective_version(session, record.person_id, int(record.period[:4]))
    return version if version is not None and version.items else None


def to_decimal(value: Any) -> Decimal:
    """A score from JSON or a form: a number with at most two decimals (``ValueError`` otherwise)."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("missing")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    if not number.is_finite() or number != number.quantize(CENT):
        raise ValueError("too precise")
    return number.quantize(CENT)


def threshold(weight: Decimal) -> Decimal:
    return (weight * common.policy().low_share).quantize(CENT)


@dataclass
class ItemScore:
    item: IndicatorItem
    score: Decimal
    comment: str | None


def _raw_item_scores(raw: Any) -> dict[str, Any]:
    """``[{"item_id", "score", "comment"}]`` or ``{"<item_id>": score | {"score", "comment"}}`` as one mapping."""
    if isinstance(raw, list):
        out: dict[str, Any] = {}
        for row in raw:
            if not isinstance(row, dict) or "item_id" not in row:
                raise ValueError("rows need item_id")
            out[str(row["item_id"])] = row
        return out
    if isinstance(raw, dict):
        return {str(k): v if isinstance(v, dict) else {"score": v} for k, v in raw.items()}
    raise ValueError("not a list")


def _parse_items(version: IndicatorSetVersion, raw: Any, fields: dict[str, str]) -> list[ItemScore]:
    try:
        given = _raw_item_scores(raw if raw is not None else [])
    except ValueError:
        fields["item_scores"] = T_("Send a list of {item_id, score, comment}, one per indicator.")
        return []
    known = {str(i.id) for i in version.items}
    for key in sorted(set(given) - known):
        fields[f"item_scores.{key}"] = T_("No such indicator in this person's effective set.")
    out = []
    for item in version.items:
        row = given.get(str(item.id))
        key = f"item_scores.{item.id}"
        if row is None:
            fields[key] = T_("Score this indicator (0 to %(max)s).", max=common.fmt(item.weight))
            continue
        try:
            score = to_decimal(row.get("score"))
        except ValueError:
            fields[key] = T_("A score from 0 to %(max)s, at most two decimals.", max=common.fmt(item.weight))
            continue
        if not Decimal(0) <= score <= item.weight:
            fields[key] = T_("A score from 0 to %(max)s, at most two decimals.", max=common.fmt(item.weight))
            continue
        try:
            comment = common.clean_text(row.get("comment"), common.policy().text_max)
        except ValueError:
            fields[f"{key}.comment"] = T_("At most %(n)d characters.", n=common.policy().text_max)
            continue
        out.append(ItemScore(item, score, comment))
    return out


def _guard_message(items: list[ItemScore]) -> Text | None:
    """Why a justification is needed for these item scores, or ``None``."""
    if items and all(s.score == s.item.weight for s in items):
        return T_("Full marks on every indicator need a written justification.")
    low = [s.item.name for s in items if s.score < threshold(s.item.weight)]
    if low:
        share = int(common.policy().low_share * 100)
        return T_(
            "Scores below %(share)d%% of the weight need a written justification: %(items)s.",
            share=share,
            items="、".join(low),
        )
    return None


def _overall_guard(score: Decimal) -> Text | None:
    if score == HUNDRED:
        return T_("Full marks need a written justification.")
    if score < threshold(HUNDRED):
        return T_("A score below %(min)s needs a written justification.", min=common.fmt(threshold(HUNDRED)))
    return None


def score_record(
    session: Session, actor: Actor, record: AppraisalRecord, payload: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    """Store the head's scores; return the workflow data ``{"score", "score_comment", ...}``."""
    records.ensure_open(record)
    fields: dict[str, str] = {k: T_("Unknown field for this form.") for k in sorted(set(payload) - SCORE_FIELDS)}
    texts: dict[str, str | None] = {}
    for name in ("score_comment", "justification"):
        try:
            texts[name] = common.clean_text(payload.get(name), 4000)
        except ValueError:
            fields[name] = T_("At most %(n)d characters.", n=4000)
    if not texts.get("score_comment") and "score_comment" not in fields:
        fields["score_comment"] = T_("Say what the score rests on: results, evidence, gaps.")
    version = basis(session, record)
    items: list[ItemScore] = []
    total: Decimal | None = None
    if version is not None and not payload.get("item_scores"):
        fields["item_scores"] = T_(
            "Score each of the %(n)d indicators of the effective set; the total is their sum.", n=len(version.items)
        )
        why = None
    elif version is not None:
        items = _parse_items(version, payload.get("item_scores"), fields)
        if len(items) == len(version.items):
            total = sum((s.score for s in items), Decimal(0))
            given = payload.get("score")
            if given not in (None, ""):
                try:
                    matches = to_decimal(given) == total
                except ValueError:
                    matches = False
                if not matches:
                    fields["score"] = T_("The total is the sum of the item scores: %(total)s.", total=common.fmt(total))
        why = _guard_message(items) if total is not None else None
    else:
        if payload.get("item_scores"):
            fields["item_scores"] = T_(
                "This person has no effective indicator set for %(year)s: give one overall score.",
                year=record.period[:4],
            )
        try:
            total = to_decimal(payload.get("score"))
            if not Decimal(0) <= total <= HUNDRED:
                raise ValueError("out of range")
        except ValueError:
            fields["score"] = T_("A score from 0 to 100, at most two decimals.")
            total = None
        why = _overall_guard(total) if total is not None else None
    if why is not None and not texts.get("justification") and "justification" not in fields:
        fields["justification"] = why
    if fields:
        raise Invalid(T_("The scores need attention."), fields)
    assert total is not None
    record.score_mode = "items" if version is not None else "overall"
    record.version_id = version.id if version is not None else None
    record.score, record.score_comment, record.justification = total, texts["score_comment"], texts["justification"]
    record.scored_by_id, record.scored_at = actor.person_id, now or datetime.now(UTC)
    record.adjusted_score = record.adjust_reason = None  # a new score replaces an earlier adjustment
    record.items = [
        AppraisalItemScore(
            indicator_item_id=s.item.id,
            position=n,
            category=s.item.category.value,
            name=s.item.name,
            weight=s.item.weight,
            score=s.score,
            comment=s.comment,
        )
        for n, s in enumerate(items)
    ]
    record.updated_at = record.scored_at
    session.flush()
    audit.record(
        session,
        actor,
        "score.set",
        "appraisal_record",
        record.id,
        "success",
        {"score": str(total), "mode": record.score_mode},
    )
    return {
        "score": float(total),
        "score_comment": texts["score_comment"],
        "justification": texts["justification"] or "",
        "score_formula": records.formula(record),
        "adjusted_score": None,
        "original_score": None,
    }


def review_record(
    session: Session, actor: Actor, record: AppraisalRecord, payload: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    """The leader's decision; approving may adjust the total (``adjusted_score`` with ``adjust_reason``)."""
    records.ensure_open(record)
    data, fields = validate_json("appraisal_review", payload)
    if record.score is None:
        raise Conflict(T_("There is no score to review yet."))
    if not fields:
        adjusted, reason = data.get("adjusted_score"), data.get("adjust_reason") or None
        if data["decision"] == "return" and (adjusted is not None or reason):
            fields["adjusted_score"] = T_("Adjust the score only when you approve it; a return is re-scored.")
        elif adjusted is not None and not reason:
            fields["adjust_reason"] = T_("Say why you adjust the score.")
        elif reason and adjusted is None:
            fields["adjusted_score"] = T_("Give the adjusted score, or leave the reason empty.")
        elif adjusted is not None:
            try:
                same = to_decimal(adjusted) == record.score
            except ValueError:
                fields["adjusted_score"] = T_("A score from 0 to 100, at most two decimals.")
            else:
                if same:
                    fields["adjusted_score"] = T_("The adjusted score is the section head's score; leave it empty.")
    if fields:
        raise Invalid(T_("Some fields need attention."), fields)
    approve = data["decision"] == "approve"
    adjusted = to_decimal(data["adjusted_score"]) if approve and data.get("adjusted_score") is not None else None
    record.review_decision = data["decision"]
    record.review_comment = data.get("comment") or None
    record.adjusted_score = adjusted
    record.adjust_reason = (data.get("adjust_reason") or None) if adjusted is not None else None
    record.reviewed_by_id, record.reviewed_at = actor.person_id, now or datetime.now(UTC)
    record.updated_at = record.reviewed_at
    session.flush()
    if adjusted is not None:
        audit.record(
            session,
            actor,
            "score.adjust",
            "appraisal_record",
            record.id,
            "success",
            {"score": str(record.score), "adjusted_score": str(adjusted), "reason": record.adjust_reason},
        )
    out = {
        "decision": data["decision"],
        "comment": data.get("comment") or "",
        "adjusted_score": float(adjusted) if adjusted is not None else None,
        "adjust_reason": record.adjust_reason or "",
    }
    if adjusted is not None:  # what the person is told is the score that counts
        out["original_score"] = float(record.score)
        out["score"] = float(adjusted)
    return out
