"""The drafting page's rows as plain form fields (``rows-<n>-<field>``), and the no-JavaScript row actions.

The page posts every row on every button; the server rebuilds the list, applies the action
(add, remove, move up or down) and renders it again, so nothing typed is lost. Common rows
always mirror the office's library: missing ones are added, withdrawn ones dropped, their text
and weight refreshed, whatever the form said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from app.models import Category, CommonIndicator, IndicatorItem
from app.services.indicators.rules import CATEGORY_ORDER

FIELDS = ("category", "name", "standard", "weight", "method", "unit_task_id", "common_id", "id")
EDITABLE = tuple(c.value for c in CATEGORY_ORDER if c is not Category.common)
MAX_ROWS = 60  # well above the rules' maximum; more posted rows are ignored
_KEY = re.compile(r"^rows-(\d{1,3})-([a-z_]+)$")
_ACTION = re.compile(r"^(remove|up|down)-(\d{1,3})$")


def _number(value: Any) -> str:
    text = f"{value:f}" if hasattr(value, "normalize") else str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@dataclass
class EditRow:
    category: str = Category.key_work.value
    name: str = ""
    standard: str = ""
    weight: str = ""
    method: str = ""
    unit_task_id: str = ""
    common_id: int | None = None  # a row of the office's library: read-only, cannot be removed
    id: int | None = None  # the item in the saved version (its review comment is shown beside it)

    @property
    def locked(self) -> bool:
        return self.common_id is not None

    def blank(self) -> bool:
        return not self.locked and not any((self.name, self.standard, self.weight, self.method, self.unit_task_id))

    def payload(self) -> dict[str, Any]:
        """The row as ``sets.save_draft`` and the draft task's handler expect it."""
        task: int | str | None = self.unit_task_id or None
        if task is not None and str(task).isdigit():
            task = int(task)
        return {
            "category": self.category,
            "name": self.name,
            "standard": self.standard,
            "weight": self.weight,
            "method": self.method,
            "unit_task_id": task,
            "common_indicator_id": self.common_id,
            "id": self.id,
        }


def from_items(items: Iterable[IndicatorItem], *, keep_ids: bool = True, keep_tasks: bool = True) -> list[EditRow]:
    return [
        EditRow(
            category=i.category.value,
            name=i.name,
            standard=i.standard,
            weight=_number(i.weight),
            method=i.method or "",
            unit_task_id=str(i.unit_task_id) if keep_tasks and i.unit_task_id else "",
            common_id=i.common_indicator_id,
            id=i.id if keep_ids else None,
        )
        for i in items
    ]


def from_dicts(rows: Iterable[Mapping[str, Any]]) -> list[EditRow]:
    return [
        EditRow(
            category=str(r.get("category", "")),
            name=str(r.get("name", "")),
            standard=str(r.get("standard", "")),
            weight=str(r.get("weight", "")),
            method=str(r.get("method", "")),
        )
        for r in rows
    ]


def from_form(form: Mapping[str, str]) -> list[EditRow]:
    """Rebuild the rows from ``rows-<n>-<field>`` fields, in the order of ``n``."""
    found: dict[int, dict[str, str]] = {}
    for key in form:
        match = _KEY.match(key)
        if match and match.group(2) in FIELDS:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = str(form.get(key, ""))
    out: list[EditRow] = []
    for _, values in sorted(found.items())[:MAX_ROWS]:
        category = values.get("category", "")
        out.append(
            EditRow(
                category=category if category in EDITABLE else (category if values.get("common_id") else ""),
                name=values.get("name", "").strip(),
                standard=values.get("standard", "").strip(),
                weight=values.get("weight", "").strip(),
                method=values.get("method", "").strip(),
                unit_task_id=values.get("unit_task_id", "").strip(),
                common_id=_int(values.get("common_id")),
                id=_int(values.get("id")),
            )
        )
    return out


def _rank(category: str) -> int:
    keys = [c.value for c in CATEGORY_ORDER]
    return keys.index(category) if category in keys else len(keys)


def ordered(rows: list[EditRow]) -> list[EditRow]:
    """Grouped by category in the fixed order (the order a saved version keeps), stable within one."""
    return sorted(rows, key=lambda r: _rank(r.category))


def merge_common(rows: list[EditRow], library: Iterable[CommonIndicator]) -> list[EditRow]:
    """The rows with the common ones replaced by the current library (kept in place when present)."""
    lib = list(library)
    by_id = {c.id: c for c in lib}
    out: list[EditRow] = []
    seen: set[int] = set()
    for r in rows:
        if r.common_id is None:
            if r.category != Category.common.value:
                out.append(r)
            continue
        c = by_id.get(r.common_id)
        if c is None or c.id in seen:
            continue
        seen.add(c.id)
        out.append(_common_row(c, r.id))
    out.extend(_common_row(c, None) for c in lib if c.id not in seen)
    return ordered(out)


def _common_row(c: CommonIndicator, item_id: int | None) -> EditRow:
    return EditRow(Category.common.value, c.name, c.standard, _number(c.weight), c.method or "", "", c.id, item_id)


def replace_editable(rows: list[EditRow], new: list[EditRow]) -> list[EditRow]:
    """The common rows kept, every other row replaced by ``new`` (an import, last year's set)."""
    return ordered([r for r in rows if r.locked] + new)


@dataclass
class Outcome:
    rows: list[EditRow]
    refused: bool = False  # the action was not allowed (removing a common row)
    focus: int | None = None  # the row to scroll to


def apply(rows: list[EditRow], action: str, add_category: str = "") -> Outcome:
    """Add a row (of ``add_category``), or remove / move row ``n`` within its category."""
    rows = list(rows)
    if action == "add":
        category = add_category if add_category in EDITABLE else Category.key_work.value
        rows.append(EditRow(category=category))
        rows = ordered(rows)
        last = max(i for i, r in enumerate(rows) if r.category == category)
        return Outcome(rows, focus=last)
    match = _ACTION.match(action)
    if not match or int(match.group(2)) >= len(rows):
        return Outcome(rows)
    verb, n = match.group(1), int(match.group(2))
    if verb == "remove":
        if rows[n].locked:
            return Outcome(rows, refused=True, focus=n)
        del rows[n]
        return Outcome(rows, focus=min(n, len(rows) - 1) if rows else None)
    step = -1 if verb == "up" else 1
    m = n + step
    if 0 <= m < len(rows) and rows[m].category == rows[n].category:
        rows[n], rows[m] = rows[m], rows[n]
        return Outcome(rows, focus=m)
    return Outcome(rows, focus=n)


def totals(rows: Iterable[EditRow]) -> dict[str, Decimal]:
    """The weight per category and in all (``"all"``), counting only weights that are numbers."""
    out = {c.value: Decimal(0) for c in CATEGORY_ORDER} | {"all": Decimal(0)}
    for r in rows:
        try:
            weight = Decimal(r.weight)
        except (InvalidOperation, ValueError):
            continue
        if weight.is_finite() and r.category in out:
            out[r.category] += weight
            out["all"] += weight
    return out
