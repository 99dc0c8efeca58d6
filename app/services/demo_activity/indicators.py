"""The demo's indicator sets: each person's set of the year taken through ``indicator_setting`` in January."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OrgUnit, Person, ProcessInstance
from app.services.demo_activity.clock import INDICATORS, Run, local, start_instances
from app.services.indicators.sets import common_library


def indicator_rows(session: Session, person: Person, year: int) -> list[dict[str, Any]]:
    """A plausible set: the office's common indicators, then key work, duties and a temporary task."""
    section = person.section.name if person.section else ""
    rows: list[dict[str, Any]] = [
        {
            "category": "common",
            "name": c.name,
            "standard": c.standard,
            "weight": str(c.weight),
            "common_indicator_id": c.id,
        }
        for c in common_library(session, year, person)
    ]
    rest = Decimal(100) - sum((Decimal(r["weight"]) for r in rows), Decimal(0))
    key, temp = (rest * Decimal("0.5")).quantize(Decimal(1)), Decimal(10) if rest > 60 else Decimal(0)
    duties = rest - key - temp
    rows += [
        {
            "category": "key_work",
            "name": f"{section}年度重点工作",
            "standard": "按季度节点完成，成效可量化",
            "weight": str(key),
        },
        {
            "category": "duties",
            "name": f"{person.post or '岗位'}职能职责",
            "standard": "履职到位，无差错、无投诉",
            "weight": str(duties),
        },
    ]
    if temp:
        rows.append(
            {"category": "temporary", "name": "上级交办临时任务", "standard": "按时办结，及时反馈", "weight": str(temp)}
        )
    return rows


def set_indicators(run: Run, unit: OrgUnit, year: int, rng: random.Random) -> None:
    """Take every person's indicator set of ``year`` through drafting, section review and approval in January."""
    start = local(date(year, 1, 5), 9)
    ids = start_instances(run, INDICATORS, str(year), unit, start)
    for instance in run.session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))):
        if instance.status.value != "running":
            continue
        when = start + timedelta(days=rng.uniform(1, 8))
        person = run.session.get(Person, instance.subject_id)
        assert person is not None
        steps: list[dict[str, Any]] = [
            {"indicators": indicator_rows(run.session, person, year), "note": "按单位年度目标分解拟定"},
            {"decision": "approve", "comment": "指标与岗位职责匹配"},
            {"decision": "approve", "comment": "同意"},
        ]
        for payload in steps:
            if run.act(instance, payload, when) is None:
                break
            when += timedelta(days=rng.uniform(0.5, 4))
        if instance.status.value == "completed":
            run.summary.indicator_sets += 1
