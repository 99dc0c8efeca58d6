"""The rules an indicator set must meet before it can be submitted.

Weights add up to 100; key work carries at least a minimum share (the scheme's 权重匹配);
every row has a name, a standard (考核标准) and a positive weight; common indicators keep the
weight the office gave them. Each broken rule comes back as a message a drafter can act on,
with the row and field where it applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.models import Category
from app.services.errors import T_

CATEGORY_ORDER = (Category.key_work, Category.duties, Category.common, Category.temporary)
CATEGORY_LABELS = {
    Category.key_work: "重点工作",
    Category.duties: "职能职责",
    Category.common: "共性指标",
    Category.temporary: "临时性工作任务",
}


@dataclass(frozen=True)
class WeightRules:
    total: Decimal = Decimal(100)
    min_share: dict[Category, Decimal] = field(default_factory=lambda: {Category.key_work: Decimal(40)})
    max_items: int = 30
    name_max: int = 200
    standard_max: int = 2000
    method_max: int = 500


DEFAULT_RULES = WeightRules()


@dataclass
class Row:
    """One drafted row, normalised; ``locked`` rows come from the common library."""

    category: Category
    name: str
    standard: str
    weight: Decimal
    method: str = ""
    unit_task_id: int | None = None
    common_indicator_id: int | None = None
    item_id: int | None = None


@dataclass
class RuleCheck:
    rows: list[Row]
    field_errors: dict[str, str]  # "indicators[2].weight" → message
    rule_errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.field_errors and not self.rule_errors

    def all_errors(self) -> dict[str, str]:
        out = dict(self.field_errors)
        if self.rule_errors:
            out["indicators"] = " ".join(self.rule_errors)
        return out


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_rows(raw: Any, rules: WeightRules = DEFAULT_RULES) -> RuleCheck:
    """Normalise ``[{category, name, standard, weight, method, unit_task_id?}]`` and check each row."""
    errors: dict[str, str] = {}
    rows: list[Row] = []
    if not isinstance(raw, list) or not raw:
        return RuleCheck([], {"indicators": T_("Add at least one indicator.")}, [])
    if len(raw) > rules.max_items:
        return RuleCheck([], {"indicators": T_("At most %(n)d indicators; merge related ones.", n=rules.max_items)}, [])
    for i, item in enumerate(raw):
        key = f"indicators[{i}]"
        if not isinstance(item, dict):
            errors[key] = T_("Each indicator must be an object with category, name, standard and weight.")
            continue
        try:
            category = Category(str(item.get("category")))
        except ValueError:
            errors[f"{key}.category"] = T_("Choose key work, functional duties, common or temporary.")
            continue
        name, standard, method = _text(item.get("name")), _text(item.get("standard")), _text(item.get("method"))
        if not name:
            errors[f"{key}.name"] = T_("Name the indicator.")
        elif len(name) > rules.name_max:
            errors[f"{key}.name"] = T_("At most %(n)d characters.", n=rules.name_max)
        if not standard:
            errors[f"{key}.standard"] = T_("Write the standard (考核标准): what counts as done, and how well.")
        elif len(standard) > rules.standard_max:
            errors[f"{key}.standard"] = T_("At most %(n)d characters.", n=rules.standard_max)
        if len(method) > rules.method_max:
            errors[f"{key}.method"] = T_("At most %(n)d characters.", n=rules.method_max)
        try:
            weight = Decimal(str(item.get("weight"))).quantize(Decimal("0.01"))
            if not weight.is_finite() or weight <= 0 or weight > rules.total:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors[f"{key}.weight"] = T_(
                "A weight is a number above 0 and at most %(max)s.", max=f"{rules.total.normalize():f}"
            )
            weight = Decimal(0)
        task_id = item.get("unit_task_id")
        if task_id not in (None, "") and not (isinstance(task_id, int) or str(task_id).isdigit()):
            errors[f"{key}.unit_task_id"] = T_("Choose one of your unit's tasks.")
        rows.append(
            Row(
                category,
                name,
                standard,
                weight,
                method,
                int(task_id) if task_id not in (None, "") else None,
                item.get("common_indicator_id") if isinstance(item.get("common_indicator_id"), int) else None,
                item.get("id") if isinstance(item.get("id"), int) else None,
            )
        )
    return RuleCheck(rows, errors, check_weights(rows, rules) if not errors else [])


def check_weights(rows: list[Row], rules: WeightRules = DEFAULT_RULES) -> list[str]:
    """The set-level rules: the total, the minimum share per category, at least one key work item."""
    problems: list[str] = []
    total = sum((r.weight for r in rows), Decimal(0))
    if total != rules.total:
        problems.append(
            T_(
                "The weights add up to %(total)s; they must add up to %(required)s.",
                total=f"{total.normalize():f}",
                required=f"{rules.total.normalize():f}",
            )
        )
    if not any(r.category is Category.key_work for r in rows):
        problems.append(T_("Add at least one key work (重点工作) indicator."))
    for category, minimum in rules.min_share.items():
        share = sum((r.weight for r in rows if r.category is category), Decimal(0))
        if share < minimum:
            problems.append(
                T_(
                    "%(category)s carries %(share)s; it must carry at least %(minimum)s.",
                    category=CATEGORY_LABELS[category],
                    share=f"{share.normalize():f}",
                    minimum=f"{minimum.normalize():f}",
                )
            )
    return problems
