"""Scoring schemes (考核方案): what turns monthly scores into period and annual results.

The performance office sets a district default per year; a unit may override it (量体裁衣). A
scheme fixes: the weights of the indicator score and the comprehensive evaluation (综合测评) in a
period total; the caps on bonus points (绩优加分) and deductions (绩差扣分) per period and per
year; the evaluation round's frequency, rater-group weights and dimension weights (德能勤绩廉);
the period grades (好/较好/一般/较差) and annual grades (优秀/合格/基本合格/不合格) with their
thresholds and quotas; the rules from periods to the year, including veto items (一票否决);
publication and bonus-distribution settings.

A *period* here is a quarter: monthly records roll up into quarterly totals, which carry the
period grade (平时考核等次) and are published (每季公布).

``effective_scheme`` answers "which scheme applies to this unit in this year": the unit's
override for the year, else the district default for the year, else the latest district default
of an earlier year, else the built-in default below (the rules deployed systems use).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgKind, OrgUnit, Role, ScoringScheme
from app.models.base import utcnow
from app.services import audit
from app.services.actor import Actor
from app.services.errors import T_, Conflict, Forbidden, Invalid, NotFound, Text

PERIOD_GRADES = ("good", "fairly_good", "average", "poor")  # 好 / 较好 / 一般 / 较差
ANNUAL_GRADES = ("excellent", "competent", "basically_competent", "incompetent")  # 优秀 / 合格 / 基本合格 / 不合格
BONUS_KINDS = ("innovation", "commendation", "responsibility", "over_fulfilment", "information")
DEDUCTION_KINDS = ("criticism", "discipline")
DIMENSIONS = ("de", "neng", "qin", "ji", "lian")  # 德 能 勤 绩 廉
RATER_GROUPS = ("leader", "peer", "self")
EVALUATION_PERIODS = ("quarter", "year")
EXCELLENT_REQUIRES = ("none", "one_good", "majority_good")
PUBLISH_SCOPES = ("own", "unit")
DISTRIBUTION_METHODS = ("score", "score_x_grade")

_D = Decimal


_FIVE = Decimal("5")
_P20 = Decimal("0.2")
_P40 = Decimal("0.4")
_P80 = Decimal("0.8")
_TEN = Decimal("10")


def _pairs(**values: str) -> tuple[tuple[str, Decimal], ...]:
    return tuple((k, _D(v)) for k, v in values.items())


@dataclass(frozen=True)
class Scheme:
    """One year's rules; every field has the district's built-in default."""

    # period total = mean monthly score × indicator_weight + evaluation score × evaluation_weight
    #                + counted bonus − counted deduction
    indicator_weight: Decimal = _P80
    evaluation_weight: Decimal = _P20
    bonus_cap_period: Decimal = _FIVE  # points counted per quarter at most
    bonus_cap_year: Decimal = _TEN
    deduction_cap_period: Decimal | None = None  # None: every approved deduction counts
    evaluation_period: str = "quarter"
    rater_weights: tuple[tuple[str, Decimal], ...] = _pairs(leader="0.5", peer="0.3", self="0.2")
    dimension_weights: tuple[tuple[str, Decimal], ...] = _pairs(de="20", neng="20", qin="20", ji="20", lian="20")
    # (grade, minimum total); the first band a total reaches is its grade
    period_grades: tuple[tuple[str, Decimal], ...] = _pairs(good="90", fairly_good="80", average="70", poor="0")
    period_top_share: Decimal = _P40  # at most this share of a unit's people get 好 in a period
    annual_grades: tuple[tuple[str, Decimal], ...] = _pairs(
        excellent="90", competent="70", basically_competent="60", incompetent="0"
    )
    annual_top_share: Decimal = _P20  # 优秀 quota of a unit
    excellent_requires: str = "one_good"  # 好 periods needed for annual 优秀
    excellent_forbids_low_periods: bool = True  # no 一般/较差 period for annual 优秀
    veto_items: tuple[tuple[str, str], ...] = (
        ("serious_violation", "严重违纪违法"),
        ("disciplinary_sanction", "受到党纪政务处分"),
        ("major_accident", "发生重大责任事故"),
    )
    publicity_days: int = 5  # 公示期
    publish_scope: str = "unit"  # what people see of a publication: their own detail only, or the unit's list
    distribution_method: str = "score_x_grade"
    grade_coefficients: tuple[tuple[str, Decimal], ...] = _pairs(
        good="1.2", fairly_good="1.0", average="0.8", poor="0.5"
    )
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def rater_weight(self, group: str) -> Decimal:
        return dict(self.rater_weights).get(group, _D(0))

    def dimension_weight(self, dimension: str) -> Decimal:
        return dict(self.dimension_weights).get(dimension, _D(0))

    def grade_coefficient(self, grade: str | None) -> Decimal:
        return dict(self.grade_coefficients).get(grade or "", _D(1))

    def period_grade_for(self, total: Decimal) -> str:
        return _band(self.period_grades, total)

    def annual_grade_for(self, total: Decimal) -> str:
        return _band(self.annual_grades, total)

    @property
    def veto_labels(self) -> dict[str, str]:
        return dict(self.veto_items)


def _band(bands: tuple[tuple[str, Decimal], ...], total: Decimal) -> str:
    for grade, minimum in bands:
        if total >= minimum:
            return grade
    return bands[-1][0]


DEFAULT = Scheme()


@dataclass(frozen=True)
class EffectiveScheme:
    scheme: Scheme
    source: str  # "unit" | "district" | "builtin"
    year: int  # the year of the row it came from (an earlier district default may apply)
    row: ScoringScheme | None


# --- (de)serialisation and validation -------------------------------------------------------


def to_dict(scheme: Scheme) -> dict[str, Any]:
    """JSON-ready form: decimals as strings, pair lists as objects (order kept)."""
    out: dict[str, Any] = {}
    for f in fields(Scheme):
        if f.name == "extra":
            continue
        value = getattr(scheme, f.name)
        if isinstance(value, tuple):
            out[f.name] = {k: str(v) for k, v in value}
        elif isinstance(value, Decimal):
            out[f.name] = str(value)
        else:
            out[f.name] = value
    return out


def _dec(name: str, raw: object, errors: dict[str, Text], *, low: Decimal | None = None) -> Decimal | None:
    try:
        value = _D(str(raw).strip())
        if not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors[name] = T_("Enter a number.")
        return None
    if low is not None and value < low:
        errors[name] = T_("Must be at least %(low)s.", low=low)
        return None
    return value


def _share(name: str, raw: object, errors: dict[str, Text]) -> Decimal | None:
    value = _dec(name, raw, errors, low=_D(0))
    if value is not None and value > 1:
        errors[name] = T_("A share is between 0 and 1 (0.2 means 20 per cent).")
        return None
    return value


def _mapping(name: str, raw: object, keys: tuple[str, ...], errors: dict[str, Text]) -> dict[str, Decimal] | None:
    if not isinstance(raw, dict) or set(raw) != set(keys):
        errors[name] = T_("Give a value for each of: %(keys)s.", keys=", ".join(keys))
        return None
    out: dict[str, Decimal] = {}
    for key in keys:
        value = _dec(f"{name}.{key}", raw[key], errors, low=_D(0))
        if value is None:
            return None
        out[key] = value
    return out


def _choice(name: str, raw: object, allowed: tuple[str, ...], errors: dict[str, Text]) -> str | None:
    if raw not in allowed:
        errors[name] = T_("Choose one of: %(allowed)s.", allowed=", ".join(allowed))
        return None
    return str(raw)


def _check_bands(name: str, bands: dict[str, Decimal], order: tuple[str, ...], errors: dict[str, Text]) -> None:
    values = [bands[k] for k in order]
    if any(a <= b for a, b in pairwise(values)):
        errors[name] = T_("Thresholds must fall from the top grade to the lowest one.")
    elif values[-1] != 0:
        errors[name] = T_("The lowest grade must start at 0 so that every total has a grade.")


def from_dict(data: dict[str, Any], base: Scheme = DEFAULT) -> Scheme:
    """Validate a scheme given as ``to_dict`` produces it; missing keys keep ``base``'s values.

    Raises ``Invalid`` naming every bad field, so a form can show them all at once.
    """
    merged = {**to_dict(base), **{k: v for k, v in data.items() if v is not None or k == "deduction_cap_period"}}
    errors: dict[str, Text] = {}
    unknown = set(data) - set(to_dict(base))
    for key in sorted(unknown):
        errors[key] = T_("Unknown setting.")
    iw = _share("indicator_weight", merged["indicator_weight"], errors)
    ew = _share("evaluation_weight", merged["evaluation_weight"], errors)
    if iw is not None and ew is not None and iw + ew != 1:
        errors["evaluation_weight"] = T_(
            "The indicator and evaluation weights add up to %(total)s; they must add up to 1.", total=iw + ew
        )
    cap_p = _dec("bonus_cap_period", merged["bonus_cap_period"], errors, low=_D(0))
    cap_y = _dec("bonus_cap_year", merged["bonus_cap_year"], errors, low=_D(0))
    if cap_p is not None and cap_y is not None and cap_y < cap_p:
        errors["bonus_cap_year"] = T_("The yearly cap cannot be lower than the cap per period.")
    ded_raw = merged.get("deduction_cap_period")
    ded = None if ded_raw in (None, "") else _dec("deduction_cap_period", ded_raw, errors, low=_D(0))
    rater = _mapping("rater_weights", merged["rater_weights"], RATER_GROUPS, errors)
    if rater is not None and sum(rater.values()) != 1:
        errors["rater_weights"] = T_("The rater-group weights must add up to 1.")
    dims = _mapping("dimension_weights", merged["dimension_weights"], DIMENSIONS, errors)
    if dims is not None and sum(dims.values()) != 100:
        errors["dimension_weights"] = T_("The dimension weights must add up to 100.")
    pg = _mapping("period_grades", merged["period_grades"], PERIOD_GRADES, errors)
    if pg is not None:
        _check_bands("period_grades", pg, PERIOD_GRADES, errors)
    ag = _mapping("annual_grades", merged["annual_grades"], ANNUAL_GRADES, errors)
    if ag is not None:
        _check_bands("annual_grades", ag, ANNUAL_GRADES, errors)
    coeff = _mapping("grade_coefficients", merged["grade_coefficients"], PERIOD_GRADES, errors)
    top_p = _share("period_top_share", merged["period_top_share"], errors)
    top_a = _share("annual_top_share", merged["annual_top_share"], errors)
    eval_period = _choice("evaluation_period", merged["evaluation_period"], EVALUATION_PERIODS, errors)
    requires = _choice("excellent_requires", merged["excellent_requires"], EXCELLENT_REQUIRES, errors)
    scope = _choice("publish_scope", merged["publish_scope"], PUBLISH_SCOPES, errors)
    method = _choice("distribution_method", merged["distribution_method"], DISTRIBUTION_METHODS, errors)
    forbids = merged["excellent_forbids_low_periods"]
    if not isinstance(forbids, bool):
        errors["excellent_forbids_low_periods"] = T_("Choose yes or no.")
    days = merged["publicity_days"]
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 30:
        errors["publicity_days"] = T_("The publicity window is a whole number of days from 1 to 30.")
    veto = merged["veto_items"]
    if not isinstance(veto, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() for k, v in veto.items()
    ):
        errors["veto_items"] = T_("Each veto item needs a key and a label.")
    if errors:
        raise Invalid(T_("The scoring scheme has errors; correct the marked settings."), dict(errors))
    assert iw is not None and ew is not None and cap_p is not None and cap_y is not None  # for the type checker
    assert rater is not None and dims is not None and pg is not None and ag is not None and coeff is not None
    assert top_p is not None and top_a is not None and eval_period and requires and scope and method
    return replace(
        base,
        indicator_weight=iw,
        evaluation_weight=ew,
        bonus_cap_period=cap_p,
        bonus_cap_year=cap_y,
        deduction_cap_period=ded,
        evaluation_period=eval_period,
        rater_weights=tuple((k, rater[k]) for k in RATER_GROUPS),
        dimension_weights=tuple((k, dims[k]) for k in DIMENSIONS),
        period_grades=tuple((k, pg[k]) for k in PERIOD_GRADES),
        period_top_share=top_p,
        annual_grades=tuple((k, ag[k]) for k in ANNUAL_GRADES),
        annual_top_share=top_a,
        excellent_requires=requires,
        excellent_forbids_low_periods=bool(forbids),
        veto_items=tuple((k.strip(), v.strip()) for k, v in veto.items()),
        publicity_days=int(days),
        publish_scope=scope,
        distribution_method=method,
        grade_coefficients=tuple((k, coeff[k]) for k in PERIOD_GRADES),
    )


# --- reading and saving ----------------------------------------------------------------------


def _scope(unit_id: int | None) -> str:
    return "district" if unit_id is None else str(unit_id)


def _load(row: ScoringScheme) -> Scheme:
    return from_dict(json.loads(row.config))


def effective_scheme(session: Session, unit_id: int | None, year: int) -> EffectiveScheme:
    """The scheme that applies to ``unit_id`` (``None``: the district) in ``year``; see the module doc."""
    if unit_id is not None:
        row = session.scalar(
            select(ScoringScheme).where(ScoringScheme.scope == _scope(unit_id), ScoringScheme.year == year)
        )
        if row is not None:
            return EffectiveScheme(_load(row), "unit", year, row)
    row = session.scalar(
        select(ScoringScheme)
        .where(ScoringScheme.scope == "district", ScoringScheme.year <= year)
        .order_by(ScoringScheme.year.desc())
        .limit(1)
    )
    if row is not None:
        return EffectiveScheme(_load(row), "district", row.year, row)
    return EffectiveScheme(DEFAULT, "builtin", year, None)


def scheme_for(session: Session, unit_id: int | None, year: int) -> Scheme:
    """Shorthand for ``effective_scheme(...).scheme``."""
    return effective_scheme(session, unit_id, year).scheme


def check_may_edit(actor: Actor, unit_id: int | None) -> None:
    """The office edits every scheme; a unit admin edits only the override of their own unit."""
    if actor.is_district_wide:
        return
    if unit_id is not None and unit_id in actor.unit_ids_for(Role.unit_admin):
        return
    raise Forbidden(
        T_(
            "Only the performance office, or the unit's performance administrator for its own unit,"
            " may change a scoring scheme."
        )
    )


def save_scheme(
    session: Session,
    actor: Actor,
    unit_id: int | None,
    year: int,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ScoringScheme:
    """Create or replace the district default (``unit_id=None``) or a unit's override for ``year``.

    A unit override starts from the scheme that applied before it, so a unit changes only what
    differs. ``expected_version`` (the version the editor loaded) refuses a lost update.
    """
    check_may_edit(actor, unit_id)
    if not 2000 <= year <= 2100:
        raise Invalid(T_("The year must be between 2000 and 2100."), {"year": T_("Out of range.")})
    if unit_id is not None:
        unit = session.get(OrgUnit, unit_id)
        if unit is None or unit.kind != OrgKind.unit:
            raise NotFound(T_("No such unit."))
    current = effective_scheme(session, unit_id, year)
    scheme = from_dict(data, base=current.scheme)
    row = session.scalar(
        select(ScoringScheme).where(ScoringScheme.scope == _scope(unit_id), ScoringScheme.year == year)
    )
    if row is not None and expected_version is not None and row.version != expected_version:
        raise Conflict(
            T_("Someone else changed this scheme while you were editing it; reload it and apply your changes again."),
            version=row.version,
        )
    config = json.dumps(to_dict(scheme), ensure_ascii=False, sort_keys=True)
    before = row.config if row is not None else None
    if row is None:
        row = ScoringScheme(scope=_scope(unit_id), unit_id=unit_id, year=year, config=config, version=1)
        session.add(row)
    else:
        row.config = config
        row.version += 1
        row.updated_at = utcnow()
    row.updated_by_id = actor.person_id
    session.flush()
    audit.record(
        session,
        actor,
        "scheme.save",
        "scoring_scheme",
        row.id,
        details={"scope": row.scope, "year": year, "version": row.version, "changed": _changed(before, config)},
    )
    return row


def delete_override(session: Session, actor: Actor, unit_id: int, year: int) -> bool:
    """Drop a unit's override so the district default applies again; False if there was none."""
    check_may_edit(actor, unit_id)
    row = session.scalar(
        select(ScoringScheme).where(ScoringScheme.scope == _scope(unit_id), ScoringScheme.year == year)
    )
    if row is None:
        return False
    session.delete(row)
    session.flush()
    audit.record(session, actor, "scheme.delete", "scoring_scheme", row.id, details={"scope": row.scope, "year": year})
    return True


def _changed(before: str | None, after: str) -> list[str]:
    if before is None:
        return sorted(json.loads(after))
    old, new = json.loads(before), json.loads(after)
    return sorted(k for k in new if old.get(k) != new[k])


def as_json(scheme: Scheme) -> dict[str, Any]:
    """The scheme for the API: like ``to_dict`` plus the veto labels as a list."""
    out = to_dict(scheme)
    out["veto_items"] = [{"key": k, "label": v} for k, v in scheme.veto_items]
    return out


__all__ = [
    "ANNUAL_GRADES",
    "BONUS_KINDS",
    "DEDUCTION_KINDS",
    "DEFAULT",
    "DIMENSIONS",
    "PERIOD_GRADES",
    "RATER_GROUPS",
    "EffectiveScheme",
    "Scheme",
    "as_json",
    "delete_override",
    "effective_scheme",
    "from_dict",
    "save_scheme",
    "scheme_for",
    "to_dict",
]
