"""The demo's weekly logs (周记实): written on time, late or not at all, by each person's diligence."""

from __future__ import annotations

import random
from datetime import timedelta

from app.models import Person
from app.services.appraisal import common, logs
from app.services.demo_activity.clock import Run, local

# How a person writes logs: (share on time, share late); the rest is missing.
DILIGENCE = {"diligent": (0.92, 0.05), "average": (0.78, 0.13), "sloppy": (0.5, 0.25)}
WORK = ("完成阶段任务", "推进落实", "开展专题调研", "整理台账资料", "召开推进会", "督促整改到位", "完成数据报送")


def write_logs(run: Run, people: list[Person], weeks: list[str], traits: dict[int, str], rng: random.Random) -> None:
    """Each person's week: written on time, late, or not at all, with entries linked to their indicators."""
    progress: dict[int, int] = {}
    for person in people:
        actor = run.actor(person.id)
        on_time, late = DILIGENCE[traits[person.id]]
        for week in weeks:
            roll = rng.random()
            deadline = common.week_deadline(week)
            if roll < on_time:
                written = local(deadline - timedelta(days=3), 17 + rng.uniform(0, 60))
            elif roll < on_time + late:
                written = local(deadline + timedelta(days=rng.randint(1, 9)), 9 + rng.uniform(0, 9))
            else:
                written = None
            if written is None or written > run.now:
                run.summary.logs_missing += int(written is None)
                continue
            items = [i for i in logs.linkable_items(run.session, person.id, week) if i.category.value != "common"]
            entries = []
            for item in rng.sample(items, k=min(len(items), rng.randint(1, 2))):
                progress[item.id] = min(100, progress.get(item.id, 0) + rng.randint(4, 11))
                entries.append(
                    {"item_id": item.id, "progress": progress[item.id], "content": f"{item.name}：{rng.choice(WORK)}"}
                )
            if not entries or rng.random() < 0.3:
                entries.append({"item_id": None, "progress": None, "content": f"其他工作：{rng.choice(WORK)}"})
            if logs.find_log(run.session, person.id, week) is not None:
                continue  # written by an earlier run: the draws above keep later weeks the same
            logs.save_week(run.session, actor, week, entries, now=written)
            if common.local_date(written) > deadline:
                run.summary.logs_late += 1
            else:
                run.summary.logs_on_time += 1
